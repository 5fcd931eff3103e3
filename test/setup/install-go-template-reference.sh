#!/usr/bin/env bash
# The Go template reference (test/go-template-reference): text/template with sprig v3.3.0, the engine ESO's
# templates run on, so the migrate tests check translated templates against the original's real output. Built once
# into .cache/bin; rebuilt when its source changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.cache/bin/go-template-reference
stamp=.cache/bin/.go-template-reference-build
sum=$(cat test/go-template-reference/main.go test/go-template-reference/eso/*.go test/go-template-reference/go.mod test/go-template-reference/go.sum 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then echo "reference program already built: $out"; exit 0; fi
command -v go >/dev/null || { echo "Go is needed to build test/go-template-reference (apt-get install golang, or /usr/local/go)"; exit 1; }
mkdir -p .cache/bin
(cd test/go-template-reference && CGO_ENABLED=0 go build -o "../../$out.tmp" .)
mv "$out.tmp" "$out"
echo "$sum" > "$stamp"
echo "reference program built: $out"
