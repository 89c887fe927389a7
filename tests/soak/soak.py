#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak vcoprocd: churn for a set time, then check nothing was lost.

    soak.py BUILD [--seconds N] [--rss-bound KIB] [--rss-slack PCT] [--seed N]

BUILD is a meson build directory (host/vcoprocd, cli/vcoproc,
examples/system.dtb).  No KVM is needed: every domain is builtin
(builtin:compute, builtin:idle) on the two coprocessors of system.dtb.

While it runs (default 600 s; SOAK_SECONDS in the environment or --seconds):

* domains are created and destroyed every few hundred ms: compute domains
  that end by themselves after a second or two (their result lines are
  checked), compute and idle domains destroyed mid-run, on gpu0, gpu1 or
  both; two long-lived compute domains and an idle one run throughout;
* the coprocessors' algorithms change (credit, rr) with new parameters,
  and vcoproc weights change while credit runs;
* control clients connect and drop: before a request, in the middle of a
  line, after a request without reading the reply, after reading half a
  reply, with a too-long line, with pipelined requests; idle connections
  pile up and are dropped together;
* the CLI lists, reads consoles and shows the scheduler.

Checks, as TAP:

* every request the soak expected to succeed did; vcoprocd never died;
* each domain that ended by itself printed "result: pass compute on
  COPROC: N jobs, 0 outstanding, 0 faults" (N > 0) for each vcoproc, and
  the long-lived ones, whose workload ends just after the churn, too;
  no console ever said "device error" or "FAIL";
* no context was reset: the "resets" counter of every coprocessor
  (`vcoproc list --json`) and of every vcoproc seen (`vcoproc-list`) stays
  0, and vcoprocd's log never says one was;
* resources come back: after a warm-up (the first 25% of the time, 3 to
  60 s, the same churn) every domain is destroyed and vcoprocd's RSS,
  open fds and threads are read from /proc; at the end, with every domain
  destroyed again, fds and threads must be equal and RSS within
  max(--rss-bound KiB (default 2048), --rss-slack % (default 10) of the
  warm-up's) of it.  RSS is also sampled at each idle checkpoint in
  between.  vcoprocd runs with glibc set to give freed memory back at
  once (no dynamic mmap threshold, one arena, no thread-stack cache): RSS
  then stays within tens of KiB once warm, where it moves by about 1.5
  MiB otherwise.  In a build with AddressSanitizer the RSS bound is not
  applied (its quarantine holds freed memory on purpose); LeakSanitizer
  checks the heap when vcoprocd exits instead;
* SIGTERM ends vcoprocd with status 0 (under LeakSanitizer: no leak).
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, note, results  # noqa: E402 (tests/tap.py)

DAEMONS = []   # killed whatever happens



def connect(path, timeout):
    """A connected client socket with @timeout.  A socket with a timeout is
    non-blocking underneath, and a Unix socket's connect() then fails with
    EAGAIN while the daemon's listen backlog is full (a busy daemon, not a
    fault): try again until @timeout, as a blocking connect() would wait."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() >= end:
                raise
            time.sleep(0.01)
        except BaseException:
            s.close()
            raise


class Daemon:
    """vcoprocd on system.dtb with a control socket, its output in files."""

    def __init__(self, build, tmp):
        self.exe = os.path.join(build, "host", "vcoprocd")
        self.cli_exe = os.path.join(build, "cli", "vcoproc")
        self.dtb = os.path.join(build, "examples", "system.dtb")
        self.sock = os.path.join(tmp, "vcoprocd.sock")
        self.out_path = os.path.join(tmp, "vcoprocd.out")
        self.err_path = os.path.join(tmp, "vcoprocd.err")
        self.p = None
        # glibc gives freed memory back at once - no dynamic mmap threshold,
        # one arena, no cache of thread stacks - so that RSS follows what
        # vcoprocd holds, not what the allocator keeps for later.
        self.env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536",
                        MALLOC_TRIM_THRESHOLD_="65536", MALLOC_ARENA_MAX="1",
                        GLIBC_TUNABLES="glibc.pthread.stack_cache_size=0")

    def start(self):
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.p = subprocess.Popen([self.exe, "--dtb", self.dtb, "--socket", self.sock,
                                       "--no-echo"], stdout=out, stderr=err,
                                      stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.p.poll() is None:
            with open(self.out_path) as f:
                if f.readline().strip() == "ready":
                    return True
            time.sleep(0.05)
        return False

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, timeout=60):
        """SIGTERM and wait; the exit status (-9 if it had to be killed)."""
        if self.p is None:
            return None
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                return -9
        return self.p.returncode

    def kill(self):
        if self.p is not None and self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def resources(self):
        """(RSS KiB, open fds, threads) of vcoprocd from /proc: the median of
        three readings 0.3 s apart (RSS moves a little as the allocator
        trims and thread stacks are cached)."""
        got = []
        for i in range(3):
            if i:
                time.sleep(0.3)
            got.append(self.resources1())
        return tuple(sorted(x[k] for x in got)[1] for k in range(3))

    def resources1(self):
        pid = self.p.pid
        rss = threads = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        return rss, len(os.listdir("/proc/%d/fd" % pid)), threads

    def is_asan(self):
        with open(self.exe, "rb") as f:
            return b"__asan_init" in f.read()


class Soak:
    def __init__(self, d, tmp, rng):
        self.d, self.tmp, self.rng = d, tmp, rng
        self.failures = []          # (what, detail) of unexpected outcomes
        self.ops = {}               # what -> count
        self.live = {}              # name -> {"kind", "coprocs", "ends", "t"}
        self.seq = 0
        self.algo = {"gpu0": "credit", "gpu1": "rr"}
        self.ended_ok = 0           # domains that ended by themselves and passed
        self.mid_run = 0            # domains destroyed while running
        self.reset_seen = {}        # name -> resets seen in vcoproc-list
        self.idle_conns = []

    # ---- the control socket, two ways ----

    def cli(self, *args, timeout=30):
        p = subprocess.run([self.d.cli_exe, "-S", self.d.sock] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def request(self, execute, arguments=None, timeout=10):
        """One request on a fresh connection: the reply as a dict."""
        msg = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        s = connect(self.d.sock, timeout)
        try:
            s.sendall((json.dumps(msg) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        finally:
            s.close()
        return json.loads(buf.decode())

    def count(self, what):
        self.ops[what] = self.ops.get(what, 0) + 1

    def fail(self, what, detail=""):
        if len(self.failures) < 50:
            self.failures.append((what, str(detail)[-1500:]))

    def expect_ok(self, what, rc_out_err):
        rc, out, err = rc_out_err
        self.count(what)
        if rc != 0:
            self.fail(what, err or out)
        return rc == 0

    # ---- domains ----

    def create(self, kind, coprocs, seconds=0, name=None, weight=None):
        self.seq += 1
        name = name or "s%d" % self.seq
        vc = []
        for c in coprocs:
            w = weight if weight is not None else self.rng.choice([128, 256, 512, 1024])
            vc.append('"%s,weight=%d"' % (c, w) if self.algo[c] == "credit" else '"%s"' % c)
        text = 'name = "%s"\nkernel = "builtin:%s"\nmemory = 16\n' % (name, kind)
        if seconds:
            text += 'extra = "seconds=%d"\n' % seconds
        text += "vcoproc = [ %s ]\n" % ", ".join(vc)
        # Alternately through the CLI (a file) and straight on the socket.
        if self.seq % 2:
            path = os.path.join(self.tmp, name + ".cfg")
            with open(path, "w") as f:
                f.write(text)
            ok = self.expect_ok("create (CLI)", self.cli("create", path))
            os.unlink(path)
        else:
            r = self.request("create", {"config": text, "path": "/soak/%s.cfg" % name})
            self.count("create (socket)")
            ok = "return" in r
            if not ok:
                self.fail("create (socket)", r)
        if ok:
            self.live[name] = {"kind": kind, "coprocs": list(coprocs),
                               "ends": seconds, "t": time.monotonic()}
        return ok

    def console(self, name):
        r = self.request("console-read", {"domain": name, "max": 65536})
        return r.get("return", {}).get("data", "") if "return" in r else None

    def domain_states(self):
        r = self.request("domain-list")
        return {x["name"]: x["state"] for x in r.get("return", [])}

    def vcoproc_resets(self):
        r = self.request("vcoproc-list")
        for v in r.get("return", []):
            n = v["stats"].get("resets", 0)
            if n:
                self.reset_seen[v["domain"]] = max(n, self.reset_seen.get(v["domain"], 0))
        return r

    def check_console(self, name, text, ended):
        """The console of a domain about to go: no error, and its results if it ended."""
        if text is None:
            self.fail("console-read %s" % name)
            return
        if "device error" in text or "FAIL" in text:
            self.fail("%s's console reports an error" % name, text)
        info = self.live[name]
        if not ended or info["kind"] != "compute":
            return
        for c in info["coprocs"]:
            m = re.search(r"^result: pass compute on %s: (\d+) jobs, 0 outstanding, 0 faults$"
                          % c, text, re.M)
            if not m or int(m.group(1)) == 0:
                self.fail("%s on %s: no passing result line" % (name, c), text)
                return
        self.ended_ok += 1

    def destroy(self, name):
        states = self.domain_states()
        ended = states.get(name) == "exited"
        self.check_console(name, self.console(name), ended)
        if self.rng.random() < 0.5:
            ok = self.expect_ok("destroy (CLI)", self.cli("destroy", name))
        else:
            r = self.request("destroy", {"domain": name})
            self.count("destroy (socket)")
            ok = "return" in r
            if not ok:
                self.fail("destroy (socket) %s" % name, r)
        if ok and not ended:
            self.mid_run += 1
        self.live.pop(name, None)

    def destroy_all(self, keep=()):
        for name in list(self.live):
            if name not in keep:
                self.destroy(name)

    # ---- the actions of the churn ----

    def act_create(self):
        if len(self.live) >= 12:
            return self.act_destroy()
        kind = self.rng.choice(["compute", "compute", "compute", "idle"])
        coprocs = self.rng.choice([["gpu0"], ["gpu1"], ["gpu0", "gpu1"]])
        seconds = self.rng.choice([0, 1, 2]) if kind == "compute" else 0
        self.create(kind, coprocs, seconds)

    def act_destroy(self):
        churn = [n for n in self.live if n.startswith("s")]
        if not churn:
            return self.act_create()
        # A domain that ended by itself first, so its result is checked.
        states = self.domain_states()
        done = [n for n in churn if states.get(n) == "exited"]
        self.destroy(self.rng.choice(done or churn))

    def act_sched(self):
        c = self.rng.choice(["gpu0", "gpu1"])
        algo = "rr" if self.algo[c] == "credit" else "credit"
        slice_ms = self.rng.choice([1, 2, 5, 10])
        if algo == "credit":
            args = ("sched-set", c, "--algo", "credit", "slice=%dms" % slice_ms, "ratelimit=1ms")
        else:
            args = ("sched-set", c, "--algo", "rr", "slice=%dms" % slice_ms)
        if self.expect_ok("sched-set", self.cli(*args)):
            self.algo[c] = algo

    def act_weight(self):
        cands = [(n, c) for n, i in self.live.items() for c in i["coprocs"]
                 if self.algo[c] == "credit"]
        states = self.domain_states()
        cands = [(n, c) for n, c in cands if states.get(n) == "running"]
        if not cands:
            return self.act_sched()
        n, c = self.rng.choice(cands)
        w = self.rng.choice([64, 128, 256, 384, 512, 768, 1024])
        rc, out, err = self.cli("vcoproc-set", n, c, "weight=%d" % w)
        self.count("vcoproc-set weight")
        # The domain may have ended between the listing and the change.
        if rc and self.domain_states().get(n) == "running":
            self.fail("vcoproc-set %s %s weight=%d" % (n, c, w), err)

    def act_list(self):
        what = self.rng.choice(["list", "vcoproc-list", "domain-list", "sched-get"])
        args = (what, self.rng.choice(["gpu0", "gpu1"])) if what == "sched-get" else (what,)
        self.expect_ok(what, self.cli(*args, "--json"))
        self.vcoproc_resets()

    def act_client(self):
        """A client that misbehaves or goes away, in one of several ways."""
        how = self.rng.randrange(8)
        self.count("client drop %d" % how)
        s = None
        try:
            s = connect(self.d.sock, 5)
            if how == 0:        # connect, then nothing
                pass
            elif how == 1:      # half a request line
                s.sendall(b'{"execute":"vcoproc-li')
            elif how == 2:      # a request, the reply never read
                s.sendall(b'{"execute":"vcoproc-list"}\n')
            elif how == 3:      # half of a long reply read
                s.sendall(b'{"execute":"trace-export","arguments":{"coproc":"gpu0"}}\n'
                          b'{"execute":"sched-dump","arguments":{"coproc":"gpu0"}}\n')
                s.recv(100)
            elif how == 4:      # pipelined requests, dropped after the first reply
                s.sendall(b'{"execute":"list"}\n{"execute":"domain-list"}\n'
                          b'{"execute":"query-commands"}\n{"execute":"bogus"}\n')
                s.recv(10)
            elif how == 5:      # a too-long line, dropped while it is being sent
                try:
                    s.sendall(b'{"execute":"list","id":"' + b"x" * 70000)
                except OSError:
                    pass
            elif how == 6:      # a bad request, the error read, then gone
                s.sendall(b"this is not json\n")
                s.recv(4096)
            else:               # kept open for a while, dropped with the others
                s.sendall(b'{"execute":"query-version"}\n')
                self.idle_conns.append(s)
                s = None
                if len(self.idle_conns) >= 20:
                    self.drop_idle()
        except OSError as e:
            self.fail("client drop %d" % how, e)
        finally:
            if s is not None:
                s.close()

    def drop_idle(self):
        for s in self.idle_conns:
            s.close()
        self.idle_conns = []

    def act_console(self):
        if self.live:
            name = self.rng.choice(list(self.live))
            self.expect_ok("console", self.cli("console", name, "--no-follow"))

    def act_trace(self):
        c = self.rng.choice(["gpu0", "gpu1"])
        r = self.request("trace-start", {"coproc": c, "capacity": self.rng.choice([64, 4096])})
        self.count("trace")
        if "return" not in r:
            self.fail("trace-start", r)
        if self.rng.random() < 0.5:
            self.request("trace-export", {"coproc": c})
        self.request("trace-stop", {"coproc": c})

    def churn(self, seconds):
        """Random actions, one every 30-150 ms, for @seconds."""
        acts = [(self.act_create, 6), (self.act_destroy, 5), (self.act_sched, 1),
                (self.act_weight, 2), (self.act_list, 2), (self.act_client, 4),
                (self.act_console, 1), (self.act_trace, 1)]
        fns = [f for f, w in acts for _ in range(w)]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.d.alive():
                self.fail("vcoprocd died", "exit status %s" % self.d.p.returncode)
                return False
            self.rng.choice(fns)()
            time.sleep(self.rng.uniform(0.03, 0.15))
        self.drop_idle()
        return True

    def peak(self):
        """Once at the start: the most the churn ever holds at once - 12
        domains on both coprocessors, 20 idle connections with a request
        each, the largest traces - so that the warm-up has seen it."""
        for _ in range(12):
            self.create("compute", ["gpu0", "gpu1"], 0)
        for _ in range(20):
            s = connect(self.d.sock, 10)
            s.sendall(b'{"execute":"vcoproc-list"}\n')
            self.idle_conns.append(s)
        for c in ("gpu0", "gpu1"):
            self.request("trace-start", {"coproc": c, "capacity": 4096})
        time.sleep(1.0)
        for c in ("gpu0", "gpu1"):
            self.request("trace-export", {"coproc": c})
        self.act_list()
        self.drop_idle()
        self.destroy_all()

    def settle(self):
        """Back to no domains, no clients and small traces; let vcoprocd close
        what was dropped."""
        self.destroy_all()
        self.drop_idle()
        for c in ("gpu0", "gpu1"):
            self.request("trace-start", {"coproc": c, "capacity": 64})
            self.request("trace-stop", {"coproc": c})
        # Every domain is gone once domain-list says so; then a moment for the
        # loop to finish closing connections.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.domain_states():
            time.sleep(0.1)
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--rss-bound", type=int, default=2048, metavar="KIB")
    ap.add_argument("--rss-slack", type=float, default=10.0, metavar="PCT")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--checkpoint", type=float, default=30.0, metavar="SECS",
                    help="churn between idle checkpoints (default 30)")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    warm = min(60.0, max(3.0, 0.25 * a.seconds))
    main_s = max(1.0, a.seconds - warm)
    tmp = tempfile.mkdtemp(prefix="vcoproc-soak-")
    d = Daemon(a.build, tmp)
    DAEMONS.append(d)
    note("soak: %.0f s (warm-up %.0f s), seed %d, files in %s" % (a.seconds, warm, seed, tmp))
    if not check(d.start(), "vcoprocd starts and listens"):
        d.kill()
        note(d.log()[-3000:])
        print("1..%d" % len(results))
        return 1
    asan = d.is_asan()
    s = Soak(d, tmp, rng)
    samples = []
    try:
        # Warm-up: the peak, the same churn, then nothing left; the
        # reference sample.
        s.peak()
        s.churn(warm)
        s.settle()
        base = d.resources()
        samples.append(base)
        note("after the warm-up: RSS %d KiB, %d fds, %d threads" % base)

        # Long-lived domains for the whole run, their workload ending just
        # after the churn; checkpoints with only them every 30 s or so.
        ends = int(main_s) + 2
        s.create("compute", ["gpu0", "gpu1"], ends, name="long1", weight=256)
        s.create("compute", ["gpu0"], ends, name="long2", weight=768)
        s.create("idle", ["gpu1"], 0, name="long3")
        t_end = time.monotonic() + main_s
        while time.monotonic() < t_end and s.d.alive():
            if not s.churn(min(a.checkpoint, t_end - time.monotonic())):
                break
            if time.monotonic() < t_end - 5:
                s.destroy_all(keep=("long1", "long2", "long3"))
                s.drop_idle()
                time.sleep(0.3)
                r = d.resources()
                note("checkpoint (3 long-lived domains): RSS %d KiB, %d fds, %d threads" % r)
        # The long-lived workloads end by themselves: wait, then check them.
        deadline = time.monotonic() + 30
        while (d.alive() and time.monotonic() < deadline and
               any(s.domain_states().get(n) != "exited" for n in ("long1", "long2"))):
            time.sleep(0.2)
        for n in ("long1", "long2"):
            st = s.domain_states().get(n) if d.alive() else None
            check(st == "exited", "long-lived %s ended by itself (%s)" % (n, st))
        coprocs = s.request("list")["return"] if d.alive() else []
        s.vcoproc_resets() if d.alive() else None
        s.settle() if d.alive() else None
        end = d.resources() if d.alive() else None
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
        s.fail("the soak's own step", repr(e))
        coprocs, end = [], None
    finally:
        s.drop_idle()
    alive = d.alive()
    check(alive, "vcoprocd ran the whole soak", "" if alive else d.log()[-3000:])
    note("operations: " + ", ".join("%s %d" % kv for kv in sorted(s.ops.items())))
    note("domains: %d created, %d ended by themselves and passed, %d destroyed mid-run" %
         (s.seq + 0, s.ended_ok, s.mid_run))
    check(not s.failures, "every request and console as expected (%d operations)" %
          sum(s.ops.values()),
          "\n".join("%s: %s" % f for f in s.failures[:10]))
    check(s.ended_ok >= 2 + (1 if a.seconds >= 20 else 0),
          "domains that ended by themselves passed, long1 and long2 among them (%d)" %
          s.ended_ok)
    check(s.mid_run >= 1, "domains were destroyed while running (%d)" % s.mid_run)
    resets = {c["id"]: c["stats"]["resets"] for c in coprocs}
    check(coprocs and not any(resets.values()) and not s.reset_seen,
          "no context was reset (coprocessors %s, vcoprocs %s)" % (resets, s.reset_seen or "0"))
    said = [l for l in d.log().splitlines() if "reset" in l.lower()]
    check(not said, "vcoprocd's log says no reset", "\n".join(said[:10]))
    if end is not None:
        note("at the end:         RSS %d KiB, %d fds, %d threads" % end)
        check(end[1] == base[1], "open fds back to the warm-up's (%d -> %d)" % (base[1], end[1]),
              sorted(os.listdir("/proc/%d/fd" % d.p.pid)) if alive else "")
        check(end[2] == base[2], "threads back to the warm-up's (%d -> %d)" % (base[2], end[2]))
        bound = max(a.rss_bound, base[0] * a.rss_slack / 100)
        grow = end[0] - base[0]
        if asan:
            note("RSS bound not applied: an AddressSanitizer build (its quarantine keeps "
                 "freed memory); LeakSanitizer checks at exit")
        else:
            check(grow <= bound, "RSS back within %d KiB of the warm-up's (%+d KiB)" %
                  (bound, grow))
    else:
        check(False, "vcoprocd's resources read at the end")
    rc = d.stop()
    check(rc == 0, "SIGTERM ends vcoprocd with status 0 (%s)" % rc, d.log()[-3000:])
    print("1..%d" % len(results))
    if all(results):
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    else:
        note("vcoprocd's output is in %s" % tmp)
    return 0 if all(results) else 1


def on_term(signum, _frame):
    sys.exit(128 + signum)   # through main()'s finally: vcoprocd is killed


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        for daemon in DAEMONS:
            daemon.kill()
