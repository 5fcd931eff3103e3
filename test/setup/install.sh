#!/usr/bin/env bash
# Installs every real server the tests need (project-local: .venv, .cache, Go caches), idempotently.
# Each test/setup/install-*.sh installs one thing; tests that need it fail naming the script when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
for script in test/setup/install-*.sh; do
  [ -e "$script" ] || continue
  echo "== $script"
  bash "$script"
done
