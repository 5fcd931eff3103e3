#!/usr/bin/env bash
# Google's Python client for Secret Manager, the second official client that checks the gcp fake's wire format
# (test/integration/gcp-python.test.ts). The operator uses the Node client; this one is never imported by it.
# Installed into the project-local virtualenv .cache/venv-gcp. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
GCP_SM_VERSION=2.32.0
VENV=.cache/venv-gcp
installed() {
  [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("google-cloud-secret-manager"))' 2>/dev/null)" = "$GCP_SM_VERSION" ]
}
if installed; then
  echo "google-cloud-secret-manager $GCP_SM_VERSION already installed in $VENV"
  exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "google-cloud-secret-manager==$GCP_SM_VERSION"
"$VENV/bin/python" -c 'from google.cloud import secretmanager_v1; print("google-cloud-secret-manager", secretmanager_v1.__version__ if hasattr(secretmanager_v1, "__version__") else "")'
echo "google-cloud-secret-manager $GCP_SM_VERSION installed in $VENV"
