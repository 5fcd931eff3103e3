#!/usr/bin/env bash
# HashiCorp's Vault auth methods that OpenBao's binary lacks, built as external plugins for OpenBao from the Go module
# proxy (test/vault-plugins: Vault v1.21.4's builtin/credential/aws and vault-plugin-auth-gcp v0.22.0), for the vault
# provider's iam and gcp auth tests; OpenBao's own plugins (openbao-plugins) are on no registry here. Built into
# .cache/vault-plugins (the OpenBao dev server's -dev-plugin-dir); rebuilt when their source changes. A cold build
# (empty Go module and build caches) downloads ~1.2 GB of modules and compiles for ~6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.cache/vault-plugins
# The stamp lives outside the plugin directory: the dev server registers every file in it as a plugin.
stamp=.cache/bin/.vault-plugins-build
plugins=(aws gcp)
sum=$(cd test/vault-plugins && find . -name '*.go' -o -name go.mod -o -name go.sum | sort | xargs cat | sha256sum | cut -d' ' -f1)
built() { for name in "${plugins[@]}"; do [ -x "$dir/vault-plugin-auth-$name" ] || return 1; done; }
if built && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then echo "Vault auth plugins already built in $dir"; exit 0; fi
command -v go >/dev/null || { echo "Go is needed to build test/vault-plugins (apt-get install golang, or /usr/local/go)"; exit 1; }
mkdir -p "$dir" .cache/bin
for name in "${plugins[@]}"; do
  # Built outside the plugin directory, then moved in whole.
  (cd test/vault-plugins && CGO_ENABLED=0 go build -trimpath -o "../../.cache/bin/vault-plugin-auth-$name.tmp" "./$name")
  mv ".cache/bin/vault-plugin-auth-$name.tmp" "$dir/vault-plugin-auth-$name"
done
echo "$sum" > "$stamp"
echo "Vault auth plugins built: $(ls "$dir")"
