#!/usr/bin/env bash
# Alibaba Cloud's official Python SDKs (KMS and STS; Simple Message Queue, formerly MNS) into the project-local virtualenv .cache/venv-alibaba: the second
# official client, which the operator does not use, that proves the fake KMS/STS faithful (test/integration/alibaba-python.test.ts) and the queue fake
# (test/integration/alibaba-mns-python.test.ts).
# Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.cache/venv-alibaba
PACKAGES=(alibabacloud-kms20160120==3.3.1 alibabacloud-sts20150401==1.2.0 alibabacloud-tea-openapi==0.4.6 aliyun-mns-sdk==1.3.0)
installed() {
  "$VENV/bin/python" - "$@" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if all(m.version(spec.split('==')[0]) == spec.split('==')[1] for spec in sys.argv[1:]) else 1)
PY
}
if [ -x "$VENV/bin/python" ] && installed "${PACKAGES[@]}"; then
  echo "Alibaba Cloud Python SDK already installed in $VENV"
  exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}"
installed "${PACKAGES[@]}"
echo "Alibaba Cloud Python SDK installed in $VENV: ${PACKAGES[*]}"
