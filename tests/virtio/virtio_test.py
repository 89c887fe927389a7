#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One Linux guest against a virtio-crypto backend: builds the guest image
(tools/linux-guest/linux-guest.py build), boots it once with afalg_test's
STEPs and checks that every step printed "result: ok" and the test program
exited 0.

    virtio_test.py --source SRC --build BUILD --test-program EXE
                   [--backend builtin|vhost-user:SOCKET] [--machine M]
                   [--timeout S] -- STEP...

Exit 77 (meson: SKIP) with the reason only where qemu-system-x86_64 or the
kernel package cannot be had; 0 when every step passed; 1 otherwise.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys

SKIP = 77
children = []


def on_term(signum, _frame):
    """Stop the guest's runner first: it stops QEMU."""
    for c in children:
        if c.poll() is None:
            c.terminate()
            try:
                c.wait(timeout=10)
            except subprocess.TimeoutExpired:
                c.kill()
    sys.exit(128 + signum)


def call(cmd, capture=False):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.STDOUT if capture else None, text=True)
    children.append(p)
    out, _ = p.communicate()
    children.remove(p)
    return p.returncode, out or ""


def main():
    signal.signal(signal.SIGTERM, on_term)
    argv = sys.argv[1:]
    steps = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--test-program", required=True)
    ap.add_argument("--backend", default="builtin")
    ap.add_argument("--machine", default="microvm")
    ap.add_argument("--timeout", type=float, default=240)
    args = ap.parse_args(argv)
    if not steps:
        ap.error("no afalg_test steps after --")
    tool = os.path.join(args.source, "tools", "linux-guest", "linux-guest.py")
    qemu = os.environ.get("VCOPROC_QEMU", "qemu-system-x86_64")
    if not shutil.which(qemu):
        print("skipped: no %s here (Debian: qemu-system-x86)" % qemu)
        return SKIP

    rc, _ = call([sys.executable, tool, "build", args.build, "--test-program", args.test_program])
    if rc == SKIP:
        print("skipped: the guest's kernel package cannot be had (see above)")
        return SKIP
    if rc:
        print("FAIL: linux-guest.py build exited %d" % rc)
        return 1

    cmd = [sys.executable, tool, "run", args.build, "--backend", args.backend,
           "--machine", args.machine, "--timeout", str(args.timeout), "--quiet",
           "--"] + steps
    rc, out = call(cmd, capture=True)
    sys.stdout.write(out)
    if rc == SKIP:
        print("skipped: the guest cannot run here (see above)")
        return SKIP
    results = re.findall(r"^result: (ok|FAIL) (\S+)", out, re.M)
    wanted, i = [], 0
    while i < len(steps):
        if steps[i].startswith("--"):
            i += 2
            continue
        if re.match(r"^[a-z]+(-[a-z]+)*$", steps[i]):
            wanted.append(steps[i])
        i += 1
    done = [name for _, name in results]
    failed = [name for ok, name in results if ok != "ok"]
    problems = []
    if rc:
        problems.append("the guest's test exited %d" % rc)
    if failed:
        problems.append("failed: " + ", ".join(failed))
    if done != wanted:
        problems.append("steps with a result: %s, expected %s"
                        % (" ".join(done) or "none", " ".join(wanted)))
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("ok: %s" % ", ".join(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
