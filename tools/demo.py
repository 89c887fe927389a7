#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make demo: domains of both kinds share one coprocessor under vcoprocd.

    tools/demo.py [BUILD_DIR]

vcoprocd runs as a daemon with examples/crypto.dts: one shared crypto
engine (simcp, AES-CBC at 8 MB/s, so the guests ask more of it than it can
do) under the credit scheduler.  Then:

  where KVM is usable: four KVM guests (the hash workload, every result
  checked in the guest; weights 1:1:2:4) and one Linux guest under QEMU
  (its own virtio_crypto driver, through vcoprocd's vhost-user backend,
  encrypting and verifying continuously; weight 2) on the same engine;

  where it is not: three Linux guests under QEMU (software emulation) with
  weights 1:2:4, each encrypting and verifying continuously.

Every second it prints a table per domain: its share of the device over
that second and since all were busy, the share the scheduler promises,
the commands the device ran for it.  At the end a summary: every guest's
verdict (each result verified in the guest), and the measured shares over
the time every domain was busy next to the expected ones.  Exit status 0
only when every guest passed and every share is within 3% (relative).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOL = 0.03
RUN_S = 40            # how long every guest works
MEASURE_S = 15        # the busy window measured
children = []


def log(msg):
    print("demo: " + msg, flush=True)


def cleanup():
    for c in reversed(children):
        if c.poll() is None:
            c.terminate()
    for c in children:
        try:
            c.wait(timeout=20)
        except subprocess.TimeoutExpired:
            c.kill()


def on_term(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Daemon:
    def __init__(self, build, dtb, tmp):
        self.build, self.tmp = build, tmp
        self.sock = os.path.join(tmp, "vcoprocd.sock")
        self.err = os.path.join(tmp, "vcoprocd.log")
        # --realtime: the device's threads are not starved by the guests'
        # emulation (vCPU threads, QEMU's TCG) on a machine with few cores.
        self.p = subprocess.Popen([os.path.join(build, "host", "vcoprocd"), "--dtb", dtb,
                                   "--socket", self.sock, "--no-echo", "--realtime"],
                                  stdout=subprocess.PIPE,
                                  stderr=open(self.err, "w"), text=True)
        children.append(self.p)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError("vcoprocd did not start:\n" + read(self.err))

    def cli(self, *argv):
        p = subprocess.run([os.path.join(self.build, "cli", "vcoproc"), "-S", self.sock] +
                           list(argv), capture_output=True, text=True, timeout=30)
        if p.returncode:
            raise RuntimeError("vcoproc %s: %s" % (" ".join(argv), p.stderr.strip()))
        return p.stdout

    def create(self, name, text):
        path = os.path.join(self.tmp, name + ".cfg")
        with open(path, "w") as f:
            f.write('name = "%s"\n%s' % (name, text))
        self.cli("create", path)

    def vcoprocs(self):
        return {v["domain"]: v for v in json.loads(self.cli("vcoproc-list", "--json"))}


def kvm_usable(build):
    p = subprocess.run([os.path.join(build, "host", "vcoprocd"), "--probe"],
                       capture_output=True, text=True)
    return p.returncode == 0, p.stdout.strip()


def main():
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tool = os.path.join(src, "tools", "linux-guest", "linux-guest.py")
    tmp = tempfile.mkdtemp(prefix="vcoproc-demo-")
    kvm, why = kvm_usable(build)
    hash_elf = os.path.abspath(os.path.join(build, "guest", "hash.elf"))
    if kvm and not os.path.exists(hash_elf):
        kvm, why = False, "the guest images are not built"

    why_not = None
    if not shutil.which("qemu-system-x86_64"):
        why_not = "QEMU is not installed here (Debian: qemu-system-x86)"
    else:
        p = subprocess.run([sys.executable, tool, "build", build], capture_output=True,
                           text=True)
        if p.returncode:
            why_not = "the Linux guest image cannot be built: " + (p.stdout + p.stderr).strip()
    if why_not:
        # Without Linux guests: KVM guests, or builtin domains, on their own.
        log("NO LINUX GUESTS HERE: " + why_not)
        os.execvp("sh", ["sh", os.path.join(src, "tools", "demo.sh"), build])

    d = Daemon(build, os.path.join(build, "examples", "crypto.dtb"), tmp)
    linux, kvm_doms = {}, {}
    if kvm:
        log("KVM is usable: 4 KVM guests (hash, weights 1:1:2:4) and 1 Linux guest "
            "(virtio-crypto, weight 2) share crypto0 under credit")
        job = "size=4K bufs=16 compute=10ms chunk=2500us seconds=%d" % RUN_S
        for name, w in (("kvm1", 256), ("kvm2", 256), ("kvm3", 512), ("kvm4", 1024)):
            d.create(name, 'kernel = "%s"\nmemory = 16\nextra = "%s"\n'
                     'vcoproc = [ "crypto0,weight=%d" ]\n' % (hash_elf, job, w))
            kvm_doms[name] = w
        linux = {"linux1": 512}
    else:
        log("KVM IS NOT USABLE HERE: %s" % why)
        log("3 Linux guests under QEMU (software emulation, virtio-crypto through vcoprocd's "
            "vhost-user backend) share crypto0 under credit, weights 1:2:4")
        linux = {"linux1": 256, "linux2": 512, "linux3": 1024}
    guests = {}
    for name, w in linux.items():
        sock = os.path.join(tmp, name + ".sock")
        d.create(name, 'type = "vhost-user"\nvirtio = [ "type=crypto,socket=%s" ]\n'
                 'vcoproc = [ "crypto0,weight=%d" ]\n' % (sock, w))
        logf = os.path.join(tmp, name + ".log")
        g = subprocess.Popen([sys.executable, tool, "run", build, "--backend",
                              "vhost-user:" + sock, "--timeout", str(RUN_S + 120), "--log", logf,
                              "--", "loop", str(RUN_S), "65536", "4"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                             start_new_session=True)
        children.append(g)
        guests[name] = (g, logf)

    names = list(kvm_doms) + list(linux)
    busy_since, base, prev, prev_jobs, t_prev = None, None, None, None, time.time()
    window, exp = None, {}
    deadline = time.time() + RUN_S + 150
    while time.time() < deadline:
        time.sleep(1)
        now = time.time()
        v = d.vcoprocs()
        run = {n: v[n]["stats"]["run_ns"] for n in names if n in v}
        jobs = {n: v[n]["stats"]["jobs"] for n in names if n in v}
        up = all(re.search(r"^loop: ", read(lf), re.M) for _, lf in guests.values())
        busy = up and prev_jobs is not None and all(
            n in jobs and jobs[n] > prev_jobs.get(n, 0) for n in names)
        prev_jobs = jobs
        if busy and busy_since is None:
            busy_since, base = now, dict(run)
            log("every domain is busy: measuring %d s" % MEASURE_S)
        if prev:
            dt = {n: run[n] - prev.get(n, 0) for n in run}
            tot = sum(dt.values()) or 1
            since = {n: run[n] - base[n] for n in run} if base else None
            stot = sum(since.values()) if since else 0
            print("  t=%3.0fs  %-8s %7s %9s %8s %9s" % (now - t_prev, "domain", "1s",
                  "measured", "expected", "commands"))
            for n in names:
                if n not in run:
                    continue
                print("          %-8s %6.1f%% %8s %7.1f%% %9d" % (
                    n, 100 * dt[n] / tot,
                    "%.1f%%" % (100 * since[n] / stot) if stot else "-",
                    100 * (v[n].get("expected_share") or 0), v[n]["stats"]["jobs"]), flush=True)
        prev = run
        if busy_since and now - busy_since >= MEASURE_S and window is None:
            window = {n: run[n] - base[n] for n in run}
            exp = {n: v[n].get("expected_share") for n in names if n in v}
        if window is not None and all(g.poll() is not None for g, _ in guests.values()):
            break

    # The KVM guests run their own time; wait for their verdicts.
    end = time.time() + 60
    while kvm_doms and time.time() < end:
        states = {x["name"]: x["state"] for x in json.loads(d.cli("domain-list", "--json"))}
        if all(states.get(n) != "running" for n in kvm_doms):
            break
        time.sleep(1)

    ok = True
    print("demo: summary")
    total = sum(window.values()) if window else 0
    if not window:
        window, exp = {}, {}
    for n in names:
        if n in guests:
            g, lf = guests[n]
            text = read(lf)
            res = re.findall(r"^result: (ok|FAIL) loop (.*)$", text, re.M)
            verdict = "pass" if g.returncode == 0 and res and res[-1][0] == "ok" else "FAIL"
            detail = res[-1][1] if res else text.strip().splitlines()[-1:] or ""
        else:
            con = d.cli("console", n, "--no-follow")
            m = re.findall(r"^result: .*$", con, re.M)
            verdict = "pass" if m and " ok " in m[-1] else "FAIL"
            detail = m[-1] if m else "no result"
        share = window[n] / total if total and n in window else -1
        e = exp.get(n) or 0
        off = (share - e) / e if e and share >= 0 else 1
        good = verdict == "pass" and abs(off) <= TOL
        ok &= good
        print("  %-8s %-5s share %6.2f%% expected %6.2f%% (%+.1f%%)  %s" % (
            n, verdict, 100 * share, 100 * e, 100 * off, detail))
    if not total:
        log("no window in which every domain was busy")
        ok = False
    log("%s: every guest verified its results and every share is within %.0f%% of its "
        "weight's" % ("PASS" if ok else "FAIL", 100 * TOL) if ok else
        "FAIL: a guest failed or a share is more than %.0f%% off" % (100 * TOL))
    cleanup()
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        log("logs kept in %s" % tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
