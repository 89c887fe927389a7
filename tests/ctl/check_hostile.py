#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile clients against a real vcoprocd (builtin domains, no KVM needed:
VCOPROC_KVM_DEVICE names a device that does not exist).

    check_hostile.py VCOPROCD SYSTEM.DTB EXAMPLES-DIR

One section per class of attack, each holding the limit the control
protocol documents (docs/control-protocol.md):

  - silent connections fill the table: a new client is still answered, and
    an idle connection is closed after the idle timeout (--idle-timeout);
  - clients that pipeline trace exports and never read the replies: the
    daemon's memory stays bounded and nobody else waits;
  - NUL in a command name, member name, argument name or parameter key:
    refused;
  - overlong UTF-8, surrogates, code points past U+10FFFF: refused; every
    reply is valid UTF-8 even where a description cuts a long name;
  - NaN / Infinity: refused; numeric ids come back with their exact text;
  - every documented range of an argument is enforced.

All the while a well-behaved client asks the daemon something every 50 ms
and must be answered within RESPONSIVE_S; the daemon's RSS is sampled and
must not grow by more than RSS_GROWTH_MAX.  Prints TAP."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, note, results  # noqa: E402 (tests/tap.py)

DAEMON, DTB, EXAMPLES = sys.argv[1:4]
IDLE_TIMEOUT = 3.0          # seconds, given to the daemon
RESPONSIVE_S = 1.0          # the most a well-behaved request may wait
RSS_GROWTH_MAX = 96 << 20   # bytes the daemon may grow by under attack
SLACK = 10.0                # generous waits for a loaded machine


def strict_json(raw):
    """Parse @raw (bytes) as strict JSON: valid UTF-8, no NaN/Infinity."""
    def no_constant(name):
        raise ValueError("not JSON: %s" % name)
    return json.loads(raw.decode("utf-8"), parse_constant=no_constant)


class Conn:
    """A raw connection: send bytes, read reply lines."""

    def __init__(self, path, timeout=SLACK):
        # A full listen backlog says EAGAIN at once: wait for the daemon to accept.
        deadline = time.monotonic() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            try:
                self.s.connect(path)
                break
            except BlockingIOError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        """The next reply line (bytes, without the newline); None at EOF."""
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def call(self, raw):
        """Send one request line (bytes); the reply line, raw."""
        self.send(raw + b"\n")
        return self.line()

    def eof_within(self, seconds):
        """Whether the daemon closes this connection within @seconds."""
        self.s.settimeout(seconds)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.s.close()


def req(cmd, args=None, **extra):
    r = {"execute": cmd}
    if args is not None:
        r["arguments"] = args
    r.update(extra)
    return json.dumps(r).encode()


class Prober(threading.Thread):
    """A well-behaved client: one query every 50 ms on its own connection
    (reconnecting when the daemon closes it); records each latency."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lat = []          # (when, seconds)
        self.failures = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        c = None
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                if c is None:
                    c = Conn(self.path, timeout=30)
                reply = c.call(req("query-version", id=7))
                if reply is None:
                    raise OSError("closed")
                ok = strict_json(reply).get("return", {}).get("protocol") == 1
                dt = time.monotonic() - t0
                with self.lock:
                    self.lat.append((t0, dt))
                    if not ok:
                        self.failures.append(reply[:200])
            except (OSError, ValueError) as e:
                with self.lock:
                    self.failures.append(repr(e))
                if c:
                    c.close()
                c = None
            self.stop.wait(0.05)
        if c:
            c.close()

    def worst_since(self, t):
        with self.lock:
            seen = [dt for (t0, dt) in self.lat if t0 >= t]
        return (max(seen) if seen else None), len(seen)


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    @staticmethod
    def rss(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for l in f:
                    if l.startswith("VmRSS:"):
                        return int(l.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.rss(self.pid))
            self.stop.wait(0.02)


def start_daemon(tmp, sock):
    env = dict(os.environ, VCOPROC_KVM_DEVICE="/nonexistent/kvm")
    base = [DAEMON, "--dtb", DTB, "--socket", sock, "--no-echo"]
    d = subprocess.Popen(base + ["--idle-timeout", "%gs" % IDLE_TIMEOUT],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ready = d.stdout.readline().strip()
    if ready != b"ready" and d.wait(timeout=SLACK) == 2:
        # A daemon without --idle-timeout (what this test was first run on).
        note("the daemon has no --idle-timeout: running without it")
        d = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        ready = d.stdout.readline().strip()
    return d, ready


def main():
    tmp = tempfile.mkdtemp(prefix="vcoproc-hostile-")
    sock = os.path.join(tmp, "vcoprocd.sock")
    daemon, ready = start_daemon(tmp, sock)
    prober = sampler = None
    try:
        if not check(ready == b"ready", "vcoprocd starts and listens",
                     daemon.stderr.read().decode(errors="replace")
                     if daemon.poll() is not None else ready):
            return
        c = Conn(sock)
        for name in ("dom1", "dom2"):
            with open(os.path.join(EXAMPLES, name + ".cfg")) as f:
                r = strict_json(c.call(req("create", {"config": f.read()})))
            check("return" in r, "create %s (builtin:compute)" % name, r)
        r = strict_json(c.call(req("trace-start", {"coproc": "gpu0", "capacity": 1 << 20})))
        check("return" in r, "trace-start gpu0", r)
        c.close()

        baseline = RssSampler.rss(daemon.pid)
        prober = Prober(sock)
        prober.start()
        sampler = RssSampler(daemon.pid)
        sampler.start()
        time.sleep(0.5)

        only = os.environ.get("HOSTILE_ONLY", "").split(",")
        for section in (silent_connections, idle_timeout, unread_exports, nul_bytes,
                        utf8, numbers_and_ids, ranges):
            if only != [""] and section.__name__ not in only:
                continue
            t = time.monotonic()
            try:
                section(sock)
            except (OSError, ValueError, AttributeError, TypeError) as e:
                check(False, "%s: the daemon answers" % section.__name__, repr(e))
            # Let the well-behaved client ask a few times in each section.
            deadline = time.monotonic() + SLACK
            while prober.worst_since(t)[1] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            worst, n = prober.worst_since(t)
            note("%s: a well-behaved client's worst wait %s over %d requests" %
                 (section.__name__, "%.3f s" % worst if worst is not None else "-", n))
            check(worst is not None and worst < RESPONSIVE_S and n > 0,
                  "%s: a well-behaved client is answered within %.1f s throughout" %
                  (section.__name__, RESPONSIVE_S), "worst %s over %d" % (worst, n))

        growth = sampler.peak - baseline
        note("daemon RSS: %.1f MiB at the start, peak %.1f MiB" %
             (baseline / 2**20, sampler.peak / 2**20))
        check(growth < RSS_GROWTH_MAX, "the daemon's memory stays bounded (grew by %.1f MiB, at most %d)" %
              (growth / 2**20, RSS_GROWTH_MAX >> 20))
        check(not prober.failures, "the well-behaved client never failed", prober.failures[:5])
    finally:
        if prober:
            prober.stop.set()
            prober.join(timeout=SLACK)
        if sampler:
            sampler.stop.set()
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                rc = daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                rc = daemon.wait()
            check(rc == 0, "the daemon shuts down cleanly on SIGTERM", "exit %s" % rc)
        err = daemon.stderr.read().decode(errors="replace")
        if not all(results):
            note("daemon stderr (last 3000 bytes):\n" + err[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
        print("1..%d" % len(results))


# ---- connections ------------------------------------------------------------------------------

def silent_connections(sock):
    """More silent connections than the table holds: a newcomer is answered."""
    silent = [Conn(sock) for _ in range(100)]
    time.sleep(1.5)            # they have been idle a while
    t0 = time.monotonic()
    reply = None
    try:
        c = Conn(sock)
        reply = c.call(req("list"))
        c.close()
    except OSError as e:
        reply = repr(e).encode()
    dt = time.monotonic() - t0
    ok = False
    try:
        ok = reply is not None and "return" in strict_json(reply)
    except ValueError:
        pass
    check(ok and dt < RESPONSIVE_S,
          "100 silent connections: a new client is still answered (in %.3f s)" % dt, reply)
    for s in silent:
        s.close()


def idle_timeout(sock):
    """A connection that says nothing is closed after the idle timeout."""
    c = Conn(sock)
    t0 = time.monotonic()
    closed = c.eof_within(IDLE_TIMEOUT + SLACK)
    dt = time.monotonic() - t0
    c.close()
    check(closed and dt >= IDLE_TIMEOUT - 0.5,
          "a silent connection is closed after the idle timeout (%.0f s): after %.2f s" %
          (IDLE_TIMEOUT, dt), "closed %s after %.2f s" % (closed, dt))
    # One that keeps asking is not.
    c = Conn(sock)
    ok = True
    t0 = time.monotonic()
    while time.monotonic() - t0 < IDLE_TIMEOUT + 1:
        reply = c.call(req("query-version"))
        ok = ok and reply is not None
        time.sleep(0.5)
    c.close()
    check(ok, "a connection in use is not closed for idleness")


# ---- output that is not read ------------------------------------------------------------------

def unread_exports(sock):
    """Clients pipeline trace exports and never read the replies."""
    # Let the trace grow to half a megabyte per export (a few seconds).
    c = Conn(sock)
    deadline = time.monotonic() + 60
    while True:
        sz = len(c.call(req("trace-export", {"coproc": "gpu0"})))
        if sz >= 512 << 10 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    c.close()
    note("one trace export is %d bytes now" % sz)
    batch = b"".join(req("trace-export", {"coproc": "gpu0"}) + b"\n" for _ in range(30))
    attackers = []
    for _ in range(8):
        a = Conn(sock)
        a.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        a.send(batch)
        attackers.append(a)
    time.sleep(3.0)
    # The replies that were queued are whole and in order: read one client's.
    a = attackers[0]
    a.s.settimeout(SLACK)
    good = 0
    try:
        for _ in range(3):
            r = strict_json(a.line())
            good += "return" in r or "error" in r
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    check(good == 3, "a client that finally reads gets whole replies (3 read)", good)
    for a in attackers:
        a.close()


# ---- what a request may hold ------------------------------------------------------------------

def refused(reply, words):
    try:
        r = strict_json(reply)
    except (ValueError, AttributeError, TypeError):
        return False
    return "error" in r and all(w in r["error"]["desc"] for w in words)


def nul_bytes(sock):
    c = Conn(sock)
    cases = [
        b'{"execute":"list\\u0000junk"}',
        b'{"execute":"list","id\\u0000x":1}',
        b'{"execute":"sched-get","arguments":{"coproc":"gpu0","coproc\\u0000":1}}',
        b'{"execute":"sched-get","arguments":{"coproc\\u0000x":"gpu0"}}',
        b'{"execute":"vcoproc-set","arguments":{"domain":"dom1","coproc":"gpu0",'
        b'"params":{"weight\\u0000x":300}}}',
        b'{"execute":"list","id":"a\\u0000b"}',
    ]
    bad = [(x, r) for x, r in ((x, c.call(x)) for x in cases) if not refused(r, ["NUL"])]
    check(not bad, "NUL (\\u0000) in a command, member, argument or key name is refused", bad)
    c.close()


def utf8(sock):
    c = Conn(sock)
    cases = [
        b'{"execute":"list","id":"\xc0\xaf"}',            # overlong '/'
        b'{"execute":"list","id":"\xe0\x80\xaf"}',        # overlong, 3 bytes
        b'{"execute":"list","id":"\xed\xa0\x80"}',        # a surrogate, raw
        b'{"execute":"list","id":"\xf4\x90\x80\x80"}',    # past U+10FFFF
        b'{"execute":"list","id":"\\ud800"}',             # a lone surrogate, escaped
        b'{"execute":"list","id":"\\udc00\\ud800"}',      # the wrong way round
        b'{"execute":"list","id":"a\x01b"}',              # a raw control character
    ]
    bad = [(x, r) for x, r in ((x, c.call(x)) for x in cases) if not refused(r, [])]
    check(not bad, "overlong UTF-8, surrogates, > U+10FFFF and raw control characters are refused",
          bad)
    r = c.call(b'{"execute":"list","id":"\\ud83d\\ude00 \xf0\x9f\x98\x80"}')
    check(r is not None and r.endswith(b'"id":"\\ud83d\\ude00 \xf0\x9f\x98\x80"}'),
          "a surrogate pair and a 4-byte character are accepted and echoed", r)
    # Descriptions that quote long names must not cut a character in two.
    e = "\u00e9" * 60
    cases = [
        req("a" + e),
        req("list", **{"a" + e: 1}),
        req("sched-get", {"coproc": "a" + e}),
        req("sched-get", {"coproc": "gpu0", "a" + e: 1}),
        req("sched-set", {"coproc": "gpu0", "algorithm": "a" + e}),
        req("vcoproc-set", {"domain": "dom1", "coproc": "gpu0", "params": {"w\u00e9": [1]}}),
        req("destroy", {"domain": "a" + e}),
        req("create", {"config": 'name = "' + "a" + e + '"\nkernel = "builtin:idle"\n'}),
    ]
    bad = []
    for x in cases:
        x = x.replace(b"\\u00e9", "\u00e9".encode())
        r = c.call(x)
        try:
            strict_json(r)
        except (ValueError, AttributeError, TypeError) as err:
            bad.append((x[:80], r, str(err)))
    check(not bad, "every reply is valid UTF-8 JSON, however long the names it quotes", bad)
    c.close()


def numbers_and_ids(sock):
    c = Conn(sock)
    bad = []
    for lit in (b"NaN", b"Infinity", b"-Infinity"):
        r = c.call(b'{"execute":"query-version","id":' + lit + b"}")
        if not refused(r, []):
            bad.append((lit, r))
    check(not bad, "NaN and Infinity are not JSON: refused", bad)
    bad = []
    for lit in (b"123456789012345678901234567890", b"18446744073709551616",
                b"-9223372036854775809", b"0.1000000000000000055511151231257827", b"1E400",
                b"-0", b"1.50", b"[1,2.0,{\"a\":1e-7}]", b'"\\u00e9"'):
        r = c.call(b'{"execute":"query-version","id":' + lit + b"}")
        if r is None or not r.endswith(b',"id":' + lit + b"}"):
            bad.append((lit, r))
    check(not bad, "an id comes back with its exact text, whatever number it holds", bad)
    c.close()


def ranges(sock):
    c = Conn(sock)
    cases = [
        req("trace-start", {"coproc": "gpu1", "capacity": 0}),
        req("trace-start", {"coproc": "gpu1", "capacity": 1048577}),
        b'{"execute":"trace-start","arguments":{"coproc":"gpu1","capacity":18446744073709551617}}',
        req("console-read", {"domain": "dom1", "max": 65537}),
        req("console-read", {"domain": "dom1", "max": 0}),
        b'{"execute":"console-read","arguments":{"domain":"dom1","offset":18446744073709551616}}',
        req("console-read", {"domain": 4294967296}),
        req("vcoproc-set", {"domain": "dom1", "coproc": "gpu0",
                            "params": {"k%d" % i: 1 for i in range(17)}}),
        b'{"execute":"vcoproc-set","arguments":{"domain":"dom1","coproc":"gpu0",'
        b'"params":{"weight":18446744073709551616}}}',
        req("vcoproc-set", {"domain": "dom1", "coproc": "gpu0", "params": {"w" * 24: 1}}),
        req("vcoproc-set", {"domain": "dom1", "coproc": "gpu0", "params": {"weight": "9" * 96}}),
        req("create", {"config": "name = \"x\"\n", "path": "/" + "p" * 5000}),
    ]
    first = c.call(cases[0])
    check(refused(first, ["capacity"]), "trace-start capacity 0 is refused (1 .. 1048576)", first)
    bad = [(x, r) for x, r in ((x, c.call(x)) for x in cases[1:]) if not refused(r, [])]
    check(not bad, "every other documented range is enforced", bad)
    r = strict_json(c.call(req("trace-start", {"coproc": "gpu1", "capacity": 1})))
    check("return" in r, "trace-start capacity 1 is accepted", r)
    c.call(req("trace-stop", {"coproc": "gpu1"}))
    c.close()


if __name__ == "__main__":
    main()
    sys.exit(0 if results and all(results) else 1)
