#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of vcoprocd: real guests on Linux KVM.

usage: e2e.py CASE VCOPROCD GUEST_DIR

Each case boots guest images (GUEST_DIR/NAME.elf) with vcoprocd and checks
what the guests print on their consoles, their exit statuses, the host's
summary and its exit status.  When KVM cannot be used here (no /dev/kvm,
no permission, KVM_CREATE_VM failing) the case prints why and exits 77,
which meson reports as skipped.
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


class Run:
    """One vcoprocd run: exit status, stdout (consoles), stderr (host)."""

    def __init__(self, rc, out, err, log_dir):
        self.rc, self.out, self.err, self.log_dir = rc, out, err, log_dir

    def console(self, dom):
        """The domain's console lines, from its log file."""
        with open(os.path.join(self.log_dir, dom + ".log")) as f:
            return f.read().splitlines()

    def tables(self):
        """The periodic tables: a list of {domain: {state, share, total, ...}}."""
        tables, cur = [], None
        for line in self.err.splitlines():
            if re.match(r"^vcoprocd: t=[\d.]+s ", line):
                cur = {}
                tables.append(cur)
                continue
            m = re.match(r"^\s+(\S+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)"
                         r"\s+(\d+)\s+(\d+)$", line)
            if cur is not None and m:
                cur[m.group(1)] = {"state": m.group(2), "share": float(m.group(3)),
                                   "total": float(m.group(4)), "jobs": int(m.group(5)),
                                   "switches": int(m.group(6))}
            elif not re.match(r"^\s+domain\s+state\s", line):
                cur = None
        return tables

    def summary(self):
        """{domain: {verdict, status, share, jobs, ...}} from the summary table."""
        rows, inside = {}, False
        for line in self.err.splitlines():
            if re.match(r"^\s+domain\s+verdict\s", line):
                inside = True
                continue
            if inside:
                m = re.match(r"^\s+(\S+)\s+(\S+)\s+(-?\d+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\d+)"
                             r"\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$", line)
                if not m:
                    break
                rows[m.group(1)] = {
                    "verdict": m.group(2), "status": int(m.group(3)),
                    "share": float(m.group(4)),
                    "expected": None if m.group(5) == "-" else float(m.group(5)),
                    "jobs": int(m.group(6)), "switches": int(m.group(7)),
                    "refusals": int(m.group(8)), "irqs": int(m.group(9)),
                    "mmio": int(m.group(10)), "result": m.group(11),
                }
        return rows


class Failed(Exception):
    pass


def check(cond, what, run=None):
    if not cond:
        if run is not None:
            sys.stderr.write("--- vcoprocd stdout ---\n%s--- vcoprocd stderr ---\n%s"
                             % (run.out, run.err))
        raise Failed(what)


def vcoprocd(ctx, args, timeout):
    log_dir = tempfile.mkdtemp(prefix="vcoprocd-e2e-")
    atexit.register(shutil.rmtree, log_dir, True)
    cmd = [ctx["vcoprocd"], "--log-dir", log_dir] + args
    print("$ " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failed("vcoprocd did not finish within %d s" % timeout) from e
    return Run(p.returncode, p.stdout, p.stderr, log_dir)


def image(ctx, name):
    return os.path.join(ctx["guest_dir"], name + ".elf")


# ---- cases ------------------------------------------------------------------------


def case_hello(ctx):
    """One domain boots, prints through its UART and passes."""
    r = vcoprocd(ctx, ["--domain", "kernel=%s,name=h1,memory=16" % image(ctx, "hello"),
                       "--interval", "0"], 30)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    con = r.console("h1")
    check(any(l.startswith("hello from domain 1 (h1)") for l in con),
          "no greeting on the console: %r" % con, r)
    check("[h1] result: hello status=0" in r.out.splitlines(), "console not echoed", r)
    s = r.summary()
    check(s.get("h1", {}).get("verdict") == "pass", "summary: %r" % s, r)


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


def case_four(ctx):
    """Four domains share simcp under credit 1:1:2:4; each device job carries a
    COMPUTE so the device is the bottleneck.  In the steady state (every domain
    running) each domain's share of the device follows its weight."""
    weights = {"w1a": 256, "w1b": 256, "w2": 512, "w4": 1024}
    args = ["--algo", "credit", "--seconds", "3", "--interval", "0.5", "--no-echo"]
    for name, w in weights.items():
        args += ["--domain", "kernel=%s,name=%s,memory=16,cmdline=size=4K bufs=16 compute=20ms,"
                 "weight=%d" % (image(ctx, "hash"), name, w)]
    r = vcoprocd(ctx, args, 90)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = r.summary()
    for name in weights:
        d = s.get(name, {})
        check(d.get("verdict") == "pass", "%s: %r" % (name, d), r)
        check(d["switches"] > 0 and d["irqs"] > 0, "%s was never switched in: %r" % (name, d), r)
    # Register accesses of domains whose context was off the device were
    # emulated on their saved contexts, doorbells included, and every guest
    # still saw all its jobs complete (and only its own fences: hash checks).
    m = re.search(r"mmio (\d+) emulated / (\d+) forwarded", r.err)
    check(m and int(m.group(1)) > 0 and int(m.group(2)) > 0,
          "no emulated or no forwarded register access", r)
    # Steady state: intervals in which every domain ran jobs on the device,
    # minus the first (it still holds start-up) and the last (a domain whose
    # time is up stops submitting and drains).
    steady = [t for t in r.tables()
              if len(t) == len(weights) and
              all(v["state"] == "running" and v["share"] > 0 for v in t.values())]
    steady = steady[1:-1]
    check(len(steady) >= 2, "fewer than 2 steady-state tables", r)
    total_w = sum(weights.values())
    for name, w in weights.items():
        share = sum(t[name]["share"] for t in steady) / len(steady)
        want = w / total_w
        print("%s: share %.4f, expected %.4f (%d intervals)" % (name, share, want, len(steady)))
        check(abs(share - want) <= 0.06, "%s: steady share %.4f, expected %.4f"
              % (name, share, want), r)


def case_destroy(ctx):
    """A domain destroyed in the middle of its run: its vCPU stops, its vcoproc is
    destroyed through the framework, its memory freed; the other goes on and passes."""
    r = vcoprocd(ctx, ["--seconds", "2.5", "--interval", "0", "--no-echo",
                       "--domain", "kernel=%s,name=keep,cmdline=size=4K compute=2ms"
                       % image(ctx, "hash"),
                       "--domain", "kernel=%s,name=victim,cmdline=size=4K compute=2ms,"
                       "destroy=1.5s" % image(ctx, "hash")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = r.summary()
    check(s.get("victim", {}).get("verdict") == "destroyed", "victim: %r" % s.get("victim"), r)
    check(s["victim"]["jobs"] > 0, "the victim never ran a job before its end", r)
    check(s.get("keep", {}).get("verdict") == "pass", "keep: %r" % s.get("keep"), r)
    check(not any(l.startswith("result:") for l in r.console("victim")),
          "the victim finished before it was destroyed", r)


def case_dmafault(ctx):
    """DMA isolation: every 4th job of one domain writes its result just past the
    end of its RAM.  The device must fault each of them (the guest checks code and
    address, resumes, and checks every other result); the other domain, whose
    memory may lie right there on the host, goes on and passes."""
    r = vcoprocd(ctx, ["--seconds", "2", "--interval", "0", "--no-echo",
                       "--domain", "kernel=%s,name=evil,memory=16,cmdline=size=4K fault=4"
                       % image(ctx, "hash"),
                       "--domain", "kernel=%s,name=good,memory=16,cmdline=size=4K"
                       % image(ctx, "hash")], 60)
    check(r.rc == 0, "vcoprocd exit status %d, not 0" % r.rc, r)
    s = r.summary()
    for name in ("evil", "good"):
        check(s.get(name, {}).get("verdict") == "pass", "%s: %r" % (name, s.get(name)), r)
    m = re.search(r"faults=(\d+)", s["evil"]["result"])
    check(m and int(m.group(1)) >= 10, "too few DMA faults taken: %r" % s["evil"]["result"], r)
    check(re.search(r"faults=0\b", s["good"]["result"]), "good saw faults", r)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


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
