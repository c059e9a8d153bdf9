#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tenant-kv/test-tenant-kv-memcached.sh - tenant-kv-server against
# Debian's memcached with stock clients (kv-compare.py): a raw protocol
# script whose replies must equal memcached's byte for byte (cas values,
# stats and version by shape), a random command sequence compared the same
# way, the same pymemcache calls, and libmemcached's tools (memccp, memccat,
# memcexist, memctouch, memcrm, memcflush, memcstat, memcping, memcslap).
# Both servers run on free loopback ports. Exit 77 when memcached,
# pymemcache or the libmemcached tools are missing (.ci/run installs them).
set -u
. "${top_srcdir:-.}/tests/tenant-kv/lib.sh"

for t in memcached memccp memccat memcslap memcstat; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not found (apt-get install memcached libmemcached-tools)"; exit 77; }
done
py=
for p in python3 /usr/bin/python3; do
	if command -v $p >/dev/null 2>&1 && $p -c 'import pymemcache' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "SKIP: pymemcache not found (apt-get install python3-pymemcache)"; exit 77; }

# memcached cannot pick a port itself: take a free one, retry if it is taken
# meanwhile. Its LRU maintainer and crawler threads are off: they take
# references on items at random moments, and an item referenced elsewhere
# makes memcached's incr/decr replace it instead of padding it in place, so
# its answers would depend on timing.
user=
[ "$(id -u)" -eq 0 ] && user="-u $(id -un)"
mc_port=
for try in 1 2 3 4 5; do
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# shellcheck disable=SC2086
	limit_bg 300 "$tmp/memcached.out" "$tmp/memcached.err" memcached -l 127.0.0.1 \
		-p "$port" -U 0 -m 64 -t 2 $user -o no_lru_maintainer,no_lru_crawler
	mc_pid=$bg_pid
	pids="$pids $mc_pid"
	i=0
	while [ $i -lt 100 ] && kill -0 $mc_pid 2>/dev/null; do
		if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
			mc_port=$port
			break 2
		fi
		sleep 0.05
		i=$((i + 1))
	done
done
[ -n "$mc_port" ] || fail "memcached did not start"
echo "reference: $(memcached -V) on 127.0.0.1:$mc_port"

start_kv kv 300 -t 2 -m 64
limit 120 $py "$srcdir/kv-compare.py" raw "$mc_port" "$kv_port" || fail "raw protocol differs"
limit 120 $py "$srcdir/kv-compare.py" random "$mc_port" "$kv_port" || fail "random sequence differs"
limit 120 $py "$srcdir/kv-compare.py" pymemcache "$mc_port" "$kv_port" || fail "pymemcache differs"
limit 120 $py "$srcdir/kv-compare.py" tools "$mc_port" "$kv_port" "$tmp/tools" || fail "tools differ"
stop_kv kv signal
echo "PASS"
