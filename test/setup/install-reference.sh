#!/usr/bin/env bash
# The reference program (test/reference): Go's regexp and tidwall/gjson v1.18.0 — the versions External Secrets
# Operator v2.9.0 builds with — so unit tests take expected values from them. Built once into .cache/bin;
# rebuilt when its source changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.cache/bin/eso-reference
stamp=.cache/bin/.eso-reference-build
sum=$(cat test/reference/main.go test/reference/go.mod test/reference/go.sum 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then echo "reference program already built: $out"; exit 0; fi
command -v go >/dev/null || { echo "Go is needed to build test/reference (apt-get install golang, or /usr/local/go)"; exit 1; }
mkdir -p .cache/bin
(cd test/reference && CGO_ENABLED=0 go build -o "../../$out.tmp" .)
mv "$out.tmp" "$out"
echo "$sum" > "$stamp"
echo "reference program built: $out"
