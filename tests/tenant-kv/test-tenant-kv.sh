#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tenant-kv/test-tenant-kv.sh - end-to-end test of examples/tenant-kv
# over the memcached protocol, with python3 only (kv-tenants.py): tenants
# from key prefixes, a noisy tenant written far past its limit that evicts
# only its own items while a quiet tenant's reads all hit, LRU order, items
# larger than a limit, the tenant cap, no-eviction mode (-e), stats audit,
# flush_all; a two-second run of tenant-kv-load; the shutdown command (-A);
# and a clean shutdown (exit 0, nothing left in the item caches) of every
# server. Exit 77 without python3.
set -u
. "${top_srcdir:-.}/tests/tenant-kv/lib.sh"

start_kv evict 120 -t 2 -m 1M -l quiet=4M -l small=256K -l lru=192K -l noisy=256K -T 12
start_kv noevict 120 -t 2 -e -A -l full=256K
start_kv shut 120 -t 1 -A

limit 90 python3 "$srcdir/kv-tenants.py" evict "$evict_port" || fail "kv-tenants.py evict"
limit 60 python3 "$srcdir/kv-tenants.py" noevict "$noevict_port" || fail "kv-tenants.py noevict"

echo "=== load: 3 tenants, 8 connections, 2 s"
limit 30 "$load" -p "$noevict_port" -n 3 -P load -c 8 -t 2 -d 2 -k 2000 -v 100-1000 -L \
	>"$tmp/load.log" 2>&1
rc=$?
cat "$tmp/load.log"
[ $rc -eq 0 ] || fail "tenant-kv-load exited with $rc"
grep -q '^total: ops=[1-9][0-9]* .*hit_rate=100.00% .*set_errors=0 bad_values=0 ' \
	"$tmp/load.log" || fail "tenant-kv-load: not every get hit, or a set failed"

limit 30 python3 "$srcdir/kv-tenants.py" shutdown "$shut_port" || fail "kv-tenants.py shutdown"
stop_kv shut wait
stop_kv evict signal
stop_kv noevict command
grep -q '^-- /kv/noisy memory.stat --$' "$tmp/evict.out" || fail "no memory.stat of /kv/noisy"
echo "PASS"
