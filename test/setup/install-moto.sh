#!/usr/bin/env bash
# moto (AWS emulator: Secrets Manager, SSM Parameter Store, STS) into the project-local virtualenv .venv/.
# Idempotent: does nothing when the pinned version is already installed. Tests start .venv/bin/moto_server.
set -euo pipefail
cd "$(dirname "$0")/../.."
MOTO_VERSION=5.2.5
if [ -x .venv/bin/moto_server ] && [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" = "$MOTO_VERSION" ]; then
  echo "moto $MOTO_VERSION already installed in .venv"
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
.venv/bin/moto_server --help >/dev/null
echo "moto $MOTO_VERSION installed in .venv"
