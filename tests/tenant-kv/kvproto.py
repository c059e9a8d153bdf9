# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/tenant-kv/kvproto.py - what the tenant-kv test scripts share: a raw
memcached text-protocol connection with a time limit on every operation,
"stats" parsing, and the check/summary bookkeeping.

Only 127.0.0.1; only the Python standard library.
"""
import socket
import sys
import time

TIMEOUT = 10.0
FAILED = []


def check(cond, what):
    """Record one assertion; print it."""
    print("  [%s] %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        FAILED.append(what)
    return cond


def summary():
    """Exit status for the script: 0 when every check held."""
    if FAILED:
        print("%d check(s) failed:" % len(FAILED))
        for what in FAILED:
            print("  - %s" % what)
        return 1
    print("all checks passed")
    return 0


class Conn:
    """A memcached text-protocol connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=TIMEOUT):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def read_until(self, suffix):
        """Bytes up to and including the first occurrence of @suffix."""
        while True:
            i = self.buf.find(suffix)
            if i >= 0:
                out, self.buf = self.buf[:i + len(suffix)], self.buf[i + len(suffix):]
                return out
            self._fill()

    def read_line(self):
        return self.read_until(b"\r\n")

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self):
        """Everything until the server closes; b"" if it sends nothing."""
        out = self.buf
        self.buf = b""
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                return out
            if not chunk:
                return out
            out += chunk

    def cmd(self, line):
        """Send one command line, return its one-line reply (without CRLF)."""
        self.send(line + "\r\n")
        return self.read_line()[:-2].decode("latin-1")

    def store(self, cmd, key, value, flags=0, exptime=0, cas=None, noreply=False):
        if isinstance(value, str):
            value = value.encode("latin-1")
        line = "%s %s %d %d %d" % (cmd, key, flags, exptime, len(value))
        if cas is not None:
            line += " %d" % cas
        if noreply:
            line += " noreply"
        self.send(line.encode("latin-1") + b"\r\n" + value + b"\r\n")
        if noreply:
            return None
        return self.read_line()[:-2].decode("latin-1")

    def get_multi(self, cmd, keys):
        """{key: (flags, value, cas or None)} for a get-family command."""
        self.send("%s %s\r\n" % (cmd, " ".join(keys)))
        return self.get_multi_reply()

    def get_multi_reply(self):
        """Read one get-family reply: {key: (flags, value, cas or None)}."""
        out = {}
        while True:
            line = self.read_line()[:-2].decode("latin-1")
            if line == "END":
                return out
            parts = line.split(" ")
            if parts[0] != "VALUE":
                raise ValueError("unexpected reply %r" % line)
            n = int(parts[3])
            data = self.read_exact(n + 2)[:-2]
            out[parts[1]] = (int(parts[2]), data, int(parts[4]) if len(parts) > 4 else None)

    def get(self, key):
        """The value of @key as bytes, or None."""
        r = self.get_multi("get", [key])
        return r[key][1] if key in r else None

    def stats(self, sub=""):
        """{name: value} of "stats [sub]" (values as strings)."""
        self.send(("stats %s" % sub).strip() + "\r\n")
        out = {}
        while True:
            line = self.read_line()[:-2].decode("latin-1")
            if line == "END":
                return out
            parts = line.split(" ", 2)
            if parts[0] != "STAT" or len(parts) != 3:
                raise ValueError("unexpected stats line %r" % line)
            out[parts[1]] = parts[2]

    def close(self):
        self.sock.close()


def wait_port_closed(port, seconds):
    """True once nothing accepts on @port any more."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


def main_guard(fn):
    """Run @fn(argv); a connection failure is a failed check, not a traceback."""
    try:
        fn(sys.argv[1:])
    except (OSError, EOFError, ValueError, KeyError) as e:
        check(False, "connection or protocol failure: %r" % (e,))
    sys.exit(summary())
