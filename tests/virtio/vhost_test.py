#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Linux guests under QEMU sharing one coprocessor through vcoprocd's
vhost-user virtio-crypto backend (host/vhost/crypto.c).  Prints TAP.

    vhost_test.py CASE --source SRC --build BUILD --vcoprocd EXE --cli EXE
                  --dtb DTB --test-program EXE [--timeout S]

CASE single: one guest: the kernel's self-test of virtio_crypto_aes_cbc
    passes and the device (not software) serves its requests, the NIST
    vectors, 10,000 random round trips checked against the kernel's
    software AES; then the domain's console shows the frontend gone and
    the vcoproc did the work.
CASE share: three guests on one slow crypto engine (DTB: credit, 8 MB/s),
    weights 1:2:4, each encrypting and verifying with 4 requests queued:
    shares of the device within 3% (relative) of 1/7, 2/7, 4/7 over
    windows in which all three are busy; a live vcoproc-set (l1 to 512)
    moves them to 1/4, 1/4, 1/2; kill -9 of one QEMU leaves the other two correct (every
    round trip verified to the end) and the dead domain cleaned up (its
    frontend gone, nothing in flight, its vcoproc idle, destroy works).

Exit 77 (meson: SKIP) with the reason only where qemu-system-x86_64 or the
kernel package cannot be had.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, note, results  # noqa: E402 (tests/tap.py)

SKIP = 77
TOL = 0.03          # relative, as vcoprocd --check-shares
WINDOW = 3.0        # seconds per share measurement
children = []


def stop_children(keep=None):
    """Stop every child (but @keep) and wait for it."""
    mine = [c for c in children if c is not keep]
    for c in mine:
        if c.poll() is None:
            c.terminate()
    for c in mine:
        try:
            c.wait(timeout=15)
        except subprocess.TimeoutExpired:
            c.kill()


def on_term(signum, _frame):
    stop_children()
    sys.exit(128 + signum)


class Host:
    """vcoprocd as a daemon, and the CLI against it."""

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.sock = os.path.join(tmp, "vcoprocd.sock")
        # --realtime: emulated guests on few cores must not starve the
        # device's threads (a starved device looks hung to the framework).
        self.p = subprocess.Popen([args.vcoprocd, "--dtb", args.dtb, "--socket", self.sock,
                                   "--no-echo", "--realtime"], stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(tmp, "vcoprocd.err"), "w"), text=True)
        children.append(self.p)
        self.ready = self.p.stdout.readline().strip() == "ready"

    def cli(self, *argv, timeout=30):
        p = subprocess.run([self.args.cli, "-S", self.sock] + list(argv), capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def json(self, *argv):
        rc, out, err = self.cli(*argv, "--json")
        if rc:
            raise RuntimeError("vcoproc %s: %s" % (" ".join(argv), err))
        return json.loads(out)

    def domain(self, name, coproc, weight):
        """A vhost-user domain listening at TMP/NAME.sock; returns the socket."""
        path = os.path.join(self.tmp, name + ".sock")
        cfg = os.path.join(self.tmp, name + ".cfg")
        with open(cfg, "w") as f:
            f.write('name = "%s"\ntype = "vhost-user"\nvirtio = [ "type=crypto,socket=%s" ]\n'
                    'vcoproc = [ "%s,weight=%d" ]\n' % (name, path, coproc, weight))
        rc, out, err = self.cli("create", cfg)
        if rc:
            raise RuntimeError("create %s: %s" % (name, err))
        return path

    def stats(self):
        return {v["domain"]: v for v in self.json("vcoproc-list")}

    def console(self, name):
        return self.cli("console", name, "--no-follow")[1]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return -1


def guest(args, sock, log, steps, timeout):
    """Boot a guest on vhost-user socket @sock running afalg_test @steps (Popen)."""
    tool = os.path.join(args.source, "tools", "linux-guest", "linux-guest.py")
    p = subprocess.Popen([sys.executable, tool, "run", args.build, "--backend",
                          "vhost-user:" + sock, "--timeout", str(timeout), "--log", log,
                          "--"] + steps, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                         start_new_session=True)
    children.append(p)
    return p


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def qemu_pid(sock):
    """The QEMU process serving @sock (its command line names the socket)."""
    out = subprocess.run(["pgrep", "-f", "path=%s" % sock], capture_output=True, text=True).stdout
    pids = [int(x) for x in out.split()]
    return pids[0] if pids else None


def measure(host, names, window):
    """Each domain's share of the device's run time over the next @window seconds."""
    a = {d: v["stats"]["run_ns"] for d, v in host.stats().items()}
    time.sleep(window)
    b = {d: v["stats"]["run_ns"] for d, v in host.stats().items()}
    delta = {d: b[d] - a.get(d, 0) for d in names}
    total = sum(delta.values())
    return {d: delta[d] / total if total else 0.0 for d in names}, total


def shares_ok(got, want):
    return all(abs(got[d] - want[d]) <= TOL * want[d] for d in want)


def wait_busy(logs, deadline):
    """Until every guest has printed a loop progress line (it is encrypting)."""
    while time.time() < deadline:
        if all(re.search(r"^loop: ", read(l), re.M) for l in logs):
            return True
        time.sleep(0.5)
    return False


def case_single(args, host):
    sock = host.domain("lin1", args.coproc, 256)
    log = os.path.join(host.tmp, "lin1.log")
    g = guest(args, sock, log, ["check-driver", "nist", "random", "10000"], args.timeout)
    rc = g.wait()
    text = read(log)
    if rc == SKIP:
        return SKIP
    res = dict(re.findall(r"^result: (\S+) (\S+)", text, re.M)[i][::-1]
               for i in range(len(re.findall(r"^result: ", text, re.M))))
    check(res.get("check-driver") == "ok",
          "the kernel's self-test of virtio_crypto_aes_cbc passed and the device served the requests",
          "\n".join(l for l in text.splitlines() if "check-driver" in l or "alg:" in l))
    check(res.get("nist") == "ok", "NIST SP 800-38A CBC-AES vectors through the device")
    check(res.get("random") == "ok" and re.search(r"result: ok random .*rounds=10000", text),
          "10,000 random round trips checked against the kernel's software AES")
    check(rc == 0, "the guest's test program exited 0 (%d)" % rc, text[-3000:])
    time.sleep(1)
    con = host.console("lin1")
    m = re.search(r"frontend gone .*: (\d+) requests done, (\d+) failed", con)
    check(m and int(m.group(1)) >= 20000 and int(m.group(2)) == 0,
          "the backend served them all, none failed (%s)" % (m.group(0) if m else "no line"), con)
    st = host.stats().get("lin1", {}).get("stats", {})
    check(st.get("jobs", 0) >= 40000 and st.get("run_ns", 0) > 0,
          "they ran as commands on lin1's own vcoproc (%s commands)" % st.get("jobs"))
    check(re.search(r"latency over the last \d+ requests: backend p50", con),
          "the console gives the backend's latency", con)
    return 0


def case_share(args, host):
    names = ["l1", "l2", "l3"]
    weights = {"l1": 256, "l2": 512, "l3": 1024}
    socks = {n: host.domain(n, args.coproc, weights[n]) for n in names}
    logs = {n: os.path.join(host.tmp, n + ".log") for n in names}
    seconds = 75
    gs = {n: guest(args, socks[n], logs[n], ["loop", str(seconds), "65536", "4"], args.timeout)
          for n in names}
    if not wait_busy(logs.values(), time.time() + 120):
        rcs = {n: g.poll() for n, g in gs.items()}
        if SKIP in rcs.values():
            return SKIP
        check(False, "three guests boot and encrypt", {n: read(logs[n])[-1500:] for n in names})
        return 0
    check(True, "three Linux guests boot and encrypt through vcoprocd")

    want = {"l1": 1 / 7, "l2": 2 / 7, "l3": 4 / 7}
    time.sleep(2)
    got = None
    for _ in range(3):  # a loaded machine may stall one window; the best of three
        got, total = measure(host, names, WINDOW)
        note("weights 1:2:4: %s over %.2f s of device time" %
             (", ".join("%s %.4f" % (d, got[d]) for d in names), total / 1e9))
        if shares_ok(got, want):
            break
    check(shares_ok(got, want), "shares within 3%% of 1/7, 2/7, 4/7 (%s)" %
          ", ".join("%.4f" % got[d] for d in names))
    exp = {d: v.get("expected_share") for d, v in host.stats().items()}
    check(all(abs(exp[d] - want[d]) < 1e-4 for d in names),
          "vcoproc-list shows the expected shares next to the measured ones", exp)

    rc, _, err = host.cli("vcoproc-set", "l1", args.coproc, "weight=512")
    check(rc == 0, "vcoproc-set l1 %s weight=512 (live)" % args.coproc, err)
    want = {"l1": 0.25, "l2": 0.25, "l3": 0.5}
    time.sleep(1.5)
    for _ in range(3):
        got, total = measure(host, names, WINDOW)
        note("weights 2:2:4: %s" % ", ".join("%s %.4f" % (d, got[d]) for d in names))
        if shares_ok(got, want):
            break
    check(shares_ok(got, want), "the shares move to 1/4, 1/4, 1/2 (%s)" %
          ", ".join("%.4f" % got[d] for d in names))

    # kill -9 of one QEMU mid-run.
    pid = qemu_pid(socks["l2"])
    check(pid is not None, "l2's QEMU is found")
    if pid:
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 20
    con = ""
    while time.time() < deadline and "frontend gone" not in con:
        time.sleep(0.5)
        con = host.console("l2")
    check("frontend gone" in con, "the dead guest's frontend is seen gone", con)
    jobs0 = host.stats()["l2"]["stats"]["jobs"]
    got, _ = measure(host, names, 2.0)
    st = host.stats()
    check(st["l2"]["stats"]["jobs"] == jobs0 and st["l2"]["state"] == "sleeping",
          "its vcoproc is idle and does nothing more (state %s)" % st["l2"]["state"])
    check(abs(got["l1"] - 1 / 3) <= 0.1 and got["l2"] == 0,
          "the other two share the device 1:2 by weight (%.3f, %.3f)" % (got["l1"], got["l3"]))
    rc, out, err = host.cli("destroy", "l2")
    check(rc == 0 and "l2" not in host.stats(), "the dead domain is destroyed, nothing left", err)

    for n in ("l1", "l3"):
        rc = gs[n].wait()
        text = read(logs[n])
        check(rc == 0 and re.search(r"^result: ok loop .*jobs=4", text, re.M) and
              "FAIL" not in text, "%s verified every round trip to the end" % n, text[-2000:])
    return 0


def main():
    signal.signal(signal.SIGTERM, on_term)
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["single", "share"])
    for a in ("--source", "--build", "--vcoprocd", "--cli", "--dtb", "--test-program"):
        ap.add_argument(a, required=True)
    ap.add_argument("--coproc", default="crypto0")
    ap.add_argument("--timeout", type=float, default=240)
    args = ap.parse_args()
    qemu = os.environ.get("VCOPROC_QEMU", "qemu-system-x86_64")
    if not shutil.which(qemu):
        print("1..0 # SKIP no %s here (Debian: qemu-system-x86)" % qemu)
        return SKIP
    tool = os.path.join(args.source, "tools", "linux-guest", "linux-guest.py")
    p = subprocess.run([sys.executable, tool, "build", args.build, "--test-program",
                        args.test_program], capture_output=True, text=True)
    if p.returncode == SKIP:
        print("1..0 # SKIP the guest's kernel package cannot be had: %s" % p.stdout.strip())
        return SKIP
    if p.returncode:
        print("not ok 1 - the guest image builds\n# " + (p.stdout + p.stderr)[-2000:])
        print("1..1")
        return 1
    tmp = tempfile.mkdtemp(prefix="vcoproc-virtio-")
    host = Host(args, tmp)
    rc = 0
    try:
        if check(host.ready, "vcoprocd starts with %s" % os.path.basename(args.dtb)):
            rc = (case_single if args.case == "single" else case_share)(args, host)
    finally:
        stop_children(keep=host.p)
        if rc != SKIP:
            check(host.stop() == 0, "vcoprocd shuts down cleanly on SIGTERM")
        if not all(results):
            note("vcoprocd's log:\n" + read(os.path.join(tmp, "vcoprocd.err"))[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if rc == SKIP:
        print("1..0 # SKIP the guest cannot run here")
        return SKIP
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
