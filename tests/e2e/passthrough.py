#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Exclusive passthrough with KVM guests, through vcoprocd's control socket.

usage: passthrough.py VCOPROCD VCOPROC PASSTHROUGH.DTB GUEST_DIR

vcoprocd --dtb PASSTHROUGH.DTB (examples/passthrough.dts: simcp0 shared as
gpu0, simcp1 reserved as pt0) -> vcoproc create p (hash guest, its memory
under canaries, given pt0 with dtdev/iomem/irqs) and s (hash guest on
gpu0) -> p finds the device at pt0's own address and interrupt (the board
info), its context is loaded once and never switched out, every register
access forwarded and none emulated, it has pt0's whole time -> a second
KVM domain asking for pt0 is refused with FILE:LINE:COL and leaves nothing
-> p and s finish: every result right, every canary intact -> p destroyed:
pt0 is free -> SIGTERM: exit status 0.  Exits 77 (meson: SKIP) with the
reason when KVM is not usable here.  Prints TAP.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ctlcli import Cli  # noqa: E402 (tests/ctlcli.py)
from tap import check, note, results  # noqa: E402 (tests/tap.py)

VCOPROCD, VCOPROC, DTB, GUEST_DIR = sys.argv[1:5]
NODE = "/coprocessors/coprocessor@fe001000"
SECONDS = 6


def main():
    p = subprocess.run([VCOPROCD, "--probe"], capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: " + (p.stdout + p.stderr).strip())
        return 77
    tmp = tempfile.mkdtemp(prefix="vcoprocd-pt-")
    sock = os.path.join(tmp, "vcoprocd.sock")
    hash_elf = os.path.abspath(os.path.join(GUEST_DIR, "hash.elf"))
    extra = "seconds=%d size=4K bufs=16 compute=2ms chunk=500us canaries=1" % SECONDS
    assign = 'dtdev = [ "%s" ]\niomem = [ "fe001,1" ]\nirqs = [ 17 ]\n' % NODE
    cfgs = {
        "p": 'name = "p"\nkernel = "%s"\nmemory = 32\nextra = "%s"\n%s' % (hash_elf, extra, assign),
        "s": 'name = "s"\nkernel = "%s"\nmemory = 32\nextra = "%s"\nvcoproc = [ "gpu0" ]\n'
             % (hash_elf, extra),
        "q": 'name = "q"\nkernel = "%s"\nmemory = 16\nextra = "seconds=1"\n%s' % (hash_elf, assign),
    }
    for name, text in cfgs.items():
        cfgs[name] = os.path.join(tmp, name + ".cfg")
        with open(cfgs[name], "w") as f:
            f.write(text)

    cli = Cli(VCOPROC, sock)
    run, run_json = cli.run, cli.json
    console = cli.console

    def pt0():
        return [c for c in run_json("list") if c["id"] == "pt0"][0]

    daemon = subprocess.Popen([VCOPROCD, "--dtb", DTB, "--socket", sock, "--no-echo"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not check(daemon.stdout.readline().strip() == "ready", "vcoprocd: ready"):
            return 1
        for name in ("p", "s"):
            rc, out, err = run("create", cfgs[name])
            check(rc == 0 and ("created domain " + name) in out, "create " + name, out + err)
        c = pt0()
        check(c["passthrough"] and c["owner"] == "p", "p owns pt0", json.dumps(c))

        rc, out, err = run("create", cfgs["q"])
        check(rc != 0 and re.search(re.escape(cfgs["q"]) + r":\d+:\d+: .*assigned to domain \"p\"",
                                    err), "a second KVM domain asking for pt0 is refused", out + err)
        check("q" not in [d["name"] for d in run_json("domain-list")] and pt0()["vcoprocs"] == 1,
              "and leaves nothing")

        # p at work on its own device.
        t = time.monotonic()
        while time.monotonic() - t < 20 and not re.search(r"^hash: \d+ x ", console("p"), re.M):
            time.sleep(0.2)
        time.sleep(1)
        v = [x for x in run_json("vcoproc-list", "-c", "pt0") if x["domain"] == "p"][0]
        st = v["stats"]
        note("p on pt0: %s" % json.dumps(st))
        check(v["loaded"] and st["switches_in"] == 1 and st["switches_out"] == 0,
              "p's context was loaded once and never switched out")
        check(st["mmio_emulated"] == 0 and st["mmio_forwarded"] > 0 and st["irqs"] > 0,
              "every access of p forwarded, none emulated; its interrupts delivered")

        t = time.monotonic()
        states = {}
        while time.monotonic() - t < SECONDS + 30:
            states = {d["name"]: d["state"] for d in run_json("domain-list")}
            if all(states.get(n) != "running" for n in ("p", "s")):
                break
            time.sleep(0.5)
        for name in ("p", "s"):
            con = console(name)
            m = re.search(r"^result: .*$", con, re.M)
            note("%s: %s (%s)" % (name, m.group(0) if m else "no result", states.get(name)))
            check(states.get(name) == "exited" and m and "hash ok" in m.group(0) and
                  "canaries=intact" in m.group(0),
                  "%s: every result right, every canary intact" % name, con[-2000:])
        c = pt0()
        check(c["owner"] is None and c["vcoprocs"] == 0, "pt0 is free once p has ended",
              json.dumps(c))

        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM: vcoprocd exits cleanly (status 0)", "status %s" % rc)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
