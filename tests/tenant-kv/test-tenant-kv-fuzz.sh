#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tenant-kv/test-tenant-kv-fuzz.sh - protocol fuzzing of
# tenant-kv-server (kv-fuzz.py): one reply per line for random lines (NUL
# bytes, CRs, overlong lines, malformed commands), random, truncated and
# malformed commands with huge lengths and bad data blocks on connections cut
# or reset mid-request; afterwards the server must answer correctly, hold
# exactly the memory its items need (stats audit) and shut down cleanly.
# KV_FUZZ_SEED=N repeats a run (the seed is printed). Exit 77 without python3.
set -u
. "${top_srcdir:-.}/tests/tenant-kv/lib.sh"

start_kv fuzz 240 -t 2 -m 256K -T 20
seed=${KV_FUZZ_SEED:-$(date +%s)}
limit 200 python3 "$srcdir/kv-fuzz.py" "$fuzz_port" "$seed" 150 || fail "kv-fuzz.py (seed $seed)"
kill -0 "$fuzz_pid" 2>/dev/null || fail "the server died"
stop_kv fuzz signal
echo "PASS"
