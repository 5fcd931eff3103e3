#!/usr/bin/env bash
# Google's Python clients for Secret Manager and Pub/Sub, the second official clients that check the gcp fakes' wire
# format (test/integration/gcp-python.test.ts, gcp-pubsub-python.test.ts). The operator uses the Node clients; these
# are never imported by it.
# Installed into the project-local virtualenv .cache/venv-gcp. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
GCP_SM_VERSION=2.32.0
GCP_PUBSUB_VERSION=2.34.0
VENV=.cache/venv-gcp
installed() {
  [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("google-cloud-secret-manager"), m.version("google-cloud-pubsub"))' 2>/dev/null)" = "$GCP_SM_VERSION $GCP_PUBSUB_VERSION" ]
}
if installed; then
  echo "google-cloud-secret-manager $GCP_SM_VERSION and google-cloud-pubsub $GCP_PUBSUB_VERSION already installed in $VENV"
  exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "google-cloud-secret-manager==$GCP_SM_VERSION" "google-cloud-pubsub==$GCP_PUBSUB_VERSION"
"$VENV/bin/python" -c 'from google.cloud import secretmanager_v1; print("google-cloud-secret-manager", secretmanager_v1.__version__ if hasattr(secretmanager_v1, "__version__") else "")'
echo "google-cloud-secret-manager $GCP_SM_VERSION and google-cloud-pubsub $GCP_PUBSUB_VERSION installed in $VENV"
