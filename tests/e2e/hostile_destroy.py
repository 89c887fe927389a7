#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile KVM guest destroyed in the middle of a command, beside
well-behaved ones, through vcoprocd's control socket.

usage: hostile_destroy.py VCOPROCD VCOPROC SYSTEM.DTB GUEST_DIR

vcoprocd --dtb SYSTEM.DTB --socket SOCK -> vcoproc create g1 and g2 (hash,
device-bound, weights 1:2 on gpu0, every free byte of their 32 MiB under
canaries) and x (guest/hostile mode=long: its ring full of 250 ms COMPUTEs
and legal non-preemptible ones) -> shares over a window with all three busy ->
vcoproc destroy x while its context runs a command on gpu0 -> it is gone
(no domain, no vcoproc), the destroy returned in time, vcoprocd answers ->
g1:g2 still 1:2 within 3% over a window after it, the device busy -> g1 and
g2 finish their runs: every result right, every canary intact -> SIGTERM:
exit status 0, socket removed.  Exits 77 (meson: SKIP) with the reason when
KVM is not usable here.  Prints TAP.  The seed of the hostile guest is
printed; VCOPROC_E2E_SEED=N repeats it.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ctlcli import Cli  # noqa: E402 (tests/ctlcli.py)
from tap import check, note, results  # noqa: E402 (tests/tap.py)

# The hostile guests' attacks come from a seed: a fixed one, so that every
# run (and CI) attacks the same way; VCOPROC_E2E_SEED=N tries others.
# (Seed 191054666 makes the ring-garbage guest fail its own final check;
# not yet understood, see docs/kvm-host.md.)
DEFAULT_SEED = 2026

VCOPROCD, VCOPROC, DTB, GUEST_DIR = sys.argv[1:5]
TOLERANCE = 0.03       # relative, on g1's and g2's split of their device time
GOOD = {"g1": 256, "g2": 512}
GOOD_SECONDS = 12      # each good guest's run, from its start
DESTROY_LIMIT = 3.0    # seconds: a stop waits for the command (1 s at most), then teardown


def main():
    p = subprocess.run([VCOPROCD, "--probe"], capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: " + (p.stdout + p.stderr).strip())
        return 77
    seed = int(os.environ.get("VCOPROC_E2E_SEED") or DEFAULT_SEED)
    note("seed %d (VCOPROC_E2E_SEED=%d repeats this run's attacks)" % (seed, seed))
    tmp = tempfile.mkdtemp(prefix="vcoprocd-hostile-")
    sock = os.path.join(tmp, "vcoprocd.sock")
    guest = lambda n: os.path.abspath(os.path.join(GUEST_DIR, n + ".elf"))
    cfgs = {}
    for name, w in GOOD.items():
        cfgs[name] = ('name = "%s"\nkernel = "%s"\nmemory = 32\nextra = "seconds=%d size=4K '
                      'bufs=64 compute=20ms chunk=2500us canaries=1"\nvcoproc = [ "gpu0,weight=%d" ]\n'
                      % (name, guest("hash"), GOOD_SECONDS, w))
    cfgs["x"] = ('name = "x"\nkernel = "%s"\nmemory = 16\nextra = "mode=long long=250ms seed=%d"\n'
                 'vcoproc = [ "gpu0,weight=256" ]\n' % (guest("hostile"), seed))
    for name, text in cfgs.items():
        cfgs[name] = os.path.join(tmp, name + ".cfg")
        with open(cfgs[name], "w") as f:
            f.write(text)

    cli = Cli(VCOPROC, sock)
    run, run_json = cli.run, cli.json
    console = cli.console

    def vcoprocs():
        return {v["domain"]: v for v in run_json("vcoproc-list", "-c", "gpu0")}

    def measure(window):
        a, t0 = vcoprocs(), time.monotonic()
        time.sleep(window)
        b, t1 = vcoprocs(), time.monotonic()
        delta = {d: b[d]["stats"]["run_ns"] - a[d]["stats"]["run_ns"] for d in b if d in a}
        return delta, sum(delta.values()) / 1e9 / (t1 - t0)

    def good_split(delta):
        total = sum(delta.get(n, 0) for n in GOOD)
        return {n: (delta.get(n, 0) / total if total else 0.0) for n in GOOD}

    def split_ok(split):
        return all(abs(split[n] - w / sum(GOOD.values())) <= TOLERANCE * w / sum(GOOD.values())
                   for n, w in GOOD.items())

    daemon = subprocess.Popen([VCOPROCD, "--dtb", DTB, "--socket", sock, "--no-echo"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not check(daemon.stdout.readline().strip() == "ready", "vcoprocd: ready"):
            return 1
        for name in ("g1", "g2", "x"):
            rc, out, err = run("create", cfgs[name])
            check(rc == 0 and ("created domain " + name) in out, "create " + name, out + err)

        # Everybody at work: the good ones hashing, x's ring full of long commands.
        t = time.monotonic()
        while time.monotonic() - t < 20:
            if "ring full of long commands" in console("x") and \
                    all(re.search(r"^hash: \d+ x ", console(n), re.M) for n in GOOD):
                break
            time.sleep(0.2)
        else:
            check(False, "the guests started their work", console("x"))
        time.sleep(0.5)
        # Up to 3 windows: a guest whose vCPU the loaded host does not run
        # for long enough can run dry; alone, the first one is within.
        for attempt in range(3):
            delta, busy = measure(1.5)
            split = good_split(delta)
            note("all busy: run_ns over 1.5 s %s, gpu0 busy %.0f%%; g1:g2 %.3f:%.3f" %
                 (json.dumps(delta), 100 * busy, split["g1"], split["g2"]))
            if split_ok(split):
                break
        check(split_ok(split), "beside x: g1:g2 is 1:2 within 3%", json.dumps(split))

        # Destroy x while its context runs a command on gpu0.
        t = time.monotonic()
        running = False
        while not running and time.monotonic() - t < 15:
            running = vcoprocs().get("x", {}).get("state") == "running"
            if not running:
                time.sleep(0.02)
        note("x running on gpu0 after %.2f s of looking" % (time.monotonic() - t))
        check(running, "x's context on gpu0, running its commands")
        t0 = time.monotonic()
        rc, out, err = run("destroy", "x")
        took = time.monotonic() - t0
        note("destroy x: %.2f s" % took)
        check(rc == 0, "destroy x, in the middle of its command", out + err)
        check(took <= DESTROY_LIMIT, "the destroy returned within %.0f s" % DESTROY_LIMIT,
              "%.2f s" % took)
        check("x" not in [d["name"] for d in run_json("domain-list")] and
              "x" not in vcoprocs(), "x: no domain, no vcoproc left")
        rc, out, err = run("list")
        check(rc == 0 and "gpu0" in out, "vcoprocd still answers", out + err)

        # The others go on, in their proportion, and keep the device busy.
        for attempt in range(3):
            delta, busy = measure(1.0)
            split = good_split(delta)
            note("after the destroy: g1:g2 %.3f:%.3f, gpu0 busy %.0f%%" %
                 (split["g1"], split["g2"], 100 * busy))
            if split_ok(split):
                break
        states = {d["name"]: d["state"] for d in run_json("domain-list")}
        check(all(states.get(n) == "running" for n in GOOD),
              "g1 and g2 still running after those windows", json.dumps(states))
        check(split_ok(split), "after it: g1:g2 is 1:2 within 3%", json.dumps(split))
        check(busy >= 0.5, "gpu0 busy with the others' work", "%.2f" % busy)

        # Their runs end: every result right, every canary intact.
        t = time.monotonic()
        while time.monotonic() - t < GOOD_SECONDS + 20:
            states = {d["name"]: d["state"] for d in run_json("domain-list")}
            if all(states.get(n) != "running" for n in GOOD):
                break
            time.sleep(0.5)
        for name in GOOD:
            con = console(name)
            m = re.search(r"^result: .*$", con, re.M)
            note("%s: %s (%s)" % (name, m.group(0) if m else "no result", states.get(name)))
            check(states.get(name) == "exited" and m and "hash ok" in m.group(0) and
                  "canaries=intact" in m.group(0) and "foreign=0 unknown=0" in m.group(0),
                  "%s: every result right, every canary intact" % name, con[-2000:])
        for name in GOOD:
            rc, out, err = run("destroy", name)
            check(rc == 0, "destroy " + name, out + err)

        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM: vcoprocd exits cleanly (status 0)", "status %s" % rc)
        check(not os.path.exists(sock), "its socket is removed")
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        err = daemon.stderr.read()
        if not all(results):
            note("vcoprocd stderr:\n" + err)
        shutil.rmtree(tmp, ignore_errors=True)
        print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
