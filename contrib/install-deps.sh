#!/bin/sh
# Install what sirt needs to build, test and benchmark on Debian 12 /
# Ubuntu (run as root).  Used by the README's quick start and by CI.
set -eu
# The prefilter needs Intel's Hyperscan (amd64 only): Vectorscan 5.4.9,
# Debian's other libhs, misses matches (see INSTALL), so sirt builds
# without a prefilter on it.
HS_PKG=libhyperscan-dev
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || HS_PKG=
PKGS="build-essential pkg-config git ca-certificates
 libetpan-dev libgpgme-dev gnupg libpcre2-dev libsqlite3-dev
 libcurl4-gnutls-dev libgnutls28-dev libjansson-dev libinih-dev libxml2-dev
 libcmocka-dev $HS_PKG libjemalloc-dev
 clang libclang-rt-14-dev valgrind sqlite3 pcre2-utils python3 openssl jq
 dovecot-imapd dovecot-core isync"
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
	# Vectorscan and Hyperscan conflict: swap it out ("pkg-" removes)
	drop=""
	if [ -n "$HS_PKG" ] && dpkg-query -W -f='${Status}\n' libvectorscan5 2>/dev/null |
		grep -q "install ok installed"; then
		drop="libvectorscan-dev- libvectorscan5-"
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing $drop
fi
# Debian starts Dovecot on install; the tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now dovecot >/dev/null 2>&1 || true
fi
echo "install-deps: all packages present"
