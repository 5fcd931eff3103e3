#!/usr/bin/env bash
# PostgreSQL server for the vault provider's dynamic-secret tests (the database secrets engine). The machine image
# ships Debian's postgresql 15; on an image without it, install Debian's package (needs root). Idempotent.
# Tests start their own throwaway server (initdb into a temp dir) with the binaries of /usr/lib/postgresql/<v>/bin.
set -euo pipefail
found() { ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; }
if found; then
  echo "PostgreSQL already installed: $(ls -d /usr/lib/postgresql/*/bin/postgres | head -1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "PostgreSQL is missing and installing it needs root: run apt-get install -y postgresql as root" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
found
echo "PostgreSQL installed: $(ls -d /usr/lib/postgresql/*/bin/postgres | head -1)"
