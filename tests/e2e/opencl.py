#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""KVM guests sharing the OpenCL platform (platform/opencl, docs/opencl.md).

usage: opencl.py VCOPROCD VCOPROC OPENCL.DTB GUEST_DIR

vcoprocd --dtb OPENCL.DTB (examples/opencl.dts: gpu0 is an OpenCL device,
PoCL's CPU device here, under credit) -> vcoproc create g1 and g2 (the hash
workload with its unmodified simcp driver, every free byte of their memory
under canaries, weights 1:2) -> both busy: g1:g2 is 1:2 within 5% -> both
finish: every result right (checked by the guests), every canary intact ->
SIGTERM: exit status 0.  Exits 77 (meson: SKIP) with the reason when KVM
is not usable here, or vcoprocd finds no OpenCL device.  Prints TAP.
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
from tap import check, note, plan  # noqa: E402 (tests/tap.py)

VCOPROCD, VCOPROC, DTB, GUEST_DIR = sys.argv[1:5]
WEIGHTS = {"g1": 256, "g2": 512}
TOLERANCE = 0.05
SECONDS = 10


def main():
    p = subprocess.run([VCOPROCD, "--probe"], capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: " + (p.stdout + p.stderr).strip())
        return 77
    tmp = tempfile.mkdtemp(prefix="vcoprocd-ocl-")
    sock = os.path.join(tmp, "vcoprocd.sock")
    hash_elf = os.path.abspath(os.path.join(GUEST_DIR, "hash.elf"))
    cfgs = {}
    for name, w in WEIGHTS.items():
        cfgs[name] = os.path.join(tmp, name + ".cfg")
        with open(cfgs[name], "w") as f:
            f.write('name = "%s"\nkernel = "%s"\nmemory = 32\nextra = "seconds=%d size=4K '
                    'bufs=32 compute=20ms chunk=2ms canaries=1"\nvcoproc = [ "gpu0,weight=%d" ]\n'
                    % (name, hash_elf, SECONDS, w))

    cli = Cli(VCOPROC, sock)
    run, run_json = cli.run, cli.json
    console = cli.console

    def run_ns():
        return {v["domain"]: v["stats"]["run_ns"] for v in run_json("vcoproc-list", "-c", "gpu0")}

    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(tmp, "pocl-cache"))
    daemon = subprocess.Popen([VCOPROCD, "--dtb", DTB, "--socket", sock, "--no-echo"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = daemon.stdout.readline().strip()
        if ready != "ready":
            daemon.wait(timeout=30)
            err = daemon.stderr.read()
            if re.search(r"OpenCL|opencl", err):
                print("SKIP: no OpenCL device for gpu0: " + err.strip().splitlines()[-1])
                return 77
            check(False, "vcoprocd: ready", err)
            return plan()
        check(True, "vcoprocd: ready, gpu0 an OpenCL device")
        cps = run_json("list")
        check(cps and cps[0]["compatible"] == "vcoproc,opencl" and cps[0].get("model"),
              "list: gpu0 is vcoproc,opencl, and names its OpenCL device", json.dumps(cps))
        rc, out, _ = run("list")
        check(rc == 0 and cps[0].get("model", "-") in out, "vcoproc list shows the device's name",
              out)
        for name in WEIGHTS:
            rc, out, err = run("create", cfgs[name])
            check(rc == 0, "create " + name, out + err)

        t = time.monotonic()
        while time.monotonic() - t < 30 and not all(
                re.search(r"^hash: \d+ x ", console(n), re.M) for n in WEIGHTS):
            time.sleep(0.2)
        split = {}
        for attempt in range(3):
            a = run_ns()
            time.sleep(2)
            b = run_ns()
            d = {n: b.get(n, 0) - a.get(n, 0) for n in WEIGHTS}
            total = sum(d.values())
            split = {n: d[n] / total if total else 0.0 for n in WEIGHTS}
            note("g1:g2 %.3f:%.3f over 2 s" % (split["g1"], split["g2"]))
            ok = all(abs(split[n] - w / sum(WEIGHTS.values())) <= TOLERANCE * w /
                     sum(WEIGHTS.values()) for n, w in WEIGHTS.items())
            if ok:
                break
        check(ok, "both busy: g1:g2 is 1:2 within 5%", json.dumps(split))

        t = time.monotonic()
        states = {}
        while time.monotonic() - t < SECONDS + 60:
            states = {x["name"]: x["state"] for x in run_json("domain-list")}
            if all(states.get(n) != "running" for n in WEIGHTS):
                break
            time.sleep(0.5)
        for name in WEIGHTS:
            con = console(name)
            m = re.search(r"^result: .*$", con, re.M)
            note("%s: %s (%s)" % (name, m.group(0) if m else "no result", states.get(name)))
            check(states.get(name) == "exited" and m and "hash ok" in m.group(0) and
                  "canaries=intact" in m.group(0),
                  "%s: every result right, every canary intact" % name, con[-2000:])
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM: vcoprocd exits cleanly (status 0)", "status %s" % rc)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
