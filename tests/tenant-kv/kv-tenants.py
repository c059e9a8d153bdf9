#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/tenant-kv/kv-tenants.py - what tenant-kv-server adds to memcached:
tenants, their limits, per-tenant eviction and accounting.

    kv-tenants.py evict PORT     a server started by test-tenant-kv.sh with
                                 -m 1M -l quiet=4M -l small=256K -l lru=192K
                                 -l noisy=256K -T 12
    kv-tenants.py noevict PORT   a server started with -e -l full=256K
    kv-tenants.py shutdown PORT  the -A server: "shutdown" stops it

Talks the memcached text protocol over 127.0.0.1 (kvproto.Conn); every
socket operation has a time limit. Exit status 0 when every check held.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvproto import Conn, check, main_guard, wait_port_closed  # noqa: E402

KIB = 1024


def tenant_stats(conn):
    """{tenant: {field: int or str}} from "stats tenants"."""
    out = {}
    for name, value in conn.stats("tenants").items():
        tenant, sep, field = name.rpartition(":")
        if not sep or tenant.startswith("/"):
            continue        # "tenants", "separator", "/kv:..." (the parent)
        out.setdefault(tenant, {})[field] = int(value) if value.isdigit() else value
    return out


def audit(conn, when):
    st = conn.stats("audit")
    bad = {k: v for k, v in st.items() if v != "ok"}
    check(st.get("audit") == "ok" and not bad,
          "stats audit %s: every tenant holds exactly its items' memory%s"
          % (when, "" if not bad else " (%s)" % bad))


def limits_hold(ts, when):
    over = [t for t, f in ts.items() if isinstance(f.get("memory_max"), int) and
            f["memory_current"] > f["memory_max"]]
    check(not over, "%s: every tenant's memory.current within its memory.max%s"
          % (when, " (over: %s)" % over if over else ""))


def value(key, size):
    head = (key + "/").encode()
    return (head + b"v" * size)[:size]


def run_evict(port):
    a, b = Conn(port), Conn(port)

    print("=== tenants from key prefixes")
    ts = tenant_stats(a)
    check(ts.get("default", {}).get("memory_max") == 1024 * KIB,
          "default tenant exists with -m 1M")
    check(ts.get("quiet", {}).get("memory_max") == 4096 * KIB and
          ts.get("small", {}).get("memory_max") == 256 * KIB, "-l quiet=4M and -l small=256K")
    check(a.store("set", "plain", "x") == "STORED" and
          tenant_stats(a)["default"]["curr_items"] == 1, "a key without ':' is default's")
    check(a.store("set", "default:y", "y") == "STORED" and a.store("set", ":z", "z") == "STORED"
          and tenant_stats(a)["default"]["curr_items"] == 3,
          "prefixes 'default' and '' are default's too")
    check(a.store("set", "alpha:k", "v") == "STORED", "a new prefix stores")
    ts = tenant_stats(a)
    check(ts.get("alpha", {}).get("curr_items") == 1 and
          ts["alpha"].get("memory_max") == 1024 * KIB,
          "tenant alpha created with the -m limit, holding its item")
    check(ts["alpha"]["memory_current"] > 0 and ts["alpha"]["bytes"] > 0,
          "alpha is charged for its item")
    check(a.store("set", "a/b c:k".replace(" ", "_"), "v") == "STORED" and
          "a%2Fb_c" in tenant_stats(a), "a '/' in a prefix is escaped in the tenant name")
    check(a.get("alpha:k") == b"v" and a.get("alpha:none") is None and
          a.get("nosuchtenant:k") is None, "gets find the right tenant; unknown tenants miss")
    check(tenant_stats(a).get("nosuchtenant") is None, "a get creates no tenant")

    print("=== a noisy tenant far past its limit, a quiet one reading")
    quiet = {"quiet:k%d" % i: value("quiet:k%d" % i, 1000) for i in range(1000)}
    for k, v in quiet.items():
        a.send(b"set %s 0 0 %d noreply\r\n%s\r\n" % (k.encode(), len(v), v))
    check(a.get("quiet:k0") == quiet["quiet:k0"], "quiet stored 1000 items (1 MB)")
    written, refused, quiet_hits, quiet_ends = 0, 0, 0, 0
    for burst in range(40):
        # 40 bursts of 100 pipelined 1000-byte sets: 4 MB into a 256K tenant
        payload = b"".join(b"set noisy:w%d 0 0 1000\r\n%s\r\n" %
                           (burst * 100 + i, value("noisy:w%d" % (burst * 100 + i), 1000))
                           for i in range(100))
        a.send(payload)
        # the quiet tenant reads on its own connection meanwhile
        b.send(b"".join(b"get %s\r\n" % k.encode() for k in list(quiet)[burst * 25:burst * 25 + 25]))
        for _ in range(100):
            r = a.read_line()
            written += r == b"STORED\r\n"
            refused += r != b"STORED\r\n"
        for _ in range(25):
            line = b.read_line()
            if line.startswith(b"VALUE"):
                b.read_exact(int(line.split()[3]) + 2)
                quiet_hits += 1
                line = b.read_line()
            quiet_ends += line == b"END\r\n"
    check(quiet_hits == 1000 and quiet_ends == 1000,
          "quiet: its 1000 reads during the noise all hit (%d)" % quiet_hits)
    check(written == 4000 and refused == 0,
          "noisy: all 4000 sets STORED (%d refused) while far past its limit" % refused)
    ts = tenant_stats(a)
    n, q = ts["noisy"], ts["quiet"]
    check(n["evictions"] > 3000, "noisy evicted its own items (%d evictions)" % n["evictions"])
    check(n["memory_current"] <= 256 * KIB, "noisy stayed within 256K (%d bytes)"
          % n["memory_current"])
    check(n["curr_items"] + n["evictions"] == 4000, "noisy: items + evictions == sets")
    check(q["evictions"] == 0 and q["curr_items"] == 1000,
          "quiet: no eviction, all 1000 items there")
    got = b.get_multi("get", list(quiet))
    check(len(got) == 1000 and all(got[k][1] == v for k, v in quiet.items()),
          "quiet: every item reads back intact after the noise")
    last = ["noisy:w%d" % i for i in range(3990, 4000)]
    first = ["noisy:w%d" % i for i in range(10)]
    check(len(a.get_multi("get", last)) == 10 and not a.get_multi("get", first),
          "noisy kept its newest items and lost its oldest (LRU)")
    check(all(ts[t]["evictions"] == 0 for t in ts if t != "noisy"),
          "no tenant but noisy evicted anything")
    limits_hold(ts, "after the noise")

    print("=== pipelined gets whose replies exceed the server's 4 MiB output backlog")
    big = b"B" * (900 * KIB)
    check(a.store("set", "quiet:big", big) == "STORED", "a 900K value")
    a.send(b"get quiet:big\r\n" * 12 + b"get quiet:k0\r\n")
    got = [a.get_multi_reply() for _ in range(13)]
    check(all(g.get("quiet:big", (0, b""))[1] == big for g in got[:12]) and
          got[12].get("quiet:k0", (0, b""))[1] == quiet["quiet:k0"],
          "12 gets of 900K (10.8 MB of replies) and the request after them all answered")
    a.cmd("delete quiet:big")

    print("=== LRU order within a tenant")
    for i in range(30):
        a.store("set", "lru:a%d" % i, value("lru:a%d" % i, 2000))
    check(a.get("lru:a0") is not None, "lru:a0, the oldest, read: now the most recently used")
    gone = None
    for i in range(400):
        a.store("set", "lru:b%d" % i, value("lru:b%d" % i, 2000))
        # Looking at the stats moves nothing in the LRU; a get would.
        if tenant_stats(a)["lru"]["evictions"]:
            got = a.get_multi("get", ["lru:a%d" % k for k in range(30)])
            gone = sorted(int(k[5:]) for k in ["lru:a%d" % k for k in range(30)] if k not in got)
            break
    # A store at the limit evicts a batch (16 items, more under ASan, where
    # freed objects wait in a quarantine), always from the cold end: a1, a2,
    # ..., never a0.
    check(bool(gone) and gone == list(range(1, len(gone) + 1)),
          "the first evictions took the least recently used lru:a1.. in order, not lru:a0 "
          "(gone: %s)" % gone)

    print("=== incr wraps at 2^64 (not compared with memcached: see kv-compare.py)")
    check(a.store("set", "w:n", "18446744073709551615") == "STORED" and
          a.cmd("incr w:n 1") == "0" and a.get("w:n") == b"0" + b" " * 19,
          "incr of 2^64 - 1 by 1 is 0, written in place")
    check(a.store("set", "w:n", "5") == "STORED" and a.cmd("incr w:n 18446744073709551615")
          == "4", "5 + (2^64 - 1) is 4")

    print("=== an item larger than its tenant's limit")
    for i in range(10):
        a.store("set", "small:k%d" % i, "v%d" % i)
    check(a.store("set", "small:huge", b"h" * (512 * KIB)) ==
          "SERVER_ERROR out of memory storing object",
          "512K value into a 256K tenant: SERVER_ERROR out of memory storing object")
    check(len(a.get_multi("get", ["small:k%d" % i for i in range(10)])) == 10,
          "and nothing of small was evicted for it")
    check(tenant_stats(a)["small"]["store_no_memory"] == 1, "small counted the refused store")

    print("=== tenant limit")
    made, answer = 0, ""
    for i in range(20):
        answer = a.store("set", "many%d:k" % i, "v")
        if answer != "STORED":
            break
        made += 1
    check(answer == "SERVER_ERROR out of memory storing object",
          "past -T 12 tenants a new prefix is refused (after %d new)" % made)
    check(len(tenant_stats(a)) == 12, "12 tenants exist")
    check(a.get("many19:k") is None and a.store("set", "alpha:k2", "v") == "STORED",
          "existing tenants go on working")

    audit(a, "after eviction")
    print("=== flush_all gives the memory back")
    check(a.cmd("flush_all") == "OK", "flush_all")
    ts = tenant_stats(a)
    check(all(f["curr_items"] == 0 and f["bytes"] == 0 for f in ts.values()),
          "no tenant holds an item")
    audit(a, "after flush_all")
    check(a.store("set", "quiet:again", "v") == "STORED" and a.get("quiet:again") == b"v",
          "stores work after the flush")
    a.close()
    b.close()


def run_noevict(port):
    c = Conn(port)
    print("=== -e: a full tenant refuses, keeps its items, and others go on")
    stored, answer = 0, "STORED"
    while stored < 2000:
        answer = c.store("set", "full:k%d" % stored, value("full:k%d" % stored, 1000))
        if answer != "STORED":
            break
        stored += 1
    check(answer == "SERVER_ERROR out of memory storing object",
          "full: SERVER_ERROR out of memory storing object after %d items" % stored)
    check(100 < stored < 256, "full stored a fair number first")
    check(c.store("set", "full:other", value("full:other", 1000)) ==
          "SERVER_ERROR out of memory storing object", "and keeps refusing")
    got = c.get_multi("get", ["full:k%d" % i for i in range(stored)])
    check(len(got) == stored, "none of full's %d items was evicted" % stored)
    check(c.store("set", "other:k", "v") == "STORED" and c.get("other:k") == b"v",
          "another tenant stores and reads")
    ts = tenant_stats(c)
    check(ts["full"]["evictions"] == 0 and ts["full"]["store_no_memory"] >= 2,
          "stats: full has no eviction and counts the refusals")
    check(ts["full"]["memory_events_oom"] >= 2, "memory.events counts oom for full")
    limits_hold(ts, "-e")
    check(c.store("set", "full:k0", value("full:k0", 5000)) ==
          "SERVER_ERROR out of memory storing object" and c.get("full:k0") is None,
          "a refused set drops the key's old value (as memcached)")
    for i in range(1, 21):
        c.cmd("delete full:k%d" % i)
    check(c.store("set", "full:again", value("full:again", 1000)) == "STORED",
          "deletes make room again")
    audit(c, "with -e")
    c.close()


def run_shutdown(port):
    c = Conn(port)
    print("=== shutdown command (-A)")
    check(c.store("set", "s:k", "v") == "STORED", "a store before shutdown")
    c.send("shutdown\r\n")
    check(c.read_to_eof() == b"", "shutdown: no reply, the connection closes")
    check(wait_port_closed(port, 20), "the server stops accepting")


def main(argv):
    mode, port = argv[0], int(argv[1])
    {"evict": run_evict, "noevict": run_noevict, "shutdown": run_shutdown}[mode](port)


if __name__ == "__main__":
    main_guard(main)
