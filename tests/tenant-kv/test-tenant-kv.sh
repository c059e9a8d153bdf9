#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tenant-kv/test-tenant-kv.sh - end-to-end test of examples/tenant-kv:
# start tenant-kv-server on 127.0.0.1 (free port, 64K per namespace), run the
# protocol and isolation checks of kv-client.py (namespace A filled up to
# "ERR over memory limit" while B works, STATS within limits, DEL makes room),
# run tenant-kv-load for two seconds, then SHUTDOWN and expect exit status 0
# and a clean shutdown report. Every step has a time limit; the server is
# killed by the EXIT trap whatever happens. Exit 77 without python3.
set -u

srcdir=${top_srcdir:-.}/tests/tenant-kv
bindir=${top_builddir:-.}/examples/tenant-kv
server=$bindir/tenant-kv-server
load=$bindir/tenant-kv-load

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }
for p in "$server" "$load"; do
	[ -x "$p" ] || { echo "FAIL: $p not built"; exit 1; }
done
if command -v timeout >/dev/null 2>&1; then
	limit() { t=$1; shift; timeout -k 5 "$t" "$@"; }
else
	limit() { shift; "$@"; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tenant-kv.XXXXXX") || exit 1
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	# $pid is timeout(1), which passes SIGTERM on and SIGKILLs 5 s later.
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- server stdout"; cat "$tmp/server.out"
	echo "--- server stderr"; cat "$tmp/server.err"
	exit 1
}

# The server runs at most 60 s even if everything else goes wrong.
limit 60 "$server" -p 0 -m 64K -l big=256K >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!

port=
i=0
while [ $i -lt 100 ]; do
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || fail "server exited before listening"
	sleep 0.1
	i=$((i + 1))
done
[ -n "$port" ] || fail "server did not print its port within 10 s"
echo "server pid $pid on 127.0.0.1:$port"

echo "=== protocol and tenant isolation"
limit 60 python3 "$srcdir/kv-client.py" "$port" check || fail "kv-client.py check"

echo "=== load: 3 namespaces, 6 clients, 2 s"
limit 30 "$load" -p "$port" -n 3 -c 6 -o 200000 -d 2 -k 400 -v 64 >"$tmp/load.out" 2>&1
rc=$?
cat "$tmp/load.out"
[ $rc -eq 0 ] || fail "tenant-kv-load exited with $rc"
grep -q '^total: [1-9][0-9]* ops' "$tmp/load.out" || fail "tenant-kv-load did no work"
grep -q 'over_memory_limit=[1-9]' "$tmp/load.out" ||
	echo "note: the load stayed below every namespace's limit"

echo "=== shutdown"
limit 30 python3 "$srcdir/kv-client.py" "$port" shutdown || fail "kv-client.py shutdown"
# SHUTDOWN was answered: the server must now exit by itself, with status 0.
wait "$pid"
rc=$?
pid=
echo "--- server output"
cat "$tmp/server.out"
[ -s "$tmp/server.err" ] && { echo "--- server stderr"; cat "$tmp/server.err"; }
[ $rc -eq 0 ] || fail "server exited with $rc"
grep -q '^shutdown: clean$' "$tmp/server.out" || fail "no clean shutdown report"
grep -q '^kv-item ' "$tmp/server.out" || fail "no kv-item slabinfo row"
grep -q '^-- /kv/A memory.stat --$' "$tmp/server.out" || fail "no memory.stat of /kv/A"
echo "PASS"
exit 0
