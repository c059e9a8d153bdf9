#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/tenant-kv/kv-fuzz.py - protocol fuzzing of tenant-kv-server.

    kv-fuzz.py PORT [SEED [ROUNDS]]

Three kinds of abuse, each on its own connections, reproducible from SEED
(printed; default: from the clock):

1. one reply per line: a stream of random lines that are no storage command
   (random bytes with NULs, CRs, high bytes and blanks; lines starting with a
   NUL byte; empty lines; lines over 2048 bytes; unknown and malformed
   commands; gets of missing keys) must get exactly one reply line each, in
   order, and the connection must stay usable.
2. malformed commands: random, truncated and malformed storage commands,
   huge and negative lengths, bad data blocks, noreply everywhere, 0x80
   first bytes, lines of megabytes, many tokens, connections cut in the
   middle of a line or a data block or reset with unread replies. The
   server must answer or close, never hang.
3. after all of it: the server still runs, answers a set/get/delete
   correctly on a new connection, "stats audit" says every tenant holds
   exactly the memory its items need, and after flush_all no tenant holds an
   item.

Exit status 0 when every check held.
"""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvproto import Conn, check, main_guard  # noqa: E402

STORAGE = {b"set", b"add", b"replace", b"append", b"prepend", b"cas"}
CLOSERS = {b"quit", b"shutdown"}
COMMANDS = [b"set", b"add", b"replace", b"append", b"prepend", b"cas", b"get", b"gets",
            b"gat", b"gats", b"touch", b"delete", b"incr", b"decr", b"flush_all", b"stats",
            b"version", b"verbosity", b"bget", b"LIMIT", b"NS", b"SET", b"GET"]
NUMBERS = [b"0", b"1", b"-1", b"2147483647", b"2147483648", b"4294967295", b"4294967296",
           b"-2147483649", b"18446744073709551615", b"18446744073709551616", b"99999999999999999999999",
           b"abc", b"", b" ", b"+5", b"0x10", b"1e3", b"\t7", b"007", b"noreply"]


def rand_key(rng):
    prefix = rng.choice([b"", b"fz:", b"fy:", b"t%d:" % rng.randrange(40), b"default:", b":",
                         b"a/b:", b"%:", b"..:"])
    body = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789_-./%\x01\x7f\xff\t")
                 for _ in range(rng.randrange(1, 12)))
    key = prefix + body
    if rng.random() < 0.05:
        key = b"k" * rng.choice([249, 250, 251, 300, 1000])
    return key


def rand_bytes(rng, n):
    return rng.randbytes(n)


def memcached_first_token(line):
    """The command memcached would see: up to a NUL, split on blanks."""
    line = line.split(b"\x00", 1)[0]
    toks = [t for t in line.split(b" ") if t]
    return toks


def one_reply_line(rng):
    """A line (without its newline) that memcached answers with exactly one line."""
    kind = rng.randrange(10)
    if kind == 0:
        line = b"\x00" + rand_bytes(rng, rng.randrange(0, 40)).replace(b"\n", b"")
    elif kind == 1:
        line = rng.choice([b"", b"\r", b" ", b"  \r", b"\t"])
    elif kind == 2:
        line = rand_bytes(rng, rng.choice([2049, 3000, 20000, 70000])).replace(b"\n", b"x")
    elif kind == 3:
        line = rng.choice([b"delete", b"incr", b"decr", b"touch", b"verbosity", b"version"]) + \
            b"".join(b" " + rng.choice(NUMBERS[:-1] + [rand_key(rng)])
                     for _ in range(rng.randrange(0, 6)))
    elif kind == 4:
        line = rng.choice([b"get", b"gets", b"bget"]) + b"".join(
            b" fuzzmiss:" + rand_key(rng) for _ in range(rng.randrange(1, 40)))
    elif kind == 5:
        line = rng.choice([b"gat", b"gats"]) + b" " + rng.choice(NUMBERS) + b"".join(
            b" fuzzmiss:" + rand_key(rng) for _ in range(rng.randrange(0, 5)))
    elif kind == 6:
        line = rng.choice([b"LIMIT", b"NS", b"SET", b"GET", b"DEL", b"STATS", b"QUIT",
                           b"SHUTDOWN", b"LIMIT ns", b"NS a b c", b"frob"])
    elif kind == 7:
        line = b" ".join(rng.choice(NUMBERS[:-1] + [rand_key(rng)])
                         for _ in range(rng.randrange(20, 60)))
    else:
        line = rand_bytes(rng, rng.randrange(1, 200)).replace(b"\n", b"")
    toks = memcached_first_token(line[:-1] if line.endswith(b"\r") else line)
    if toks and (toks[0] in STORAGE or toks[0] in CLOSERS or toks[0] == b"stats" or
                 toks[-1].startswith(b"HTTP/") or toks[0] == b"flush_all"):
        return b"version"
    if toks and toks[0] in (b"get", b"gets", b"bget", b"gat", b"gats") and \
            any(not t.startswith(b"fuzzmiss:") for t in toks[1 + toks[0].startswith(b"ga"):]):
        return b"version"       # a key we did not make sure is missing
    return line


def fuzz_one_reply_per_line(port, rng, nlines):
    print("=== every line gets exactly one reply (%d lines)" % nlines)
    c = Conn(port)
    lines = [one_reply_line(rng) for _ in range(nlines)]
    c.send(b"version\r\n")       # the first byte is never 0x80
    c.read_line()
    sent = 0
    bad = []
    while sent < len(lines):
        batch = lines[sent:sent + rng.randrange(1, 50)]
        c.send(b"".join(l + b"\n" for l in batch))
        for line in batch:
            reply = c.read_line()
            # One line, never the start of a multi-line reply.
            if reply.count(b"\r\n") != 1 or reply.startswith(b"VALUE") or \
                    reply.startswith(b"STAT"):
                bad.append((line[:60], reply[:80]))
        sent += len(batch)
    check(not bad, "%d lines, %d replies, each one line%s" % (nlines, nlines,
                                                             "" if not bad else ": %r" % bad[:3]))
    nul = [l for l in lines if l.startswith(b"\x00")]
    check(len(nul) > 0, "%d of them started with a NUL byte" % len(nul))
    check(c.cmd("version").startswith("VERSION"), "the connection is still in step")
    c.close()


def malformed(rng):
    """One stream of random, truncated or malformed requests."""
    out = []
    for _ in range(rng.randrange(1, 30)):
        kind = rng.randrange(12)
        cmd = rng.choice(COMMANDS)
        if kind <= 3:
            # a storage command with random fields and a data block that may be wrong
            n = rng.choice([0, 1, 5, 100, 1000, 5000, 70000])
            fields = [rng.choice(NUMBERS) for _ in range(rng.randrange(2, 6))]
            length = rng.choice([b"%d" % n, b"%d" % (n + rng.randrange(-3, 4)),
                                 rng.choice(NUMBERS)])
            line = b" ".join([rng.choice(list(STORAGE)), rand_key(rng)] + fields[:2] + [length] +
                             fields[2:rng.randrange(2, 5)])
            if rng.random() < 0.3:
                line += b" noreply"
            data = rand_bytes(rng, n)
            end = rng.choice([b"\r\n", b"\r\n", b"\r\n", b"\n", b"", b"xx", b"\r\n\r\n"])
            out.append(line + b"\r\n" + data + end)
        elif kind == 4:
            out.append(b"set fz:huge 0 0 %d\r\n" % rng.choice([2147483645, 4294967295,
                                                               1 << 40, 1048577]))
            out.append(rand_bytes(rng, rng.randrange(0, 5000)))
        elif kind == 5:
            out.append(b"\x80" + rand_bytes(rng, rng.randrange(0, 30)))
        elif kind == 6:
            out.append(rand_bytes(rng, rng.choice([100, 3000, 1 << 20, 3 << 20])))
        elif kind == 7:
            out.append(b"get " + b" ".join(rand_key(rng) for _ in range(rng.randrange(1, 3000)))
                       + b"\r\n")
        elif kind == 8:
            out.append(cmd + b" " + b" ".join(rng.choice(NUMBERS + [rand_key(rng)])
                                               for _ in range(rng.randrange(0, 30))) + b"\r\n")
        elif kind == 9:
            key = rand_key(rng)
            out.append(b"set %s 0 0 2\r\n10\r\nincr %s %s\r\ndecr %s %s\r\nappend %s 0 0 3\r\n"
                       b"abc\r\nincr %s 1\r\n" % (key, key, rng.choice(NUMBERS), key,
                                                  rng.choice(NUMBERS), key, key))
        elif kind == 10:
            out.append(rng.choice([b"flush_all\r\n", b"flush_all 0\r\n", b"flush_all noreply\r\n",
                                   b"stats\r\n", b"stats tenants\r\n", b"stats settings\r\n",
                                   b"verbosity 5\r\n", b"stats reset\r\n", b"shutdown\r\n",
                                   b"quit\r\n", b"GET / HTTP/1.0\r\n"]))
        else:
            out.append(b"gat %s %s %s\r\n" % (rng.choice(NUMBERS), rand_key(rng), rand_key(rng)))
    return b"".join(out)


def send_stream(port, data, how):
    """Send @data, then end the connection @how; the server must not hang."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        if how == "cut":
            data = data[:len(data) // 2 if data else 0]
        try:
            s.sendall(data)
        except OSError:
            return True         # the server closed on us: an answer
        if how == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return True
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            return True         # already closed by the server
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(1 << 20)
            except ConnectionResetError:
                return True
            if not chunk:
                return True
        return False
    except socket.timeout:
        return False
    finally:
        s.close()


def fuzz_malformed(port, rng, rounds):
    print("=== %d streams of malformed, truncated and random requests" % rounds)
    hung = 0
    for _ in range(rounds):
        if not send_stream(port, malformed(rng), rng.choice(["eof", "eof", "cut", "reset"])):
            hung += 1
    check(hung == 0, "every stream was answered and closed (%d hung)" % hung)


def after(port):
    print("=== afterwards")
    c = Conn(port)
    check(c.store("set", "fz:after", b"value\r\nwith CRLF") == "STORED" and
          c.get("fz:after") == b"value\r\nwith CRLF", "set and get answer correctly")
    check(c.cmd("delete fz:after") == "DELETED" and c.get("fz:after") is None, "delete too")
    st = c.stats("audit")
    bad = {k: v for k, v in st.items() if v != "ok"}
    check(st.get("audit") == "ok" and not bad,
          "stats audit: every tenant holds exactly the memory its items need%s"
          % ("" if not bad else " (%s)" % bad))
    check(c.cmd("flush_all") == "OK", "flush_all")
    items = {k: v for k, v in c.stats("tenants").items() if k.endswith(":curr_items")}
    check(all(v == "0" for v in items.values()), "no tenant holds an item after flush_all")
    st = c.stats("audit")
    check(st.get("audit") == "ok", "stats audit after flush_all")
    c.close()


def main(argv):
    port = int(argv[0])
    seed = int(argv[1]) if len(argv) > 1 else int(time.time())
    rounds = int(argv[2]) if len(argv) > 2 else 150
    print("seed %d (rerun: kv-fuzz.py PORT %d %d)" % (seed, seed, rounds))
    rng = random.Random(seed)
    fuzz_one_reply_per_line(port, rng, 2000)
    fuzz_malformed(port, rng, rounds)
    fuzz_one_reply_per_line(port, rng, 500)
    after(port)


if __name__ == "__main__":
    main_guard(main)
