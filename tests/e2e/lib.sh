# Shared helpers for the end-to-end tests (sourced).  Each test runs the
# real sirt binary in its own temporary directory, which is removed on
# exit; servers a test starts are stopped by PID in its cleanup.
set -u
SIRT_BIN=${SIRT_BIN:-$PWD/build/sirt}
SIRT_TOP=${SIRT_TOP:-$PWD}
T=$(mktemp -d "${TMPDIR:-/tmp}/sirt-e2e.XXXXXX")
export SIRT_USER=tester
CLEANUP=()
cleanup() {
	local c
	for c in "${CLEANUP[@]}"; do eval "$c" || true; done
	rm -rf "$T"
}
trap cleanup EXIT

# sirt ARGS...: run the binary (under valgrind when SIRT_VALGRIND=1).
sirt() {
	if [ "${SIRT_VALGRIND:-0}" = 1 ]; then
		# --soname-synonyms: memcheck takes over jemalloc's malloc
		# as it does glibc's (sirt links jemalloc when built with it)
		valgrind -q --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--soname-synonyms=somalloc=*jemalloc* \
			--error-exitcode=99 "$SIRT_BIN" "$@"
	else
		"$SIRT_BIN" "$@"
	fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
# expect_rc WANT CMD...: run CMD, fail unless its exit code is WANT.
expect_rc() {
	local want=$1 rc; shift
	"$@"; rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
# contains HAYSTACK NEEDLE [what]
contains() { case "$1" in *"$2"*) ;; *) fail "${3:-output} lacks '$2': $1";; esac; }
lacks() { case "$1" in *"$2"*) fail "${3:-output} contains '$2': $1";; esac; }
# A free TCP port on 127.0.0.1.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
