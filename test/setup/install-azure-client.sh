#!/usr/bin/env bash
# The second official Key Vault client the operator does not use: Microsoft's Python SDK (azure-keyvault-secrets
# + azure-identity), driven against the Key Vault and Entra ID fakes by test/integration/azure-python.test.ts to
# show the fakes speak the real wire format. Installed into the project-local virtualenv .cache/venv-azure. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECRETS_VERSION=4.12.0
IDENTITY_VERSION=1.27.0
VENV=.cache/venv-azure
installed() {
  [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("azure-keyvault-secrets"), m.version("azure-identity"))' 2>/dev/null)" = "$SECRETS_VERSION $IDENTITY_VERSION" ]
}
if installed; then
  echo "azure-keyvault-secrets $SECRETS_VERSION and azure-identity $IDENTITY_VERSION already installed in $VENV"
  exit 0
fi
mkdir -p .cache
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "azure-keyvault-secrets==$SECRETS_VERSION" "azure-identity==$IDENTITY_VERSION"
echo "azure-keyvault-secrets $SECRETS_VERSION and azure-identity $IDENTITY_VERSION installed in $VENV"
