#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/kv/bench-kv.sh - make bench-kv: tenant-kv-server against Debian's
# memcached on this machine, with the same load from tenant-kv-load over the
# memcached protocol.
#
#   bench-kv.sh BINDIR        (BINDIR holds tenant-kv-server and tenant-kv-load)
#
# 1. Throughput: both servers with THREADS workers and room for everything;
#    KEYS keys of 100-1000 random bytes stored first, then CONNS connections
#    (one request in flight each) doing gets and sets 9:1 for BENCH_SECONDS.
#    Reported: requests/s, hit rate, p50/p99/p99.9 latency, the server's CPU
#    time per request (user + system, from /proc: the figure least moved by
#    other load on the machine) and its RSS.
# 2. Noisy neighbour: a quiet tenant's reader (QUIET_KEYS keys, 10
#    connections paced to QUIET_RATE gets/s) alone for NOISY_SECONDS, then
#    again while a noisy tenant writes new keys as fast as 20 connections
#    can. memcached has one global -m 64; tenant-kv gives quiet 48M and
#    noisy 16M (the same 64M in all). Reported: the reader's hit rate and
#    latency in both phases, and the writer's rate.
#
# Environment: PARTS ("throughput noisy"), BENCH_SECONDS (30), NOISY_SECONDS (15), THREADS (4), CONNS (50),
# KEYS (100000), QUIET_KEYS (40000), QUIET_RATE (5000), CLIENT_THREADS (2).
# The machine's other load shows in the figures: run it on a quiet machine.
set -u
bindir=${1:-examples/tenant-kv}
server=$bindir/tenant-kv-server
load=$bindir/tenant-kv-load
secs=${BENCH_SECONDS:-30}
noisy_secs=${NOISY_SECONDS:-15}
threads=${THREADS:-4}
conns=${CONNS:-50}
keys=${KEYS:-100000}
quiet_keys=${QUIET_KEYS:-40000}
quiet_rate=${QUIET_RATE:-5000}
cthreads=${CLIENT_THREADS:-2}
parts=${PARTS:-throughput noisy}

for p in "$server" "$load"; do
	[ -x "$p" ] || { echo "bench-kv: $p not built (make first)"; exit 1; }
done
have_mc=true
command -v memcached >/dev/null 2>&1 || {
	echo "bench-kv: memcached not found (apt-get install memcached): tenant-kv only"
	have_mc=false
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-kv.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	i=0
	while [ $i -lt 200 ]; do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "bench-kv: nothing listens on port $1"
	exit 1
}

# start NAME ARGS: start server NAME ("memcached" or "tenant-kv") on a free port.
start() {
	name=$1
	shift
	port=$(free_port)
	if [ "$name" = memcached ]; then
		user=
		[ "$(id -u)" -eq 0 ] && user="-u $(id -un)"
		# shellcheck disable=SC2086
		memcached -l 127.0.0.1 -p "$port" -U 0 -c 4096 $user "$@" >"$tmp/server.log" 2>&1 &
	else
		"$server" -p "$port" -c 4096 "$@" >"$tmp/server.log" 2>&1 &
	fi
	spid=$!
	pids="$pids $spid"
	wait_port "$port"
}

stop() {
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	pids=$(echo "$pids" | sed "s/ $spid\$//; s/ $spid / /")
}

rss_mb() {
	awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$spid/status"
}

field() {  # field NAME LINE
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$spid/stat"
}

throughput() {
	name=$1
	shift
	start "$name" "$@"
	"$load" -p "$port" -P load -c "$conns" -t "$cthreads" -k "$keys" -v 100-1000 -o 1 -L -q \
		>/dev/null 2>&1 || { echo "bench-kv: preload failed"; exit 1; }
	c0=$(cpu_ticks)
	"$load" -p "$port" -P load -c "$conns" -t "$cthreads" -k "$keys" -v 100-1000 -r 90 \
		-d "$secs" >"$tmp/load.out" 2>&1 || { cat "$tmp/load.out"; exit 1; }
	c1=$(cpu_ticks)
	line=$(grep '^total:' "$tmp/load.out")
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" -v n="$(field ops "$line")" \
		'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }')
	printf "%-10s %10.0f %8s %9s %9s %9s %9s %8s\n" "$name" "$(field rate "$line")" \
		"$(field hit_rate "$line")" "$(field p50_us "$line")" "$(field p99_us "$line")" \
		"$(field p999_us "$line")" "$cpu" "$(rss_mb)"
	echo "$name $(field rate "$line") $(field p99_us "$line") $cpu" >>"$tmp/results"
	stop
}

noisy() {
	name=$1
	shift
	start "$name" "$@"
	reader="$load -p $port -P quiet -c 10 -t 1 -k $quiet_keys -v 100-1000 -r 100 -R $quiet_rate -d $noisy_secs"
	$load -p "$port" -P quiet -c 10 -t 1 -k "$quiet_keys" -v 100-1000 -o 1 -L -q \
		>/dev/null 2>&1 || { echo "bench-kv: preload failed"; exit 1; }
	alone=$($reader 2>&1 | grep '^total:')
	$reader >"$tmp/reader.out" 2>&1 &
	rpid=$!
	$load -p "$port" -P noisy -c 20 -t 1 -k 1 -v 100-1000 -r 0 -U -d "$noisy_secs" \
		>"$tmp/writer.out" 2>&1
	wait $rpid
	with=$(grep '^total:' "$tmp/reader.out")
	writer=$(grep '^total:' "$tmp/writer.out")
	printf "%-10s %-14s %9s %9s %9s\n" "$name" "reader alone" "$(field hit_rate "$alone")" \
		"$(field p50_us "$alone")" "$(field p99_us "$alone")"
	printf "%-10s %-14s %9s %9s %9s   writer: %.0f sets/s, %s refused\n" "$name" \
		"reader+writer" "$(field hit_rate "$with")" "$(field p50_us "$with")" \
		"$(field p99_us "$with")" "$(field rate "$writer")" "$(field set_errors "$writer")"
	if [ "$name" = tenant-kv ]; then
		python3 - "$port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"stats tenants\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    data += s.recv(65536)
st = dict(l.split(" ", 2)[1:] for l in data.decode().split("\r\n") if l.startswith("STAT "))
for t in ("quiet", "noisy"):
    limit = st.get(t + ":memory_max", "max")
    print("           %-6s items %8s  evictions %8s  memory.current %6.1f MB of %s" % (
        t, st.get(t + ":curr_items"), st.get(t + ":evictions"),
        int(st.get(t + ":memory_current", 0)) / 1048576.0,
        limit if not limit.isdigit() else "%.1f MB" % (int(limit) / 1048576.0)))
EOF
	fi
	stop
}

case " $parts " in *" throughput "*) ;; *) secs=0 ;; esac
if [ "$secs" -gt 0 ]; then
echo "== bench-kv: $(nproc) CPUs; $threads server threads; load: $conns connections on" \
	"$cthreads client threads, get:set 9:1, $keys keys of 100-1000 B, ${secs} s"
$have_mc && echo "   reference: $(memcached -V)"
printf "%-10s %10s %8s %9s %9s %9s %9s %8s\n" server "requests/s" "hits" "p50_us" "p99_us" \
	"p99.9_us" "cpu_us/req" "RSS_MB"
: >"$tmp/results"
$have_mc && throughput memcached -t "$threads" -m 2048
throughput tenant-kv -t "$threads" -m 2048
if $have_mc; then
	awk '$1 == "memcached" { mr = $2; mp = $3; mc = $4 } $1 == "tenant-kv" { kr = $2; kp = $3; kc = $4 }
	     END { printf "tenant-kv/memcached: throughput %.2fx, p99 %.2fx, server CPU per request %.2fx\n",
		   kr / mr, kp / mp, kc / mc }' \
		"$tmp/results"
fi
fi

case " $parts " in *" noisy "*) ;; *) exit 0 ;; esac
echo
echo "== noisy neighbour: quiet reader ($quiet_keys keys, $quiet_rate gets/s) alone, then with" \
	"a noisy writer of new keys; ${noisy_secs} s each"
printf "%-10s %-14s %9s %9s %9s\n" server phase "hit rate" "p50_us" "p99_us"
$have_mc && noisy memcached -t "$threads" -m 64
noisy tenant-kv -t "$threads" -l quiet=48M -l noisy=16M -m 16M
