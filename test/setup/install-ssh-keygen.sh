#!/usr/bin/env bash
# ssh-keygen (Debian's openssh-client), the second implementation that reads the SSHKey generator's keys
# (test/unit/generators): the system's when present, else unpacked (dpkg -x) into .cache/openssh. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/openssh
if command -v ssh-keygen >/dev/null || [ -x "$dest/usr/bin/ssh-keygen" ]; then
  echo "ssh-keygen present"
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "ssh-keygen comes from Debian's openssh-client: apt-get and dpkg are needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
(cd "$tmp" && apt-get download openssh-client 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
ls "$tmp"/openssh-client_*.deb >/dev/null 2>&1 || { echo "apt-get download openssh-client failed; run apt-get update as root first" >&2; exit 1; }
mkdir -p "$dest" && dpkg -x "$tmp"/openssh-client_*.deb "$dest"
echo "ssh-keygen unpacked in $dest"
