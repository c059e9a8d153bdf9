#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/malloc/run.sh - libuslab-malloc.so under real programs. Each program
# runs twice, without and with the shim in LD_PRELOAD, and its output and
# exit status must be identical: python3 (json; threads with os.fork; threads
# starting subprocesses), sort
# of 200k generated lines (in memory and with a small buffer: temporary
# files and parallel merge threads), a git session on a temporary repository
# (init, add, commit, log, diff, gc), ls -la /usr/lib, gcc --version and gcc
# compiling test-malloc.c to assembly. A program that is not installed (or
# fails without the shim) is skipped. The shim must export the malloc API
# only. Then tests/malloc/test-malloc runs under the shim (api, also with
# USLAB_DEBUG=1; fork, also with a tenant and with the reaper; limit with
# USLAB_MALLOC_MAX=32M), and USLAB_MALLOC_STATS must show kmalloc-64 objects
# in use.
#
# Exit status: 0 pass, 1 failure, 77 when the shim or the test program has
# not been built (e.g. a sanitizer build).

top_builddir=${top_builddir:-.}
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
SHIM=$(cd "$top_builddir" && pwd)/.libs/libuslab-malloc.so
TESTPROG=$top_builddir/tests/malloc/test-malloc

if [ ! -f "$SHIM" ] || [ ! -x "$TESTPROG" ]; then
	echo "SKIP: $SHIM or $TESTPROG not built"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslab-malloc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
LC_ALL=C
export LC_ALL
unset LD_PRELOAD MALLOC_CHECK_ MALLOC_PERTURB_
fail=0

# same_output NAME CMD...: CMD's stdout, stderr and status, without and with the shim.
same_output() {
	name=$1
	shift
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "SKIP: $name ($1 not installed)"
		return
	fi
	mkdir -p "$tmp/ref/$name" "$tmp/shim/$name"
	(cd "$tmp/ref/$name" && "$@") >"$tmp/$name.ref" 2>"$tmp/$name.referr"
	ref=$?
	(cd "$tmp/shim/$name" && LD_PRELOAD=$SHIM "$@") >"$tmp/$name.out" 2>"$tmp/$name.err"
	got=$?
	if [ "$ref" -ne 0 ]; then
		echo "SKIP: $name (fails without the shim too, status $ref)"
		return
	fi
	if [ "$ref" -ne "$got" ] || ! cmp -s "$tmp/$name.ref" "$tmp/$name.out" ||
	   ! cmp -s "$tmp/$name.referr" "$tmp/$name.err"; then
		echo "FAIL: $name: status $ref without the shim, $got with it"
		diff "$tmp/$name.ref" "$tmp/$name.out" | head -20
		diff "$tmp/$name.referr" "$tmp/$name.err" | head -20
		fail=1
	else
		echo "ok: $name (identical output, $(wc -l <"$tmp/$name.out") lines, status $got)"
	fi
}

# ---- exports: the malloc API and nothing of the uslab copy inside -------------------

if command -v nm >/dev/null 2>&1; then
	nm -D --defined-only "$SHIM" | awk 'NF == 3 { print $3 }' | sort >"$tmp/exports"
	printf '%s\n' aligned_alloc calloc free malloc malloc_stats malloc_trim \
		malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc |
		sort >"$tmp/exports.want"
	if cmp -s "$tmp/exports" "$tmp/exports.want"; then
		echo "ok: exports ($(tr '\n' ' ' <"$tmp/exports"))"
	else
		echo "FAIL: exports differ from the malloc API"
		diff "$tmp/exports.want" "$tmp/exports"
		fail=1
	fi
fi

# ---- real programs ----------------------------------------------------------------

same_output python-json python3 -c 'import json; print(json.dumps({"a":[1,2,3]}))'
same_output python-threads python3 -c '
import os, threading, hashlib
def work(i, out):
    d = {}
    for j in range(20000):
        d[str(j)] = [j] * (j % 7)
    out[i] = hashlib.sha256(repr(sorted(d.items())[:500]).encode()).hexdigest()
out = {}
ts = [threading.Thread(target=work, args=(i, out)) for i in range(4)]
for t in ts: t.start()
pid = os.fork()
if pid == 0:
    print("child", sum(len(str(x)) for x in range(100000)))
    os._exit(0)
os.waitpid(pid, 0)
for t in ts: t.join()
print(sorted(out.values()))
'

# Threads that each start subprocesses (fork + exec from a threaded program,
# while the other threads allocate), as a Python service does.
same_output python-subprocess-threads python3 -c '
import subprocess, threading
def work(i, out):
    d, res = {}, []
    for k in range(8):
        for j in range(5000):
            d[(i, k, j)] = [j] * (j % 5)
        res.append(subprocess.run(["echo", str(i * 100 + k)], capture_output=True, text=True).stdout.strip())
    out[i] = res
out = {}
ts = [threading.Thread(target=work, args=(i, out)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print([out[i] for i in sorted(out)])
'

# 200k lines of pseudo-random words and numbers, the same on every run.
awk 'BEGIN { s = 12345; for (i = 0; i < 200000; i++) {
	s = (s * 1103515245 + 12345) % 2147483648;
	printf "%08x %d line%d\n", s, s % 1000, i } }' >"$tmp/lines.txt"
same_output sort sort "$tmp/lines.txt"
same_output sort-parallel sort -k2,2n -k1,1 -S 1M --parallel=4 -T "$tmp" "$tmp/lines.txt"

cat >"$tmp/git-session.sh" <<'EOF'
set -e
export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat
export GIT_AUTHOR_NAME=uslab GIT_AUTHOR_EMAIL=uslab@example.org GIT_AUTHOR_DATE='2024-01-01T00:00:00Z'
export GIT_COMMITTER_NAME=uslab GIT_COMMITTER_EMAIL=uslab@example.org GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
git init -q -b main repo
cd repo
i=0
while [ $i -lt 200 ]; do echo "file $i" >"f$i.txt"; i=$((i + 1)); done
git add .
git commit -q -m "first: 200 files"
sed -i 's/file 1/changed 1/' f1*.txt
git rm -q f2*.txt
git commit -q -a -m "second: change and remove"
git log --stat
git diff HEAD~1 --stat
git show HEAD --format=%H -s
git gc -q
git count-objects -v | grep -v size
git fsck --full 2>&1
git status --short
EOF
same_output git sh "$tmp/git-session.sh"
same_output ls ls -la /usr/lib
same_output gcc-version gcc --version
same_output gcc-compile gcc -O2 -S -o - "$top_srcdir/tests/malloc/test-malloc.c"

# ---- the C test program -----------------------------------------------------------

run_test() {
	name=$1
	shift
	if env "$@" >"$tmp/$name.log" 2>&1; then
		echo "ok: test-malloc $name: $(tail -1 "$tmp/$name.log")"
	else
		echo "FAIL: test-malloc $name"
		cat "$tmp/$name.log"
		fail=1
	fi
}

run_test api LD_PRELOAD="$SHIM" "$TESTPROG" api
run_test fork LD_PRELOAD="$SHIM" "$TESTPROG" fork 100
run_test limit LD_PRELOAD="$SHIM" USLAB_MALLOC_MAX=32M "$TESTPROG" limit
# Accounted allocations (child caches, RCU read sides) and the reaper across fork;
# debug caches (red zones move objects: memalign falls back to pages).
run_test fork-tenant LD_PRELOAD="$SHIM" USLAB_MALLOC_MAX=1G "$TESTPROG" fork 30
run_test fork-reaper LD_PRELOAD="$SHIM" USLAB_REAP_MS=5 "$TESTPROG" fork 30
run_test api-debug LD_PRELOAD="$SHIM" USLAB_DEBUG=1 "$TESTPROG" api

# The shim's own caches are in use: kmalloc-64 has active objects at exit.
USLAB_MALLOC_STATS=1 LD_PRELOAD="$SHIM" "$TESTPROG" api >/dev/null 2>"$tmp/stats.txt"
if awk '$1 == "kmalloc-64" && $2 > 0 { found = 1 } END { exit !found }' "$tmp/stats.txt"; then
	echo "ok: USLAB_MALLOC_STATS: $(grep '^kmalloc-64 ' "$tmp/stats.txt")"
else
	echo "FAIL: USLAB_MALLOC_STATS shows no kmalloc-64 object in use"
	head -20 "$tmp/stats.txt"
	fail=1
fi

exit $fail
