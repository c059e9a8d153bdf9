#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/valgrind/run.sh - uslab under Valgrind's memcheck (make check).
#
# 1. The public-API integration test (tests/integration/test-api) must run
#    with zero memcheck errors and no definite leak. Each of its tests calls
#    uslab_init(), so they need their own process (CK_FORK=yes; CK_FORK=no
#    makes the second uslab_init() fail with -EBUSY); memcheck follows the
#    forked children, and a child with an error exits 1, failing its test.
# 2. tests/valgrind/buggy, which uses an object after free, reads
#    uninitialised object bytes and leaks an object, must have each of those
#    reported at object granularity: uslab tells memcheck where objects
#    begin and end (lib/debug.c client requests).
#
# Valgrind has no rseq support, so uslab runs its locked per-CPU mode there.
# Exit 77 (skip) without valgrind or on a sanitizer build.
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
VALGRIND=${VALGRIND:-valgrind}

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "run.sh: valgrind not found: skipped"
	exit 77
fi
if grep -q '^#define USLAB_SANITIZED 1' "$top_builddir/config.h" 2>/dev/null; then
	echo "run.sh: sanitizer build: Valgrind cannot run it: skipped"
	exit 77
fi

api=$top_builddir/tests/integration/test-api
buggy=$top_builddir/tests/valgrind/buggy
for prog in "$api" "$buggy"; do
	if [ ! -x "$prog" ]; then
		echo "run.sh: $prog is not built (make check builds it)"
		exit 99
	fi
done

# Programs linked against libuslab.la may be libtool wrapper scripts.
if [ -x "$top_builddir/libtool" ]; then
	run="$top_builddir/libtool --mode=execute"
else
	run=
fi

log=$(mktemp "${TMPDIR:-/tmp}/uslab-vg.XXXXXX") || exit 99
trap 'rm -f "$log"' EXIT
vg="$VALGRIND --quiet --leak-check=full --errors-for-leak-kinds=definite"
vg="$vg --show-leak-kinds=definite --num-callers=20"
status=0

# ---- 1. the integration test: no error at all ---------------------------------------
echo "run.sh: $api under valgrind"
if CK_FORK=yes CK_DEFAULT_TIMEOUT=600 $run $vg --error-exitcode=1 --log-file="$log" "$api" >/dev/null 2>&1; then
	echo "run.sh: test-api: no memcheck error"
else
	echo "run.sh: FAIL: test-api under valgrind (memcheck errors or test failure):"
	cat "$log"
	status=1
fi

# ---- 2. the buggy program: its three bugs, at object granularity --------------------
echo "run.sh: $buggy under valgrind"
$run $vg --error-exitcode=42 --log-file="$log" "$buggy" >/dev/null 2>&1
rc=$?
if [ "$rc" -ne 42 ]; then
	echo "run.sh: FAIL: valgrind on buggy exited $rc, expected 42 (errors found)"
	status=1
fi
expect() {
	if grep -q -- "$1" "$log"; then
		echo "run.sh: buggy: found \"$1\""
	else
		echo "run.sh: FAIL: buggy: no \"$1\" in valgrind's report"
		status=1
	fi
}
expect "Invalid read of size 1"
expect "is 17 bytes inside a block of size 200 free'd"
expect "uninitialised value"
expect "200 bytes in 1 blocks are definitely lost"
if [ "$status" -ne 0 ]; then
	echo "run.sh: valgrind's report for buggy:"
	cat "$log"
fi
exit $status
