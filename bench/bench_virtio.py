#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""virtio-crypto benchmark: Linux guests in QEMU (TCG) whose AF_ALG requests
go through vcoprocd's vhost-user backend (host/vhost/crypto.c) or QEMU's
built-in cryptodev backend (docs/linux-guest.md).  Everything it prints is
measured in this run; a missed target is printed as MISSED and the exit
status stays 0 (a benchmark, not a test).

    bench_virtio.py [BUILD] [--rounds N] [--seconds S]

  throughput  one guest, `bench S SIZE` (AES-CBC encrypt, one request at a
              time), 4 KiB and 64 KiB: vcoprocd's backend (gpu0 of
              system.dtb: simcp at 1 GB/s of AES) against QEMU's built-in
              one, one boot per run, N rounds interleaved (A B, then B A,
              ...) so that the machine's noise falls on both alike; the best
              run of each.  Target: vcoprocd >= 0.9x built-in.
  latency     what the backend adds per request, host side: the domain's
              console line when the frontend goes ("backend p50/p99": pop to
              doorbell plus completion to used entry; "device and
              scheduling": the device's part in between), for each size;
              the median over the rounds.
  sharing     three guests, each `loop` with 4 processes (4 KiB requests,
              encrypt and decrypt-verify), sharing gpu0 against one alone:
              requests completed (the vcoproc's interrupts: one per
              request) over windows while every guest is busy, as MB/s.
              Then on crypto0 of crypto.dtb (8 MB/s of AES), credit weights
              1:2:4: each one's share of the device's run time (run_ns
              deltas from `vcoproc-list --json`) over windows while all
              three are busy, against 1/7, 2/7, 4/7.  Target: within 3%
              (relative) of the weight's share, as `make demo` checks.

Skips (prints "skipped: REASON", exit 0) where qemu-system-x86_64, the
guest's kernel package, afalg_test or vcoprocd cannot be had.  Every QEMU
run is bounded by a timeout; every process it starts is stopped at the end.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(SRC, "tools", "linux-guest", "linux-guest.py")
SKIP = 77
SIZES = (4096, 65536)
WEIGHTS = (256, 512, 1024)          # 1:2:4
SHARE_TOL = 0.03                    # relative, as make demo
RATIO_TARGET = 0.9
WEIGHT_JOBS = 8                     # afalg_test loop processes per guest on crypto0

RESULT_RE = re.compile(r"^result: (ok|FAIL) (\S+) (.*)$", re.M)
LAT_RE = re.compile(r"latency over the last (\d+) requests: backend p50 ([\d.]+) us p99 "
                    r"([\d.]+) us, device and scheduling p50 ([\d.]+) us p99 ([\d.]+) us")

procs = []          # everything started here, stopped in cleanup()


def say(msg=""):
    print(msg, flush=True)


class BenchError(Exception):
    pass


def stop(p, sig=signal.SIGTERM, wait=10):
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in procs:
        procs.remove(p)


def cleanup():
    for p in list(procs):
        stop(p)


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


class Daemon:
    """vcoprocd with a system device tree and a control socket, in TMP."""

    def __init__(self, build, dtb, tmp, tag):
        self.build, self.tmp, self.tag = build, tmp, tag
        self.sock = os.path.join(tmp, "%s.sock" % tag)
        self.cli = os.path.join(build, "cli", "vcoproc")
        exe = os.path.join(build, "host", "vcoprocd")
        if not os.path.exists(exe):
            exe = os.path.join(build, "host", "kvm", "vcoprocd")
        self.log = open(os.path.join(tmp, "%s.log" % tag), "w")
        self.p = subprocess.Popen([exe, "--dtb", dtb, "--socket", self.sock, "--no-echo"],
                                  stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT)
        procs.append(self.p)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise BenchError("vcoprocd --dtb %s did not start (see %s)"
                                 % (dtb, self.log.name))
            time.sleep(0.05)

    def ctl(self, *args):
        p = subprocess.run([self.cli, "-S", self.sock] + list(args), capture_output=True,
                           text=True, timeout=30)
        if p.returncode:
            raise BenchError("vcoproc %s: %s" % (" ".join(args), (p.stderr or p.stdout).strip()))
        return p.stdout

    def create(self, name, vcoproc):
        """A vhost-user domain NAME on VCOPROC ("gpu0,weight=512"); its socket."""
        sock = os.path.join(self.tmp, "%s.vu" % name)
        cfg = os.path.join(self.tmp, "%s.cfg" % name)
        with open(cfg, "w") as f:
            f.write('name = "%s"\ntype = "vhost-user"\nvirtio = [ "type=crypto,socket=%s" ]\n'
                    'vcoproc = [ "%s" ]\n' % (name, sock, vcoproc))
        self.ctl("create", cfg)
        return sock

    def latency_lines(self, dom):
        return LAT_RE.findall(self.ctl("console", dom, "--no-follow"))

    def stats(self):
        """{domain: stats} and the time it was taken."""
        t0 = time.monotonic()
        out = self.ctl("vcoproc-list", "--json")
        t = (t0 + time.monotonic()) / 2
        return t, {v["domain"]: v["stats"] for v in json.loads(out)}

    def close(self):
        stop(self.p)
        self.log.close()


class Guest:
    """One linux-guest.py run (QEMU bounded by --timeout), its output in a file."""

    def __init__(self, build, tmp, tag, backend, steps, timeout):
        self.out_path = os.path.join(tmp, "%s.out" % tag)
        self.timeout = timeout
        self.out = open(self.out_path, "w")
        self.p = subprocess.Popen(
            [sys.executable, TOOL, "run", build, "--quiet", "--timeout", str(timeout),
             "--backend", backend, "--log", os.path.join(tmp, "%s.console" % tag), "--"] +
            [str(s) for s in steps],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)
        procs.append(self.p)

    def wait(self):
        try:
            rc = self.p.wait(timeout=self.timeout + 40)
        except subprocess.TimeoutExpired:
            rc = None
        stop(self.p)
        return rc

    def text(self):
        self.out.flush()
        with open(self.out_path) as f:
            return f.read()

    def results(self):
        return RESULT_RE.findall(self.text())

    def running(self):
        return self.p.poll() is None


def field(rest, key):
    m = re.search(r"\b%s=([\d.]+)" % re.escape(key), rest)
    return float(m.group(1)) if m else None


def fail_detail(g):
    lines = [ln for ln in g.text().splitlines() if ln.strip()]
    return " | ".join(lines[-3:])


def bench_run(build, tmp, tag, backend, size, seconds):
    """One boot, `bench SECONDS SIZE`: MB/s."""
    g = Guest(build, tmp, tag, backend, ["bench", seconds, size], timeout=60 + 3 * seconds)
    rc = g.wait()
    res = [r for r in g.results() if r[1] == "bench"]
    if rc == SKIP:
        raise SkipBench("the guest cannot run here: " + fail_detail(g))
    if rc != 0 or not res or res[0][0] != "ok":
        raise BenchError("%s: %s bench %d: exit %s: %s" % (tag, backend, size, rc,
                                                           fail_detail(g)))
    return field(res[0][2], "MB/s")


class SkipBench(Exception):
    pass


def fmt_ratio(r, target):
    return "%.2fx (target >= %.1fx: %s)" % (r, target, "met" if r >= target else "MISSED")


def throughput_latency(build, tmp, d, sock, rounds, seconds):
    vu = "vhost-user:" + sock
    runs = {(s, b): [] for s in SIZES for b in ("vcoproc", "builtin")}
    lats = {s: [] for s in SIZES}
    for r in range(rounds):
        for size in SIZES:
            order = ("vcoproc", "builtin") if r % 2 == 0 else ("builtin", "vcoproc")
            for b in order:
                before = len(d.latency_lines("lin1"))
                mbs = bench_run(build, tmp, "r%d-%d-%s" % (r, size, b),
                                vu if b == "vcoproc" else "builtin", size, seconds)
                runs[(size, b)].append(mbs)
                if b == "vcoproc":
                    # The line comes when the backend sees the frontend go.
                    deadline = time.monotonic() + 10
                    lines = d.latency_lines("lin1")
                    while len(lines) <= before and time.monotonic() < deadline:
                        time.sleep(0.2)
                        lines = d.latency_lines("lin1")
                    if len(lines) > before:
                        lats[size].append(tuple(float(x) for x in lines[-1]))
                say("  round %d  %5d B  %-8s %7.1f MB/s" % (r + 1, size, b, mbs))
    say()
    say("AF_ALG throughput, one guest, `bench %g SIZE` (encrypt, one request at a time), "
        "best of %d boots each, interleaved:" % (seconds, rounds))
    ratios = {}
    for size in SIZES:
        a, b = runs[(size, "vcoproc")], runs[(size, "builtin")]
        ratios[size] = max(a) / max(b) if max(b) else 0.0
        say("  %2d KiB  vcoprocd %6.1f MB/s  built-in %6.1f MB/s  ratio %s   (medians %.1f / "
            "%.1f = %.2fx)" % (size // 1024, max(a), max(b), fmt_ratio(ratios[size], RATIO_TARGET),
                              statistics.median(a), statistics.median(b),
                              statistics.median(a) / statistics.median(b)))
    say()
    say("Latency vcoprocd's backend adds per request, host side (median over %d runs of the "
        "console's p50/p99 over the last requests of each run):" % rounds)
    for size in SIZES:
        ls = lats[size]
        if not ls:
            say("  %2d KiB  no latency line on the domain's console" % (size // 1024))
            continue
        med = [statistics.median(x[i] for x in ls) for i in range(5)]
        per_req = size / (max(runs[(size, "vcoproc")]) * 1e6) * 1e6
        say("  %2d KiB  backend p50 %6.1f us  p99 %6.1f us   device and scheduling p50 %6.1f us "
            " p99 %7.1f us   (%d requests; per request in the guest %.0f us)"
            % (size // 1024, med[1], med[2], med[3], med[4], int(med[0]), per_req))
    say()
    return ratios, lats


def wait_all_busy(d, doms, guests, deadline):
    """Until every domain in DOMS completed requests over 2 polls in a row."""
    t, prev = d.stats()
    streak = 0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if any(not g.running() for g in guests):
            return False
        t, cur = d.stats()
        busy = all(dom in cur and dom in prev and cur[dom]["irqs"] > prev[dom]["irqs"]
                   for dom in doms)
        streak = streak + 1 if busy else 0
        prev = cur
        if streak >= 2:
            return True
    return False


def measure_windows(d, doms, guests, n, secs, settle_deadline):
    """N windows of SECS while all DOMS are busy: [(dt, {dom: (d run_ns, d irqs)})]."""
    if not wait_all_busy(d, doms, guests, settle_deadline):
        for g in guests:
            if not g.running():
                raise BenchError("a guest ended before all were busy: exit %s: %s"
                                 % (g.p.returncode, fail_detail(g)))
        raise BenchError("the guests were not all busy within the time allowed")
    out = []
    t0, s0 = d.stats()
    for _ in range(n):
        time.sleep(secs)
        t1, s1 = d.stats()
        delta = {dom: (s1[dom]["run_ns"] - s0[dom]["run_ns"], s1[dom]["irqs"] - s0[dom]["irqs"])
                 for dom in doms}
        if any(v[1] <= 0 for v in delta.values()):
            raise BenchError("a guest stopped sending requests during the window")
        out.append((t1 - t0, delta))
        t0, s0 = t1, s1
    return out


def run_guests(build, tmp, tag, socks, steps, timeout):
    return [Guest(build, tmp, "%s-%d" % (tag, i + 1), "vhost-user:" + s, steps, timeout)
            for i, s in enumerate(socks)]


def end_guests(guests):
    """Stop the guests (their loops run longer than needed); any that failed?"""
    bad = []
    for g in guests:
        if g.p.poll() is not None and g.p.returncode != 0:
            bad.append(g)
        stop(g.p)
    for g in guests:
        if any(r[0] != "ok" for r in g.results()):
            bad.append(g)
    return bad


def sharing(build, tmp, d, socks, windows, wsecs, loop_s):
    steps = ["loop", loop_s, 4096, 4]
    res = {}
    for label, doms in (("alone", ["lin1"]), ("three", ["lin1", "lin2", "lin3"])):
        guests = run_guests(build, tmp, "share-" + label, [socks[x] for x in doms], steps,
                            loop_s + 60)
        try:
            w = measure_windows(d, doms, guests, windows, wsecs, time.monotonic() + 60)
        finally:
            bad = end_guests(guests)
        if bad:
            raise BenchError("a guest's loop failed: %s" % fail_detail(bad[0]))
        dt = sum(x[0] for x in w)
        per = {dom: sum(x[1][dom][1] for x in w) * 4096 / dt / 1e6 for dom in doms}
        res[label] = (sum(per.values()), per, dt)
    a, t = res["alone"], res["three"]
    say("Three guests sharing gpu0 (system.dtb, credit, equal weights) against one alone: "
        "`loop` with 4 processes each, 4 KiB, requests completed over %d windows of %g s "
        "while every guest was busy:" % (windows, wsecs))
    say("  1 guest alone:    %6.1f MB/s" % a[0])
    say("  3 guests at once: %6.1f MB/s aggregate (%s)" % (
        t[0], ", ".join("%s %.1f" % (k, v) for k, v in t[1].items())))
    say("  aggregate ratio %.2fx" % (t[0] / a[0] if a[0] else 0))
    say()
    return t[0] / a[0] if a[0] else 0.0


def weighted(build, tmp, windows, wsecs, loop_s):
    dtb = os.path.join(build, "examples", "crypto.dtb")
    d = Daemon(build, dtb, tmp, "crypto")
    try:
        doms = ["w%d" % (i + 1) for i in range(3)]
        socks = [d.create(dom, "crypto0,weight=%d" % w) for dom, w in zip(doms, WEIGHTS)]
        guests = run_guests(build, tmp, "weights", socks, ["loop", loop_s, 4096, WEIGHT_JOBS],
                            loop_s + 60)
        try:
            w = measure_windows(d, doms, guests, windows, wsecs, time.monotonic() + 60)
        finally:
            bad = end_guests(guests)
        if bad:
            raise BenchError("a guest's loop failed: %s" % fail_detail(bad[0]))
    finally:
        d.close()
    total_w = sum(WEIGHTS)
    say("Shares of crypto0 (crypto.dtb: simcp at 8 MB/s of AES, credit) under weights 1:2:4, "
        "`loop` with %d processes each, 4 KiB; run_ns over %d windows of %g s while all three "
        "were busy:" % (WEIGHT_JOBS, windows, wsecs))
    worst = 0.0
    tot = {dom: 0 for dom in doms}
    for i, (dt, delta) in enumerate(w):
        run = sum(v[0] for v in delta.values())
        for dom in doms:
            tot[dom] += delta[dom][0]
        say("  window %d (%.2f s, device busy %3.0f%%): %s" % (
            i + 1, dt, 100.0 * run / (dt * 1e9), "  ".join(
                "%s %5.1f%%" % (dom, 100.0 * delta[dom][0] / run) for dom in doms)))
    run = sum(tot.values())
    mbs = sum(sum(x[1][dom][1] for x in w) for dom in doms) * 4096 / sum(x[0] for x in w) / 1e6
    for dom, wt in zip(doms, WEIGHTS):
        exp = wt / total_w
        got = tot[dom] / run
        dev = got / exp - 1
        worst = max(worst, abs(dev))
        say("  %s weight %4d: share %5.1f%%, expected %5.1f%% (%d/7), off %+5.1f%%" % (
            dom, wt, 100 * got, 100 * exp, wt // WEIGHTS[0], 100 * dev))
    say("  target: every share within %.0f%% of its weight's share: %s (worst %.1f%%); "
        "%.1f MB/s in all" % (100 * SHARE_TOL, "met" if worst <= SHARE_TOL else "MISSED",
                              100 * worst, mbs))
    say()
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default="build", help="the meson build directory")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--seconds", type=float, default=3, help="seconds per bench run (3)")
    ap.add_argument("--windows", type=int, default=3, help="share windows (3)")
    ap.add_argument("--window", type=float, default=2, help="seconds per window (2)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    qemu = os.environ.get("VCOPROC_QEMU", "qemu-system-x86_64")
    why = None
    if not shutil.which(qemu):
        why = "no %s here (Debian: qemu-system-x86)" % qemu
    elif not os.path.exists(os.path.join(build, "guest", "linux", "afalg_test")):
        why = "no %s/guest/linux/afalg_test (built on x86-64 Linux only)" % args.build
    elif not (os.path.exists(os.path.join(build, "host", "vcoprocd")) or
              os.path.exists(os.path.join(build, "host", "kvm", "vcoprocd"))):
        why = "no vcoprocd in %s/host" % args.build
    if why:
        say("bench-virtio: skipped: " + why)
        return 0
    t_start = time.monotonic()
    p = subprocess.run([sys.executable, TOOL, "build", build], capture_output=True, text=True,
                       timeout=900)
    if p.returncode == SKIP:
        last = (p.stdout.strip().splitlines() or ["the kernel package cannot be had"])[-1]
        say("bench-virtio: skipped: %s" % last.replace("linux-guest: skipped: ", ""))
        return 0
    if p.returncode:
        say("bench-virtio: FAILED: linux-guest.py build: %s" % (p.stdout + p.stderr).strip())
        return 1

    tmp = tempfile.mkdtemp(prefix="bench-virtio-")
    loop_s = 120  # stopped as soon as the windows are measured
    say("bench-virtio: Linux guests (QEMU TCG, -smp 1, microvm) on virtio-crypto; %d CPUs, "
        "load %.1f" % (os.cpu_count(), os.getloadavg()[0]))
    say()
    try:
        d = Daemon(build, os.path.join(build, "examples", "system.dtb"), tmp, "system")
        try:
            socks = {n: d.create(n, "gpu0") for n in ("lin1", "lin2", "lin3")}
            ratios, _ = throughput_latency(build, tmp, d, socks["lin1"], args.rounds,
                                           args.seconds)
            agg = sharing(build, tmp, d, socks, args.windows, args.window, loop_s)
        finally:
            d.close()
        worst = weighted(build, tmp, args.windows, args.window, loop_s)
    except SkipBench as e:
        say("bench-virtio: skipped: %s" % e)
        return 0
    except BenchError as e:
        say("bench-virtio: FAILED: %s (files in %s)" % (e, tmp))
        return 1
    finally:
        cleanup()
    say("bench-virtio: 4 KiB %.2fx %s, 64 KiB %.2fx %s (target >= %.1fx); 3 guests/1 "
        "aggregate %.2fx; weighted shares worst %.1f%% off (%s); %.0f s" % (
            ratios[4096], "met" if ratios[4096] >= RATIO_TARGET else "MISSED",
            ratios[65536], "met" if ratios[65536] >= RATIO_TARGET else "MISSED", RATIO_TARGET,
            agg, 100 * worst, "met" if worst <= SHARE_TOL else "MISSED",
            time.monotonic() - t_start))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
