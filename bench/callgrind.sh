#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/callgrind.sh - instructions per 64-byte alloc+free pair, counted by
# callgrind: stable numbers for before/after comparisons of the fast path,
# unlike timings on a shared machine.
#
#   bench/callgrind.sh [BENCH]      (make bench-callgrind runs it)
#
# BENCH is the uslab-bench program (default bench/uslab-bench). When it is a
# libtool wrapper script (shared build tree), it runs through
# "$LIBTOOL --mode=execute" (LIBTOOL defaults to ./libtool).
#
# For uslab and for each installed peer malloc it runs
#   uslab-bench --child ALLOC lifo-callgrind
# (10^4 warm-up pairs, then 10^5 LIFO pairs inside bench_callgrind_pairs())
# under valgrind --tool=callgrind --toggle-collect=bench_callgrind_pairs*,
# so that only that loop (with everything it calls) is counted, and prints
# the collected Ir (the "summary:" line of the out file) divided by 10^5.
# The out files stay in bench/callgrind.out.ALLOC for callgrind_annotate.
#
# Valgrind does not implement rseq(2): glibc's registration fails inside it,
# so uslab runs its locked per-CPU mode (mutex + sched_getcpu) here, not the
# restartable-sequence fast path it uses natively on x86-64. The counts are
# still exact and stable for that path and for everything around it.
set -eu

bench=${1:-bench/uslab-bench}
pairs=100000
outdir=$(dirname "$bench")

if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 77
fi
if [ ! -e "$bench" ]; then
	echo "callgrind.sh: $bench not found (make bench/uslab-bench)" >&2
	exit 1
fi

# A libtool wrapper is a shell script; the real program is in .libs.
if head -c 4 "$bench" | grep -q ELF; then
	exec_prefix=
else
	exec_prefix="${LIBTOOL:-./libtool} --mode=execute"
fi

libdir=/usr/lib/x86_64-linux-gnu
peers="glibc: jemalloc:$libdir/libjemalloc.so.2 tcmalloc:$libdir/libtcmalloc_minimal.so.4 mimalloc:$libdir/libmimalloc.so.2"

# run ALLOC [PRELOAD] -> prints Ir/pair
run() {
	alloc=$1
	preload=${2:-}
	out=$outdir/callgrind.out.$alloc
	rm -f "$out"
	# shellcheck disable=SC2086 # exec_prefix is a command and its option
	if ! env ${preload:+LD_PRELOAD=$preload} $exec_prefix valgrind --tool=callgrind \
		--callgrind-out-file="$out" --toggle-collect='bench_callgrind_pairs*' \
		"$bench" --child "$alloc" lifo-callgrind >/dev/null 2>"$out.log"; then
		echo "callgrind.sh: $alloc failed, see $out.log" >&2
		return 1
	fi
	ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out")
	if [ -z "$ir" ]; then
		ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")
	fi
	if [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
		echo "callgrind.sh: no instructions collected for $alloc (symbols stripped?)" >&2
		return 1
	fi
	awk -v ir="$ir" -v n="$pairs" -v a="$alloc" \
		'BEGIN { printf "%-10s %10.1f Ir/pair   (%d Ir over %d pairs)\n", a, ir / n, ir, n }'
}

echo "callgrind: instructions per 64 B alloc+free LIFO pair (after warm-up)"
status=0
uslab_line=$(run uslab) || status=1
echo "$uslab_line"
for p in $peers; do
	name=${p%%:*}
	so=${p#*:}
	if [ -n "$so" ] && [ ! -r "$so" ]; then
		printf '%-10s not installed\n' "$name"
		continue
	fi
	run "$name" "$so" || status=1
done
echo "note: under valgrind there is no rseq, so uslab runs its locked per-CPU mode here"
exit $status
