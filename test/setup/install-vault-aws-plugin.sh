#!/usr/bin/env bash
# Vault's AWS auth method as an external plugin for OpenBao (test/vault-plugins/aws: Vault v1.21.4's
# builtin/credential/aws, from the Go module proxy), for the vault provider's iam auth test: OpenBao's binary has no
# AWS auth method and its own plugin (openbao-plugins) is on no registry here. Built once into
# .cache/vault-plugins/ (the OpenBao dev server's -dev-plugin-dir); rebuilt when its source changes. A cold build
# (empty Go module and build caches) downloads ~1 GB of modules and compiles for a few minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.cache/vault-plugins/vault-plugin-auth-aws
# The stamp lives outside the plugin directory: the dev server registers every file in it as a plugin.
stamp=.cache/bin/.vault-plugin-auth-aws-build
sum=$(cat test/vault-plugins/aws/main.go test/vault-plugins/aws/go.mod test/vault-plugins/aws/go.sum | sha256sum | cut -d' ' -f1)
if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then echo "Vault AWS auth plugin already built: $out"; exit 0; fi
command -v go >/dev/null || { echo "Go is needed to build test/vault-plugins/aws (apt-get install golang, or /usr/local/go)"; exit 1; }
mkdir -p .cache/vault-plugins .cache/bin
(cd test/vault-plugins/aws && CGO_ENABLED=0 go build -trimpath -o "../../../$out.tmp" .)
mv "$out.tmp" "$out"
echo "$sum" > "$stamp"
echo "Vault AWS auth plugin built: $out"
