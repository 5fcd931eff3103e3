#!/usr/bin/env bash
# OpenLDAP's slapd and ldap-utils, Debian's packages, for the vault provider's LDAP auth test: unpacked (dpkg -x)
# into .cache/slapd, never installed system-wide, so no root, no daemon, no debconf. Tests start their own throwaway
# server on loopback (test/support/slapd.ts). The libraries slapd needs beyond the base image are unpacked beside it.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/slapd
packages=(slapd ldap-utils libltdl7 libwrap0 libodbc2)
works() {
  [ -x "$dest/usr/sbin/slapd" ] && [ -x "$dest/usr/bin/ldapsearch" ] &&
    ! LD_LIBRARY_PATH="$dest/usr/lib/x86_64-linux-gnu:$dest/lib/x86_64-linux-gnu" ldd "$dest/usr/sbin/slapd" | grep -q 'not found'
}
if works; then
  echo "slapd already unpacked in $dest"
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "slapd comes from Debian's packages: apt-get and dpkg are needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
download() { (cd "$tmp" && apt-get download "${packages[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true); ls "$tmp"/slapd_*.deb >/dev/null 2>&1; }
if ! download; then
  # The package lists may be missing on a fresh machine; refreshing them needs root.
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && download; else echo "apt-get download slapd failed; run apt-get update as root first" >&2; exit 1; fi
fi
rm -rf "$dest" && mkdir -p "$dest"
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dest"; done
works || { echo "slapd unpacked in $dest but a library is missing:" >&2; LD_LIBRARY_PATH="$dest/usr/lib/x86_64-linux-gnu:$dest/lib/x86_64-linux-gnu" ldd "$dest/usr/sbin/slapd" | grep 'not found' >&2; exit 1; }
echo "slapd unpacked in $dest: $(LD_LIBRARY_PATH="$dest/usr/lib/x86_64-linux-gnu:$dest/lib/x86_64-linux-gnu" "$dest/usr/sbin/slapd" -VV 2>&1 | head -1 || true)"
