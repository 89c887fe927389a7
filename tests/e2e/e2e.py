#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of vcoprocd: real guests on Linux KVM.

usage: e2e.py CASE VCOPROCD GUEST_DIR

Each case boots guest images (GUEST_DIR/NAME.elf) with vcoprocd and checks
what the guests print on their consoles, their exit statuses, the host's
summary (its --json file: verdicts, the framework's statistics over the
whole run and over the busy window, the host's own counters) and its exit
status.  When KVM cannot be used here (no /dev/kvm, no permission,
KVM_CREATE_VM failing) the case prints why and exits 77, which meson
reports as skipped.

Checks on shares are loose on purpose: the guests' CPUs are emulated on
some machines (a software KVM) and the tests may share two cores with
others, so a case checks that each algorithm does what it promises, not
how precisely (make demo checks credit to 3%).
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

# The hostile guests' attacks come from a seed: a fixed one, so that every
# run (and CI) attacks the same way; VCOPROC_E2E_SEED=N tries others.
# (Seed 191054666 makes the ring-garbage guest fail its own final check;
# not yet understood, see docs/kvm-host.md.)
DEFAULT_SEED = 2026

SKIP = 77


class Run:
    """One vcoprocd run: exit status, stdout (consoles), stderr (host), summary."""

    def __init__(self, rc, out, err, log_dir):
        self.rc, self.out, self.err, self.log_dir = rc, out, err, log_dir
        try:
            with open(os.path.join(log_dir, "summary.json")) as f:
                self.json = json.load(f)
        except (OSError, ValueError):
            self.json = None

    def console(self, dom):
        """The domain's console lines, from its log file."""
        with open(os.path.join(self.log_dir, dom + ".log")) as f:
            return f.read().splitlines()

    def tables(self):
        """The periodic tables: a list of {domain: {state, share, jobs, ...}},
        the interval's figures first, then those since the start."""
        tables, cur = [], None
        for line in self.err.splitlines():
            if re.match(r"^vcoprocd: t=[\d.]+s ", line):
                cur = {}
                tables.append(cur)
                continue
            m = re.match(r"^\s+(\S+)\s+(\S+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+) \|\s+([\d.]+)"
                         r"\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", line)
            if cur is not None and m:
                cur[m.group(1)] = {"state": m.group(2), "share": float(m.group(3)),
                                   "djobs": int(m.group(4)), "dswitches": int(m.group(5)),
                                   "drefusals": int(m.group(6)), "total": float(m.group(7)),
                                   "jobs": int(m.group(8))}
            elif not re.match(r"^\s+domain\s+state\s", line):
                cur = None
        return tables

    def summary(self):
        """{domain: {verdict, status, share, window_share, expected, jobs, ...}}."""
        rows = {}
        for d in (self.json or {}).get("domains", []):
            s = d["stats"]
            rows[d["name"]] = dict(d, expected=d["expected_share"], jobs=s["jobs"],
                                   switches=s["switches_in"], refusals=s["refusals"],
                                   irqs=s["irqs"], mmio=d["host"]["mmio_exits"])
        return rows

    def window(self):
        return (self.json or {}).get("window", {})


class Failed(Exception):
    pass


def check(cond, what, run=None):
    if not cond:
        if run is not None:
            sys.stderr.write("--- vcoprocd stdout ---\n%s--- vcoprocd stderr ---\n%s"
                             % (run.out, run.err))
        raise Failed(what)


class StallWatch:
    """The longest time this machine did not run us while vcoprocd ran: a thread
    that sleeps 10 ms at a time and keeps its longest oversleep.  On a loaded
    machine, and above all in the emulated VM (one QEMU process the machine
    deschedules as a whole), every thread of vcoprocd stops with it while the
    device's clock runs on, and the domain holding the device is charged the
    whole stall."""

    TICK = 0.01

    def __init__(self):
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        t = time.monotonic()
        while not self._stop.wait(self.TICK):
            now = time.monotonic()
            self.longest = max(self.longest, now - t - self.TICK)
            t = now

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.longest


def vcoprocd(ctx, args, timeout):
    log_dir = tempfile.mkdtemp(prefix="vcoprocd-e2e-")
    atexit.register(shutil.rmtree, log_dir, True)
    cmd = [ctx["vcoprocd"], "--log-dir", log_dir,
           "--json", os.path.join(log_dir, "summary.json")] + args
    print("$ " + " ".join(cmd))
    watch = StallWatch()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failed("vcoprocd did not finish within %d s" % timeout) from e
    finally:
        ctx["stall"] = max(ctx.get("stall", 0.0), watch.stop())
    return Run(p.returncode, p.stdout, p.stderr, log_dir)


# A stall this long moves a 3 s busy window's shares by several percent:
# a case measuring shares whose run had one is measured once more.
STALL_S = 0.1


def remeasure_after_stall(case):
    """Run the share-measuring @case; if a check fails and the run had a stall
    of STALL_S or more (StallWatch), say so and run it once more: that
    measurement, not the first, decides."""
    def run(ctx):
        ctx["stall"] = 0.0
        try:
            case(ctx)
        except Failed as e:
            if ctx["stall"] < STALL_S:
                raise
            print("%s; but the run stalled for %.0f ms (the machine did not run it): "
                  "measuring once more" % (e, ctx["stall"] * 1000))
            ctx["stall"] = 0.0
            case(ctx)
    run.__doc__ = case.__doc__
    return run


def image(ctx, name):
    return os.path.join(ctx["guest_dir"], name + ".elf")


def result_fields(result):
    """'result: hash ok jobs=3 irqs=4 ...' -> {'jobs': 3, 'irqs': 4, ...} (ints where
    they are)."""
    out = {}
    for k, v in re.findall(r"(\w+)=(\S+)", result):
        m = re.match(r"^(\d+)(us)?$", v)
        out[k] = int(m.group(1)) if m else v
    return out


def all_pass(r, names):
    s = r.summary()
    for name in names:
        check(s.get(name, {}).get("verdict") == "pass", "%s: %r" % (name, s.get(name)), r)
    return s


def window_shares(r, names):
    """Each domain's share of the device over the busy window."""
    w = r.window()
    check(w.get("seconds", 0) >= 1.0, "busy window too short: %r" % w, r)
    s = r.summary()
    return {n: s[n]["window_share"] for n in names}


def near(got, want, tol):
    return abs(got - want) <= tol * want


# Set by tools/kvm-vm's /init: this runs in a software-emulated VM (QEMU's
# TCG emulating AMD SVM), on a KVM that is itself nested under emulation.
IN_EMULATED_VM = os.environ.get("VCOPROC_IN_VM") == "1"


def extra_irqs(f, raised):
    """How many more interrupts the guest took (its result's irqs=, every run of
    its handler) than the host raised for it; 0 if no more.  On KVM that must
    be 0: each irqfd signal is one edge on an edge-triggered IOAPIC input,
    delivered at most once.  In the emulated VM with more than one CPU
    (docs/kvm-host.md, "KVM where the machine has none"), the emulated SVM
    now and then delivers an interrupt the guest has already taken a second
    time; the guest's handler then finds nothing pending and counts the run
    as spurious.  There, extra runs that each found nothing pending are the
    emulation's and not counted; every run that found work still must have
    been raised for this guest (and the idle domain still must see none)."""
    extra = f.get("irqs", 0) - raised
    if extra > 0 and IN_EMULATED_VM:
        extra -= min(extra, f.get("spurious", 0))
    return max(extra, 0)


# ---- cases ------------------------------------------------------------------------


def case_hello(ctx):
    """One domain boots, prints through its UART and passes."""
    r = vcoprocd(ctx, ["--domain", "kernel=%s,name=h1,memory=16" % image(ctx, "hello"),
                       "--interval", "0"], 30)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    con = r.console("h1")
    check(any(l.startswith("hello from domain 1 (h1)") for l in con),
          "no greeting on the console: %r" % con, r)
    check("[h1] result: hello status=0 cpus=1 apic=0" in r.out.splitlines(),
          "console not echoed", r)
    s = r.summary()
    check(s.get("h1", {}).get("verdict") == "pass", "summary: %r" % s, r)
    check(re.search(r"^\s+h1\s+pass\s+0\s", r.err, re.M), "no summary table on stderr", r)


def case_status(ctx):
    """A guest's failure status reaches the host, which fails; another passes."""
    r = vcoprocd(ctx, ["--domain", "kernel=%s,name=bad,cmdline=status=7" % image(ctx, "hello"),
                       "--domain", "kernel=%s,name=good" % image(ctx, "hello"),
                       "--interval", "0", "--no-echo"], 30)
    check(r.rc == 1, "vcoprocd exit status %d, not 1" % r.rc, r)
    s = r.summary()
    check(s.get("bad", {}).get("verdict") == "fail" and s["bad"]["status"] == 7,
          "summary of bad: %r" % s.get("bad"), r)
    check(s.get("good", {}).get("verdict") == "pass", "summary of good: %r" % s.get("good"), r)
    check(r.out == "", "--no-echo still echoed: %r" % r.out, r)


def case_hash(ctx):
    """One domain streams buffers through simcp's HASH command; every result is
    checked in the guest; completions arrive as interrupts."""
    r = vcoprocd(ctx, ["--domain", "kernel=%s,name=h" % image(ctx, "hash"),
                       "--seconds", "2", "--interval", "0"], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = r.summary().get("h", {})
    check(s.get("verdict") == "pass", "summary: %r" % s, r)
    m = re.search(r"result: hash ok jobs=(\d+) .* irqs=(\d+)", s.get("result", ""))
    check(m and int(m.group(1)) >= 50, "too few jobs checked: %r" % s.get("result"), r)
    check(int(m.group(2)) > 0 and s["irqs"] > 0, "no interrupt reached the guest", r)
    check(s["mmio"] > 0 and s["jobs"] > int(m.group(1)), "framework counters: %r" % s, r)


def four(ctx, algo, doms, extra, seconds=3):
    """Four (or so) hash domains, device-bound (each job carries device-only
    COMPUTE in short commands), under @algo.  @doms: {name: scheduling params}."""
    args = ["--algo", algo, "--seconds", str(seconds), "--interval", "0.5",
            "--no-echo"] + extra
    for name, params in doms.items():
        args += ["--domain", "kernel=%s,name=%s,memory=16,cmdline=size=4K bufs=16 "
                 "compute=10ms chunk=2500us%s" % (image(ctx, "hash"), name,
                                                  "," + params if params else "")]
    r = vcoprocd(ctx, args, 90)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, doms)
    for name in doms:
        check(s[name]["switches"] > 0 and s[name]["irqs"] > 0,
              "%s was never switched in: %r" % (name, s[name]), r)
        f = result_fields(s[name]["result"])
        check(f.get("foreign") == 0 and f.get("unknown") == 0, "%s: %r" % (name, f), r)
    return r


@remeasure_after_stall
def case_four_credit(ctx):
    """credit 1:1:2:4: over the busy window each domain's share of the device
    follows its weight; register accesses both emulated and forwarded."""
    weights = {"w1a": 256, "w1b": 256, "w2": 512, "w4": 1024}
    r = four(ctx, "credit", {n: "weight=%d" % w for n, w in weights.items()}, [])
    shares = window_shares(r, weights)
    for name, w in weights.items():
        want = w / sum(weights.values())
        print("%s: window share %.4f, expected %.4f" % (name, shares[name], want))
        check(near(shares[name], want, 0.2), "%s: share %.4f, expected %.4f"
              % (name, shares[name], want), r)
        check(r.summary()[name]["expected"] == want, "vcoprocd's expected share", r)
    m = re.search(r"mmio (\d+) emulated / (\d+) forwarded", r.err)
    check(m and int(m.group(1)) > 0 and int(m.group(2)) > 0,
          "no emulated or no forwarded register access", r)
    # The periodic table: every 0.5 s, every domain, interval and cumulative figures.
    t = [x for x in r.tables() if len(x) == len(weights)]
    check(len(t) >= 4, "fewer than 4 periodic tables: %d" % len(t), r)
    check(sum(x["w4"]["djobs"] for x in t) <= t[-1]["w4"]["jobs"], "table deltas", r)


@remeasure_after_stall
def case_four_rr(ctx):
    """rr: four equal domains get equal shares over the busy window."""
    names = ["r1", "r2", "r3", "r4"]
    r = four(ctx, "rr", {n: "" for n in names}, [])
    shares = window_shares(r, names)
    for name in names:
        print("%s: window share %.4f, expected 0.25" % (name, shares[name]))
        check(near(shares[name], 0.25, 0.2), "%s: share %.4f" % (name, shares[name]), r)


@remeasure_after_stall
def case_four_rtds(ctx):
    """rtds: an admitted set of budgets every 100 ms period (10, 10, 20, 30 ms;
    each job's commands last at most 2.5 ms, so --max-nonpreempt 2.5ms): no
    deadline miss over the busy window, and each domain gets about its
    budget's fraction of the device (rtds gives nobody more)."""
    budgets = {"t1": 10, "t2": 10, "t3": 20, "t4": 30}
    r = four(ctx, "rtds", {n: "budget=%dms,period=100ms" % b for n, b in budgets.items()},
             ["--max-nonpreempt", "2500us"])
    w = r.window()
    s = r.summary()
    for name, b in budgets.items():
        ws = s[name]["window_stats"]
        util = ws["run_ns"] / 1e9 / w["seconds"]
        print("%s: device %.3f of the window (budget %.2f), %d deadline misses"
              % (name, util, b / 100, ws["deadline_misses"]))
        check(ws["deadline_misses"] == 0, "%s missed deadlines: %r" % (name, ws), r)
        check(near(util, b / 100, 0.25), "%s: %.3f of the device, budget %.2f"
              % (name, util, b / 100), r)


@remeasure_after_stall
def case_four_arinc653(ctx):
    """arinc653: a 100 ms frame of windows 10, 10, 20, 40 ms and 20 ms idle:
    each domain gets its windows' fraction of the device over the busy window,
    and the device idles in the idle window even though everybody has work."""
    windows = {"a1": 10, "a2": 10, "a3": 20, "a4": 40}
    frame = ",".join("%s:%dms" % (n, ms) for n, ms in windows.items()) + ",idle:20ms"
    r = four(ctx, "arinc653", {n: "" for n in windows}, ["--param", "frame=" + frame])
    w = r.window()
    s = r.summary()
    used = 0
    for name, ms in windows.items():
        ws = s[name]["window_stats"]
        util = ws["run_ns"] / 1e9 / w["seconds"]
        used += util
        print("%s: device %.3f of the window (its windows %.2f), jitter max %d us"
              % (name, util, ms / 100, ws["jitter_max_ns"] // 1000))
        check(near(util, ms / 100, 0.25), "%s: %.3f of the device, windows %.2f"
              % (name, util, ms / 100), r)
        check(near(s[name]["window_share"], ms / 80, 0.2), "%s: share" % name, r)
    check(used <= 0.9, "the idle window was given away: %.3f of the device used" % used, r)


def case_doorbell(ctx):
    """A domain rings its doorbell while another domain's context holds the
    device: the write reaches its saved context (emulated), wakes it, and its
    work completes.  'hog' keeps the device busy; 'late' does fence round
    trips with 20 ms pauses, long enough to lose the device in between."""
    r = vcoprocd(ctx, ["--seconds", "3", "--interval", "0", "--no-echo",
                       "--domain", "kernel=%s,name=hog,memory=16,cmdline=size=4K bufs=16 "
                       "compute=20ms chunk=5ms" % image(ctx, "hash"),
                       "--domain", "kernel=%s,name=late,memory=16,cmdline=gap=20ms"
                       % image(ctx, "latency")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, ["hog", "late"])
    late = s["late"]
    f = result_fields(late["result"])
    print("late: %s; doorbells emulated %d, forwarded %d" %
          (late["result"], late["host"]["doorbells_emulated"],
           late["host"]["doorbells_forwarded"]))
    check(f.get("rounds", 0) >= 20, "too few round trips: %r" % late["result"], r)
    # Doorbells (RING_TAIL writes) the framework emulated on the saved context.
    check(late["host"]["doorbells_emulated"] >= 5,
          "no doorbell of 'late' reached its saved context: %r" % late["host"], r)
    check(late["stats"]["mmio_emulated"] >= late["host"]["doorbells_emulated"],
          "framework's emulated count below the emulated doorbells", r)
    check(late["stats"]["wakeups"] >= f["rounds"] // 2, "its doorbells did not wake it", r)
    check(late["stats"]["switches_in"] >= 5, "'late' was not switched back in", r)


def case_irqroute(ctx):
    """Interrupts reach the right domain only.  Three hash domains and an idle
    one (its driver set up, never any work): every guest counts completions
    carrying a fence it never emitted (foreign) and interrupts on vectors it
    never asked for (unknown) - none allowed; the idle guest fails on any
    coprocessor interrupt.  On the host, each domain's irqfd signals equal the
    interrupts the framework raised for its vcoproc, add up to the
    coprocessor's, and are no more than the guest's interrupting fences."""
    busy = ["i1", "i2", "i3"]
    args = ["--seconds", "2.5", "--interval", "0", "--no-echo"]
    for name in busy:
        args += ["--domain", "kernel=%s,name=%s,memory=16,cmdline=size=4K bufs=8 compute=2ms"
                 % (image(ctx, "hash"), name)]
    args += ["--domain", "kernel=%s,name=idle,memory=16,cmdline=rounds=0"
             % image(ctx, "latency"),
             "--domain", "kernel=%s,name=none,memory=16,vcoproc=no" % image(ctx, "hello")]
    r = vcoprocd(ctx, args, 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, busy + ["idle", "none"])
    total = 0
    for name in busy + ["idle"]:
        d = s[name]
        f = result_fields(d["result"])
        raised = d["host"]["irqs_raised"]
        total += raised
        print("%s: framework %d, irqfd %d, guest %d interrupts; jobs %s" %
              (name, d["irqs"], raised, f.get("irqs"), f.get("jobs", "-")))
        check(f.get("foreign") == 0 and f.get("unknown") == 0, "%s: %r" % (name, f), r)
        check(raised == d["irqs"], "%s: %d irqfd signals, framework raised %d"
              % (name, raised, d["irqs"]), r)
        check("irqs" in f and extra_irqs(f, raised) == 0, "%s: the guest took more "
              "interrupts (%s, %s of them spurious) than were raised for it (%d)"
              % (name, f.get("irqs"), f.get("spurious"), raised), r)
        if name == "idle":
            check(raised == 0 and f.get("irqs") == 0, "idle got interrupts: %r" % d, r)
        else:
            check(0 < f["irqs"] and raised <= f["jobs"] + 1,
                  "%s: %d interrupts for %d jobs" % (name, raised, f["jobs"]), r)
    check(total == r.json["coproc"]["irqs"], "irqfd signals %d != coprocessor's %d"
          % (total, r.json["coproc"]["irqs"]), r)
    check(s["none"]["host"]["irqs_raised"] == 0, "the domain without a vcoproc", r)


def case_destroy(ctx):
    """A domain destroyed in the middle of its run: its vCPU stops, its vcoproc is
    destroyed through the framework, its memory freed; the others go on, every
    one of their results still right."""
    hashjob = "cmdline=size=4K compute=2ms"
    r = vcoprocd(ctx, ["--seconds", "2.5", "--interval", "0", "--no-echo",
                       "--domain", "kernel=%s,name=keep1,%s" % (image(ctx, "hash"), hashjob),
                       "--domain", "kernel=%s,name=victim,%s,destroy=1.5s"
                       % (image(ctx, "hash"), hashjob),
                       "--domain", "kernel=%s,name=keep2,%s" % (image(ctx, "hash"), hashjob)],
                 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = r.summary()
    check(s.get("victim", {}).get("verdict") == "destroyed", "victim: %r" % s.get("victim"), r)
    check(s["victim"]["jobs"] > 0, "the victim never ran a job before its end", r)
    check(not any(l.startswith("result:") for l in r.console("victim")),
          "the victim finished before it was destroyed", r)
    for name in ("keep1", "keep2"):
        check(s.get(name, {}).get("verdict") == "pass", "%s: %r" % (name, s.get(name)), r)
        check(s[name]["jobs"] > 2 * s["victim"]["jobs"] // 3,
              "%s stalled after the destroy: %r" % (name, s[name]), r)


def case_dmafault(ctx):
    """DMA isolation: every 4th job of 'evil' (16 MiB) writes its result just past
    the end of its RAM, at 16 MiB.  The device must fault each of them (the guest
    checks code and address, resumes, and checks every other result).  'good'
    (32 MiB) keeps a canary at its own 16 MiB - where those writes would land
    had the device used good's IOMMU context - and checks its CRC at the end;
    it and every one of its results must be intact."""
    r = vcoprocd(ctx, ["--seconds", "2", "--interval", "0", "--no-echo",
                       "--domain", "kernel=%s,name=good,memory=32,cmdline=size=4K canary=16M"
                       % image(ctx, "hash"),
                       "--domain", "kernel=%s,name=evil,memory=16,cmdline=size=4K fault=4"
                       % image(ctx, "hash")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, ["evil", "good"])
    fe, fg = result_fields(s["evil"]["result"]), result_fields(s["good"]["result"])
    check(fe.get("faults", 0) >= 10, "too few DMA faults taken: %r" % s["evil"]["result"], r)
    check(fg.get("faults") == 0, "good saw faults", r)
    check(fg.get("canary") == "intact", "good's canary: %r" % s["good"]["result"], r)


def case_latency(ctx):
    """latency alone: fence round trips, percentiles in order."""
    r = vcoprocd(ctx, ["--seconds", "1.5", "--interval", "0", "--no-echo", "--domain",
                       "kernel=%s,name=lat,memory=16" % image(ctx, "latency")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, ["lat"])
    f = result_fields(s["lat"]["result"])
    print(s["lat"]["result"])
    check(f.get("rounds", 0) >= 100, "too few rounds: %r" % f, r)
    check(0 < f["min"] <= f["p50"] <= f["p90"] <= f["p99"] <= f["max"], "percentiles: %r" % f,
          r)
    check(f["irqs"] >= f["rounds"], "a round ended without its interrupt: %r" % f, r)


def case_mixed(ctx):
    """Two mixed domains (every other job a 4 ms non-preemptible COMPUTE between a
    LOAD and a STORE of scratch memory, checked in the guest) and a hash domain
    under credit: the device refuses stops, and still every result is right,
    each domain's scratch memory its own across switches, and shares stay
    roughly equal."""
    names = ["m1", "m2", "h"]
    r = vcoprocd(ctx, ["--seconds", "3", "--interval", "0", "--no-echo",
                       # The device counts each command's 100 ns overhead too.
                       "--max-nonpreempt", "4100us",
                       "--domain", "kernel=%s,name=m1,memory=16,cmdline=long=4ms ratio=2 bufs=16"
                       % image(ctx, "mixed"),
                       "--domain", "kernel=%s,name=m2,memory=16,cmdline=long=4ms ratio=2 bufs=16"
                       % image(ctx, "mixed"),
                       "--domain", "kernel=%s,name=h,memory=16,cmdline=size=4K compute=5ms "
                       "chunk=1ms" % image(ctx, "hash")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, names)
    for name in ("m1", "m2"):
        f = result_fields(s[name]["result"])
        print(s[name]["result"])
        check(f.get("long", 0) >= 20 and f.get("short", 0) >= 20, "%s: %r" % (name, f), r)
    check(r.json["coproc"]["refusals"] > 0, "the device never refused a stop", r)
    refused = sum(s[n]["refusals"] for n in ("m1", "m2"))
    check(refused == r.json["coproc"]["refusals"],
          "refusals outside the non-preemptible domains", r)


def case_vcpus(ctx):
    """Domains with several vCPUs: the host starts the APs in long mode when the
    guest asks, each with its own local APIC ID; the guest brings them up into
    an idle loop while its BSP runs the workload.  'smp' (hello, 4 vCPUs)
    reports every CPU up with APIC IDs 0..3; 'work' (hash, 2 vCPUs) passes with
    its interrupts all delivered to its BSP; 'victim' (3 vCPUs, spinning) is
    destroyed mid-run, all its vCPUs stopped.  Then SIGTERM stops a run of
    multi-vCPU domains cleanly and at once."""
    r = vcoprocd(ctx, ["--seconds", "1.5", "--interval", "0", "--no-echo",
                       "--domain", "kernel=%s,name=smp,memory=16,vcpus=4" % image(ctx, "hello"),
                       "--domain", "kernel=%s,name=work,memory=16,vcpus=2,cmdline=size=4K "
                       "compute=1ms" % image(ctx, "hash"),
                       "--domain", "kernel=%s,name=victim,memory=16,vcpus=3,destroy=1s,"
                       "cmdline=spin=20s" % image(ctx, "hello")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, ["smp", "work"])
    f = result_fields(s["smp"]["result"])
    print(s["smp"]["result"])
    check(f.get("cpus") == 4 and f.get("apic") == "0,1,2,3", "smp: %r" % f, r)
    check("guest: 4 CPUs up, APIC IDs 0 1 2 3" in r.console("smp"), "smp console", r)
    check(s["smp"]["vcpus"] == 4 and s["work"]["vcpus"] == 2, "vcpus in the summary", r)
    w = result_fields(s["work"]["result"])
    print(s["work"]["result"])
    check(w.get("jobs", 0) >= 20 and w.get("foreign") == 0 and w.get("unknown") == 0,
          "work: %r" % w, r)
    raised = s["work"]["host"]["irqs_raised"]
    check(0 < w["irqs"] and extra_irqs(w, raised) == 0 and raised == s["work"]["irqs"],
          "work: interrupts %r (%r spurious) raised %r" % (w["irqs"], w.get("spurious"),
                                                          s["work"]["host"]), r)
    check(s.get("victim", {}).get("verdict") == "destroyed", "victim: %r" % s.get("victim"), r)

    log_dir = tempfile.mkdtemp(prefix="vcoprocd-e2e-")
    atexit.register(shutil.rmtree, log_dir, True)
    cmd = [ctx["vcoprocd"], "--log-dir", log_dir, "--json", os.path.join(log_dir, "s.json"),
           "--seconds", "30", "--interval", "0", "--no-echo",
           "--domain", "kernel=%s,name=spin,memory=16,vcpus=4,cmdline=spin=30s"
           % image(ctx, "hello"),
           "--domain", "kernel=%s,name=hash,memory=16,vcpus=2,cmdline=size=4K compute=1ms"
           % image(ctx, "hash")]
    print("$ " + " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t = time.monotonic()
    up = False
    while not up and time.monotonic() - t < 20 and p.poll() is None:
        time.sleep(0.1)
        try:
            with open(os.path.join(log_dir, "spin.log")) as f:
                up = "guest: 4 CPUs up, APIC IDs 0 1 2 3" in f.read()
        except OSError:
            pass
    time.sleep(1)
    t = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired as e:
        p.kill()
        raise Failed("vcoprocd did not stop within 10 s of SIGTERM") from e
    r = Run(p.returncode, out, err, log_dir)
    r.json = json.load(open(os.path.join(log_dir, "s.json")))
    print("stopped %.2f s after SIGTERM" % (time.monotonic() - t))
    check(up, "spin's APs never came up", r)
    check(r.rc == 128 + signal.SIGTERM, "exit status %d after SIGTERM" % r.rc, r)
    s = r.summary()
    check(all(s.get(n, {}).get("verdict") == "stopped" for n in ("spin", "hash")),
          "verdicts after SIGTERM: %r" % {n: s.get(n, {}).get("verdict")
                                          for n in ("spin", "hash")}, r)


# ---- hostile guests ----------------------------------------------------------------


def e2e_seed():
    """The run's seed for the hostile guests: VCOPROC_E2E_SEED, or DEFAULT_SEED.
    Printed, so that a failure can be run again with the same attacks."""
    seed = int(os.environ.get("VCOPROC_E2E_SEED") or DEFAULT_SEED)
    print("seed %d (VCOPROC_E2E_SEED=%d repeats this run's attacks)" % (seed, seed))
    return seed


# Well-behaved domains beside the hostile ones: device-bound hash (every result
# checked), weights 1:2, every free byte of their 32 MiB under canaries.  Each
# keeps 1.28 s of device work queued (64 jobs of 20 ms in 2.5 ms commands), so
# that a guest whose vCPU gets little of the host's CPUs - the hostile guests'
# register and doorbell storms each keep a CPU busy - rarely runs dry: their
# shares then measure the device's scheduling, not the host's CPU scheduling
# (a window in which one still ran dry is measured once more, see hostile_run()).
GOOD = {"g1": 256, "g2": 512}
GOOD_CMD = "size=4K bufs=64 compute=20ms chunk=2500us canaries=1"
SHARE_TOL = 0.03


def hostile_run(ctx, hostile, seconds=4.0):
    """@hostile: {name: (mode, weight, extra command line)}.  The hostile
    guests run three seconds longer than the well-behaved ones (which boot slower:
    they set up their canaries), so the busy window ends with the first of
    those stopping, while everybody is still at it."""
    seed = ctx.setdefault("seed", e2e_seed())
    args = ["--algo", "credit", "--seconds", str(seconds), "--interval", "0.5", "--no-echo"]
    for name, w in GOOD.items():
        args += ["--domain", "kernel=%s,name=%s,memory=32,weight=%d,cmdline=%s"
                 % (image(ctx, "hash"), name, w, GOOD_CMD)]
    for name, (mode, w, extra) in hostile.items():
        args += ["--domain", "kernel=%s,name=%s,memory=16,weight=%d,cmdline=mode=%s seed=%d "
                 "seconds=%gs%s" % (image(ctx, "hostile"), name, w, mode, seed, seconds + 3,
                                    " " + extra if extra else "")]
    r = vcoprocd(ctx, args, 90)
    check(r.json is not None, "vcoprocd left no summary (crashed?): exit status %d" % r.rc, r)
    s = r.summary()
    for name in hostile:
        print("%s: %s" % (name, s.get(name, {}).get("result")))
    for name in GOOD:
        print("%s: %s" % (name, s.get(name, {}).get("result")))
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = all_pass(r, list(GOOD) + list(hostile))
    # Their memory: every canary intact, every result right, only their own fences.
    for name in GOOD:
        f = result_fields(s[name]["result"])
        check(f.get("canaries") == "intact" and f.get("canary_kib", 0) >= 30000,
              "%s: canaries %r" % (name, s[name]["result"]), r)
        check(f.get("foreign") == 0 and f.get("unknown") == 0 and f.get("jobs", 0) >= 20,
              "%s: %r" % (name, f), r)
        check(s[name]["stats"]["resets"] == 0, "%s was reset" % name, r)
    # Their share: among themselves as their weights say, and nothing of what
    # their weights promise them out of all the domains lost to the hostile ones.
    shares = window_shares(r, list(GOOD) + list(hostile))
    check(r.window()["seconds"] >= 1.5, "busy window too short: %r" % r.window(), r)
    wsum = sum(GOOD.values())
    gsum = sum(shares[n] for n in GOOD)
    allw = wsum + sum(w for _, w, _ in hostile.values())
    print("busy window %r" % r.window())
    for name, w in GOOD.items():
        print("%s: window share %.4f (%.4f of the good ones' %.4f, expected %.4f; "
              "at least %.4f of all); it ran dry %d times in the window"
              % (name, shares[name], shares[name] / gsum, gsum, w / wsum,
                 (1 - SHARE_TOL) * w / allw, s[name]["window_stats"]["wakeups"]))
    for name in hostile:
        print("%s: window share %.4f" % (name, shares[name]))
    dry = [n for n in GOOD if s[n]["window_stats"]["wakeups"] > 0]
    for name, w in GOOD.items():
        rel, want = shares[name] / gsum, w / wsum
        ok = near(rel, want, SHARE_TOL) and shares[name] >= (1 - SHARE_TOL) * w / allw
        if not ok and dry and not ctx.get("dry_once"):
            # A domain without work is not promised its share: its vCPU did
            # not get the CPU to keep the device fed (the host's doing, like
            # a stall), so the window does not judge the device's scheduler.
            ctx["dry_once"] = True
            print("%s ran dry in the busy window (their vCPUs starved of CPU): "
                  "measuring once more" % " and ".join(dry))
            return hostile_run(ctx, hostile, seconds)
        check(near(rel, want, SHARE_TOL), "%s: %.4f of the good domains' device time, "
              "expected %.4f within %d%%" % (name, rel, want, SHARE_TOL * 100), r)
        check(shares[name] >= (1 - SHARE_TOL) * w / allw, "%s: share %.4f, below what "
              "its weight promises it among all domains (%.4f)" % (name, shares[name],
                                                                  w / allw), r)
    return r, s


def case_hostile_canary(ctx):
    """The canary check itself: a hash domain with canaries=2 changes one byte
    of its own canaries after setting them up; it must fail, saying which
    chunk changed (the hostile cases rely on this check)."""
    r = vcoprocd(ctx, ["--seconds", "1", "--interval", "0", "--no-echo", "--domain",
                       "kernel=%s,name=bait,memory=32,cmdline=size=4K canaries=2"
                       % image(ctx, "hash")], 60)
    s = r.summary().get("bait", {})
    print(s.get("result"))
    check(r.rc == 1 and s.get("verdict") == "fail", "bait: %r" % s, r)
    con = r.console("bait")
    check(any(re.match(r"hash: canary chunk \d+ .* changed", l) for l in con) and
          "canary=CHANGED" in s.get("result", ""), "the changed byte went unnoticed: %r"
          % con[-6:], r)


@remeasure_after_stall
def case_hostile_ring(ctx):
    """Garbage in the ring and DMA out of bounds, beside well-behaved domains.
    'junk' fills its ring with random commands (random bytes, bad opcodes and
    lengths, addresses outside its RAM, in MMIO, wrapping); 'dma' points every
    operand of every opcode outside its memory and checks each fault's code and
    address and that nothing was written; both resume after every fault and
    still have a working context at the end.  g1 and g2 keep every result and
    every canary, and their shares."""
    r, s = hostile_run(ctx, {"junk": ("ring", 256, ""), "dma": ("dma", 256, "")})
    fj, fd = result_fields(s["junk"]["result"]), result_fields(s["dma"]["result"])
    check(fj.get("bad_cmd", 0) >= 20 and fj.get("dma", 0) >= 5 and
          fj["resumes"] >= fj["bad_cmd"], "junk: too few faults taken: %r" % fj, r)
    check(fd.get("checks", 0) >= 50 and fd.get("dma", 0) >= 40,
          "dma: too few attacks checked: %r" % fd, r)


@remeasure_after_stall
def case_hostile_mmio(ctx):
    """Register fuzzing and a doorbell storm, beside well-behaved domains.
    'fuzz' reads and writes random offsets in and past the 4 KiB window with
    sizes 1, 2, 4 and 8, aligned or not, and checks the window still reads as
    simcp's; 'storm' rings its doorbell as fast as it can (one short COMPUTE
    per two writes), with misaligned and out-of-ring values that must each
    fault BAD_RING.  g1 and g2 keep every result, canary and share."""
    r, s = hostile_run(ctx, {"fuzz": ("regs", 256, ""), "storm": ("doorbell", 256, "")})
    ff, fs = result_fields(s["fuzz"]["result"]), result_fields(s["storm"]["result"])
    check(ff.get("checks", 0) >= 5, "fuzz: too few rounds: %r" % ff, r)
    check(s["fuzz"]["host"]["mmio_exits"] >= 1000, "fuzz: %r" % s["fuzz"]["host"], r)
    check(fs.get("cmds", 0) >= 1000 and fs.get("bad_ring", 0) >= 1,
          "storm: %r" % fs, r)
    check(s["storm"]["host"]["doorbells_emulated"] + s["storm"]["host"]["doorbells_forwarded"]
          >= 2000, "storm: too few doorbells reached the host: %r" % s["storm"]["host"], r)


@remeasure_after_stall
def case_hostile_np(ctx):
    """Non-preemptible work without end, beside well-behaved domains: 'np'
    appends chains of flagged commands (SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN)
    longer than the device's 1 ms bound as fast as they run, flagged COMPUTEs
    over the bound, and now and then a flagged WAIT that is never satisfied.
    Each chain is cut (SIMCP_FAULT_NONPREEMPT), the endless section does not
    keep the device, and g1 and g2 keep every result, canary and share."""
    r, s = hostile_run(ctx, {"np": ("np", 256, "wait=700ms")})
    f = result_fields(s["np"]["result"])
    check(f.get("nonpreempt", 0) >= 10, "np: chains not cut: %r" % f, r)
    m = [re.match(r"hostile: np: .* (\d+) endless WAITs", l) for l in r.console("np")]
    waits = max([int(x.group(1)) for x in m if x] or [0])
    print("np: %d endless WAITs, %d refusals, %d resets" % (waits, s["np"]["stats"]["refusals"],
                                                          s["np"]["stats"]["resets"]))
    check(waits >= 3, "np: too few endless WAITs: %d" % waits, r)
    # The device cuts an endless section at its bound: the framework never has
    # to reset the context for it (it would only after its stop timeout, the
    # longest command's time: a second of the device held).
    check(f.get("hang") == 0 and r.json["coproc"]["resets"] == 0,
          "an endless non-preemptible WAIT held the device until a reset: %r" % f, r)


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        sys.stderr.write("usage: e2e.py {%s} VCOPROCD GUEST_DIR\n" % ",".join(CASES))
        return 2
    ctx = {"vcoprocd": sys.argv[2], "guest_dir": sys.argv[3]}
    p = subprocess.run([ctx["vcoprocd"], "--probe"], capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: " + (p.stdout + p.stderr).strip())
        return SKIP
    try:
        CASES[sys.argv[1]](ctx)
    except Failed as e:
        print("FAIL: %s: %s" % (sys.argv[1], e))
        return 1
    print("PASS: %s" % sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
