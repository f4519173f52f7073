#!/usr/bin/env bash
# make install with PREFIX and DESTDIR puts the binary, the man pages and
# the rules where they belong, and the installed binary runs.
source "$(dirname "$0")/lib.sh"
stage="$T/stage"
make -s -C "$SIRT_TOP" BUILD="${BUILD:-build}" install PREFIX=/usr DESTDIR="$stage" >/dev/null \
	|| fail "make install failed"
[ -x "$stage/usr/bin/sirt" ] || fail "no $stage/usr/bin/sirt"
[ -f "$stage/usr/share/man/man1/sirt.1" ] || fail "no sirt.1"
ls "$stage"/usr/share/sirt/rules/*.rules >/dev/null 2>&1 || fail "no rules installed"
v=$("$stage/usr/bin/sirt" --version) || fail "installed binary does not run"
contains "$v" "sirt "
man -l "$stage/usr/share/man/man1/sirt.1" >/dev/null 2>&1 || command -v man >/dev/null || true
exit 0
