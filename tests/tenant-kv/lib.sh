# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tenant-kv/lib.sh - sourced by the tenant-kv tests: find the programs,
# start tenant-kv-server (and memcached) on free loopback ports with a time
# limit, stop them, and check that tenant-kv-server shut down cleanly. Every
# server started here is killed by the EXIT trap whatever happens.

srcdir=${top_srcdir:-.}/tests/tenant-kv
bindir=${top_builddir:-.}/examples/tenant-kv
server=$bindir/tenant-kv-server
load=$bindir/tenant-kv-load

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }
for p in "$server" "$load"; do
	[ -x "$p" ] || { echo "FAIL: $p not built"; exit 1; }
done
# limit SECONDS CMD...: run CMD with a time limit. For servers in the
# background use limit_bg, not "limit ... &": a function in the background is
# a subshell, and $! would name it rather than the process to stop.
if command -v timeout >/dev/null 2>&1; then
	limit() { t=$1; shift; timeout -k 5 "$t" "$@"; }
	have_timeout=true
else
	limit() { shift; "$@"; }
	have_timeout=false
fi

# limit_bg SECONDS OUT ERR CMD...: start CMD in the background with a time
# limit, output to OUT and ERR; $! is then timeout(1), or CMD itself.
limit_bg() {
	t=$1 o=$2 e=$3
	shift 3
	if $have_timeout; then
		timeout -k 5 "$t" "$@" >"$o" 2>"$e" &
	else
		"$@" >"$o" 2>"$e" &
	fi
	bg_pid=$!
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tenant-kv.XXXXXX") || exit 1
pids=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "FAIL: $*"
	for f in "$tmp"/*.out "$tmp"/*.err; do
		[ -s "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
	exit 1
}

# start_kv NAME SECONDS ARGS...: run tenant-kv-server on a free port for at
# most SECONDS; sets NAME_pid and NAME_port.
start_kv() {
	name=$1 secs=$2
	shift 2
	limit_bg "$secs" "$tmp/$name.out" "$tmp/$name.err" "$server" -p 0 "$@"
	eval "${name}_pid=$bg_pid"
	pids="$pids $bg_pid"
	i=0 port=
	while [ $i -lt 200 ]; do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
		[ -n "$port" ] && break
		eval "kill -0 \$${name}_pid" 2>/dev/null || fail "$name exited before listening"
		sleep 0.05
		i=$((i + 1))
	done
	[ -n "$port" ] || fail "$name did not print its port within 10 s"
	eval "${name}_port=$port"
	echo "$name: tenant-kv-server $* on 127.0.0.1:$port"
}

# The server process itself: the child of timeout(1) when limit_bg() used it.
server_pid() {
	tp=$1
	for d in /proc/[0-9]*; do
		if [ "$(cut -d' ' -f4 "$d/stat" 2>/dev/null)" = "$tp" ]; then
			echo "${d#/proc/}"
			return
		fi
	done
	echo "$tp"
}

# stop_kv NAME HOW: stop the server with SIGTERM (HOW=signal), the shutdown
# command (HOW=command, needs -A) or not at all (HOW=wait: it is stopping),
# then expect exit status 0 and a clean shutdown report.
stop_kv() {
	name=$1 how=$2
	eval "p=\$${name}_pid port=\$${name}_port"
	case $how in
	signal) kill -TERM "$(server_pid "$p")" ;;
	command) python3 -c "import socket; s = socket.create_connection(('127.0.0.1', $port), 10); s.sendall(b'shutdown\r\n'); s.recv(1)" ;;
	esac
	wait "$p"
	rc=$?
	pids=$(echo "$pids" | sed "s/ $p\$//; s/ $p / /")
	[ $rc -eq 0 ] || fail "$name exited with status $rc"
	grep -q '^shutdown: clean$' "$tmp/$name.out" || fail "$name: no clean shutdown report"
	grep -q '^kv-item-' "$tmp/$name.out" || fail "$name: no kv-item slabinfo rows"
	[ -s "$tmp/$name.err" ] && { echo "--- $name stderr"; cat "$tmp/$name.err"; }
	echo "$name: $(grep '^shutdown: [0-9]' "$tmp/$name.out"), clean"
}
