#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tools/test-uslabtop.sh - uslabtop reads a live process from another
# one. Starts tests/tools/stats-publisher with USLAB_STATS=1 (stdin and
# stdout on fifos: it says "ready PID ..." once its objects are allocated and
# published, then waits for stdin to close), checks its uslab_slabinfo_json()
# output with python3 -m json.tool, reads it with `uslabtop -p PID --once`
# and `--json` and checks the cache "toptest", its tenant-a child and the
# tenants with the right counts, then closes the publisher's stdin and checks
# that /dev/shm/uslab.PID is gone and uslabtop says so.
# Exit 77 (skip) without python3 or /dev/shm.

set -u
top_builddir=${top_builddir:-.}
pub=$top_builddir/tests/tools/stats-publisher
top=$top_builddir/tools/uslabtop

command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
[ -d /dev/shm ] && [ -w /dev/shm ] || { echo "SKIP: no writable /dev/shm"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslabtop-test.XXXXXX") || exit 99
pubpid=
pid=
cleanup() {
	exec 3>&- 2>/dev/null
	if [ -n "$pubpid" ]; then
		# Closed stdin makes it exit; a killed one leaves its file behind.
		kill "$pubpid" 2>/dev/null
		wait "$pubpid" 2>/dev/null
		[ -n "$pid" ] && rm -f "/dev/shm/uslab.$pid"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

fail() {
	echo "FAIL: $*"
	for f in "$tmp"/*.txt "$tmp"/*.err; do
		[ -s "$f" ] && { echo "--- $f"; cat "$f"; }
	done
	exit 1
}

mkfifo "$tmp/stdin" "$tmp/ready" || exit 99
USLAB_STATS=1 USLAB_STATS_MS=200 "$pub" "$tmp/lib.json" <"$tmp/stdin" >"$tmp/ready" \
	2>"$tmp/publisher.err" &
pubpid=$!
# Opening the fifos lets the publisher's redirections complete; the read
# blocks until it printed its line (or exited: then the line is empty).
exec 3>"$tmp/stdin"
read -r word pid root_objs tenant_objs <"$tmp/ready"
[ "$word" = ready ] || fail "publisher did not start"
echo "publisher pid $pid: $root_objs objects as root, $tenant_objs as tenant-a"

# The file exists once the publisher refreshed; bounded wait all the same.
i=0
while [ ! -e "/dev/shm/uslab.$pid" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "/dev/shm/uslab.$pid did not appear"
	sleep 0.05
done

# uslab_slabinfo_json() of the process itself: valid JSON, right counts.
python3 -m json.tool "$tmp/lib.json" >/dev/null 2>"$tmp/json-tool.err" ||
	fail "uslab_slabinfo_json output is not valid JSON"

check_json() { # FILE ROOT_OBJS TENANT_OBJS PID
	python3 - "$@" <<'EOF'
import json, sys
path, root_objs, tenant_objs, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(path))
assert d["version"] == 1 and d["pid"] == pid, (d["version"], d["pid"])
caches = {c["name"]: c for c in d["caches"]}
tenants = {t["name"]: t for t in d["tenants"]}
root = caches["toptest"]
assert root["inuse_objs"] == root_objs, root
assert root["num_objs"] >= root["active_objs"] >= root_objs, root
assert root["objsize"] >= 200 and root["object_size"] == 200, root
assert root["num_slabs"] == root["active_slabs"] + sum(n["free_slabs"] for n in root["nodes"]), root
assert root["nodes"] and sum(n["num_objs"] for n in root["nodes"]) == root["num_objs"], root
assert sum(n["active_objs"] for n in root["nodes"]) == root["active_objs"], root
a = tenants["tenant-a"]
child = caches["toptest(%d:tenant-a)" % a["id"]]
assert child["child"] and child["tenant_id"] == a["id"], child
assert child["inuse_objs"] == tenant_objs, child
slab_bytes = child["num_slabs"] * child["pagesperslab"] * d["page_size"]
assert a["slab_caches"] == {"toptest": slab_bytes}, (a["slab_caches"], slab_bytes)
assert a["path"] == "/tenant-a" and a["online"] and a["parent_id"] == 1, a
assert a["memory.max"] == 64 << 20, a
assert a["memory.current"] >= slab_bytes and a["memory.peak"] >= a["memory.current"], a
assert a["memory.stat"]["slab"] >= slab_bytes, a
assert a["memory.events"]["oom"] == 0, a
b = tenants["tenant-b"]
assert b["memory.max"] == 4096, b
assert b["memory.events"]["max"] >= 1 and b["memory.events"]["oom"] >= 1, b
r = tenants["/"]
assert r["id"] == 1 and r["path"] == "/" and r["memory.max"] == "max", r
assert r["memory.current"] >= a["memory.current"], r
print("ok:", path)
EOF
}

check_json "$tmp/lib.json" "$root_objs" "$tenant_objs" "$pid" ||
	fail "uslab_slabinfo_json content"

# uslabtop --json from this second process.
"$top" -p "$pid" --json >"$tmp/top.json" 2>"$tmp/top-json.err" || fail "uslabtop --json"
python3 -m json.tool "$tmp/top.json" >/dev/null || fail "uslabtop --json is not valid JSON"
check_json "$tmp/top.json" "$root_objs" "$tenant_objs" "$pid" || fail "uslabtop --json content"

# uslabtop --once: the summary, the cache rows and the tenant rows.
"$top" -p "$pid" --once -s a >"$tmp/once.txt" 2>"$tmp/once.err" || fail "uslabtop --once"
cat "$tmp/once.txt"
grep -q "^ uslabtop - pid $pid (stats-publisher)" "$tmp/once.txt" || fail "title line"
grep -q "Active / Total Objects (% used)" "$tmp/once.txt" || fail "summary"
python3 - "$tmp/once.txt" "$tmp/top.json" <<'EOF' || fail "uslabtop --once rows"
import json, sys
text = open(sys.argv[1]).read().splitlines()
d = json.load(open(sys.argv[2]))
rows = {}
for line in text:
    f = line.split()
    if len(f) == 8 and f[2].endswith("%") and f[0].isdigit():
        rows[f[7]] = f
for name in ("toptest", "toptest(%d:tenant-a)" % {t["name"]: t for t in d["tenants"]}["tenant-a"]["id"]):
    c = {c["name"]: c for c in d["caches"]}[name]
    f = rows[name]
    assert int(f[0]) == c["num_objs"] and int(f[1]) == c["active_objs"], (f, c)
    assert int(f[4]) == c["num_slabs"] and int(f[5]) == c["objperslab"], (f, c)
# -s a: active objects, descending
order = [int(f[1]) for f in (l.split() for l in text)
         if len(f) == 8 and f[0].isdigit() and f[2].endswith("%")]
assert order == sorted(order, reverse=True), order
ten = [l for l in text if "/tenant-a" in l]
assert ten and ten[0].split()[3] == "64.0M", ten
tb = [l for l in text if "/tenant-b" in l][0].split()
assert int(tb[6]) >= 1 and int(tb[7]) >= 1, tb
print("ok: --once rows")
EOF

# -n limits the cache rows.
cache_rows() { awk 'NF == 8 && $1 ~ /^[0-9]+$/ && $3 ~ /%$/' "$1" | wc -l; }
"$top" -p "$pid" --once -n 2 >"$tmp/rows.txt" || fail "uslabtop -n"
[ "$(cache_rows "$tmp/rows.txt")" -eq 2 ] || fail "-n 2 printed $(cache_rows "$tmp/rows.txt") rows"

# Without -p: ours if it is the only publisher, else a list that names it.
if "$top" --once >"$tmp/nop.txt" 2>"$tmp/nop.err"; then
	grep -q "^ uslabtop - pid $pid " "$tmp/nop.txt" || fail "uslabtop without -p chose another process"
else
	grep -q "choose one with -p" "$tmp/nop.err" && grep -q " $pid " "$tmp/nop.err" ||
		fail "uslabtop without -p"
fi

# Bad arguments.
"$top" -s x --once >/dev/null 2>&1 && fail "-s x accepted"
"$top" -p 0 --once >/dev/null 2>&1 && fail "-p 0 accepted"

# Close the publisher's stdin: it frees everything, exits, and its file goes.
exec 3>&-
wait "$pubpid"
status=$?
pubpid=
[ "$status" -eq 0 ] || fail "publisher exited with $status"
[ ! -e "/dev/shm/uslab.$pid" ] || fail "/dev/shm/uslab.$pid left behind"
"$top" -p "$pid" --once >/dev/null 2>"$tmp/gone.err" && fail "uslabtop read a removed file"
grep -q "publishes no statistics" "$tmp/gone.err" || fail "message for a gone process"
echo "PASS"
exit 0
