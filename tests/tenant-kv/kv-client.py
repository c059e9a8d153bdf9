#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/tenant-kv/kv-client.py - protocol and tenant-isolation checks for
tenant-kv-server, used by test-tenant-kv.sh.

    kv-client.py PORT check      fill namespace A to its limit, check B is
                                 unaffected, STATS, DEL makes room, LIMIT,
                                 protocol errors
    kv-client.py PORT shutdown   STATS, then SHUTDOWN and wait for EOF

Talks to 127.0.0.1 only; every socket operation has a timeout. Prints the
session (fill loops abbreviated) and exits 0 when every check held, 1
otherwise.
"""
import socket
import sys

TIMEOUT = 5.0
LIMIT_A = 64 * 1024          # the -m the test starts the server with
FAILED = []


class Conn:
    """One connection: send a line, read the response line(s)."""

    def __init__(self, port, name):
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.rfile = self.sock.makefile("r", encoding="ascii", newline="\n")

    def cmd(self, line, quiet=False):
        self.sock.sendall((line + "\n").encode("ascii"))
        out = [self._readline()]
        if line.upper() == "STATS":
            while out[-1] not in ("END", ""):
                out.append(self._readline())
        if not quiet:
            shown = line if len(line) <= 70 else line[:60] + "...(%d bytes)" % len(line)
            print("%s> %s" % (self.name, shown))
            for resp in out:
                print("%s< %s" % (self.name, resp))
        return out if line.upper() == "STATS" else out[0]

    def _readline(self):
        return self.rfile.readline().rstrip("\n")

    def close(self):
        self.rfile.close()
        self.sock.close()


def check(cond, what):
    print("  [%s] %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        FAILED.append(what)


def parse_stats(lines):
    """{'/kv/A': {'memory.current': int, 'memory.max': int|'max', ...}}"""
    stats = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 2 or parts[0] != "STAT":
            continue
        fields = {}
        for kv in parts[2:]:
            key, _, val = kv.partition("=")
            fields[key] = int(val) if val.isdigit() else val
        stats[parts[1]] = fields
    return stats


def run_check(port):
    a = Conn(port, "A")
    b = Conn(port, "B")

    check(a.cmd("GET k") == "ERR no namespace selected (send NS name)", "GET before NS is refused")
    check(a.cmd("FROB") == "ERR unknown command", "unknown command")
    check(a.cmd("NS bad/name").startswith("ERR"), "bad namespace name refused")
    check(a.cmd("NS A") == "OK", "NS A")
    check(b.cmd("NS B") == "OK", "NS B")
    check(a.cmd("SET") == "ERR usage: SET key value", "SET without key")
    check(a.cmd("SET greeting hello tenant world") == "OK", "SET with blanks in the value")
    check(a.cmd("GET greeting") == "VALUE hello tenant world", "GET returns the value")
    check(b.cmd("GET greeting") == "NOT_FOUND", "B does not see A's key")
    check(a.cmd("DEL greeting") == "OK", "DEL")
    check(a.cmd("DEL greeting") == "NOT_FOUND", "DEL twice")
    check(a.cmd("SET %s v" % ("k" * 251)) == "ERR key too long", "251-byte key refused")
    check(a.cmd("x" * 10000) == "ERR line too long", "overlong line refused")
    check(a.cmd("GET greeting") == "NOT_FOUND", "connection still in sync after it")

    # Fill A until its tenant is at memory.max.
    value = "v" * 100
    stored, resp = 0, "OK"
    while stored < 20000:
        resp = a.cmd("SET a%d %s" % (stored, value), quiet=True)
        if resp != "OK":
            break
        stored += 1
    print("A> SET a0..a%d (100-byte values): %d x OK, then \"%s\"" % (stored, stored, resp))
    check(resp == "ERR over memory limit", "A hits ERR over memory limit")
    check(stored >= 50, "A stored a fair number of items first (%d)" % stored)
    check(a.cmd("SET another %s" % value) == "ERR over memory limit", "A stays at its limit")
    check(a.cmd("GET a0") == "VALUE " + value, "A's stored items are intact")

    # B, at the same time, works normally.
    ok = all(b.cmd("SET b%d value-%d" % (i, i), quiet=True) == "OK" for i in range(100))
    ok = ok and all(b.cmd("GET b%d" % i, quiet=True) == "VALUE value-%d" % i for i in range(100))
    print("B> SET/GET b0..b99 while A is full")
    check(ok, "B can SET and GET 100 keys while A is at its limit")

    stats = parse_stats(b.cmd("STATS"))
    sa, sb = stats.get("/kv/A", {}), stats.get("/kv/B", {})
    cur_a = sa.get("memory.current", -1)
    check(sa.get("memory.max") == LIMIT_A, "STATS: A memory.max = %d" % LIMIT_A)
    check(0 <= cur_a <= LIMIT_A, "STATS: A memory.current %d never above its limit" % cur_a)
    check(cur_a >= LIMIT_A * 3 // 4, "STATS: A memory.current %d near its limit" % cur_a)
    check(sa.get("items") == stored, "STATS: A items = %d" % stored)
    check(isinstance(sa.get("oom"), int) and sa["oom"] >= 1, "STATS: A counted oom events")
    check(0 < sb.get("memory.current", 0) < LIMIT_A, "STATS: B charged, below its limit")
    check(sb.get("oom") == 0, "STATS: B had no oom event")
    check(stats.get("/kv/big", {}).get("memory.max") == 256 * 1024,
          "STATS: -l big=256K applied")
    parent = stats.get("/kv", {})
    check(parent.get("memory.current", -1) >= cur_a + sb.get("memory.current", 0),
          "STATS: /kv charged with its namespaces")

    # DEL makes room again.
    ok = all(a.cmd("DEL a%d" % i, quiet=True) == "OK" for i in range(40))
    print("A> DEL a0..a39")
    check(ok, "A deletes 40 items")
    ok = all(a.cmd("SET again%d %s" % (i, value), quiet=True) == "OK" for i in range(20))
    print("A> SET again0..again19")
    check(ok, "A can SET again after DEL")
    check(a.cmd("GET again7") == "VALUE " + value, "and read it back")

    # LIMIT: per-namespace limits at run time.
    check(b.cmd("LIMIT A 4K") == "ERR usage above new limit", "LIMIT below A's usage refused")
    check(b.cmd("LIMIT C 128K") == "OK", "LIMIT creates C with 128K")
    check(b.cmd("LIMIT C lots") == "ERR bad limit", "LIMIT with a bad size")
    stats = parse_stats(b.cmd("STATS"))
    check(stats.get("/kv/C", {}).get("memory.max") == 128 * 1024, "STATS: C memory.max 128K")
    check(stats.get("/kv/A", {}).get("memory.max") == LIMIT_A, "A's limit unchanged")

    check(a.cmd("QUIT") == "OK", "QUIT")
    check(a._readline() == "", "server closed the connection after QUIT")
    a.close()
    b.close()


def run_shutdown(port):
    c = Conn(port, "S")
    stats = parse_stats(c.cmd("STATS"))
    for path, fields in stats.items():
        if path.startswith("/kv/"):
            cur, lim = fields.get("memory.current", -1), fields.get("memory.max")
            check(isinstance(lim, str) or 0 <= cur <= lim,
                  "%s memory.current %d within memory.max %s" % (path, cur, lim))
    check(c.cmd("SHUTDOWN") == "OK", "SHUTDOWN")
    check(c._readline() == "", "server closed the connection")
    c.close()


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("check", "shutdown"):
        sys.stderr.write("usage: kv-client.py PORT check|shutdown\n")
        return 2
    port = int(sys.argv[1])
    try:
        (run_check if sys.argv[2] == "check" else run_shutdown)(port)
    except (OSError, ValueError) as e:
        FAILED.append("connection: %s" % e)
        print("  [FAIL] connection: %s" % e)
    if FAILED:
        print("%d check(s) failed" % len(FAILED))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
