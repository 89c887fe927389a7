#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Exclusive passthrough through vcoprocd, with builtin domains (no KVM).

    check_passthrough.py VCOPROCD VCOPROC PASSTHROUGH.DTB

examples/passthrough.dts shares simcp0 as gpu0 and reserves simcp1 (pt0)
for one domain.  A domain file with dtdev/iomem/irqs gets pt0: the listing
shows it as pt0's owner, its context is loaded once and never switched and
none of its register accesses is emulated, while a shared domain runs on
gpu0 beside it; both pass.  A second domain asking for pt0, a shared vcoproc
on pt0, a wrong iomem, a wrong irqs, a dtdev naming the shared device and
an iomem without dtdev are each refused with FILE:LINE:COL and leave
nothing; an algorithm for pt0 is refused.  When the owner ends, pt0 is
free and the next domain gets it.  Prints TAP."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, results  # noqa: E402 (tests/tap.py)

VCOPROCD, VCOPROC, DTB = sys.argv[1:4]
NODE = "/coprocessors/coprocessor@fe001000"


def cli(*args, timeout=30):
    p = subprocess.run([VCOPROC] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def cli_json(*args):
    rc, out, err = cli(*args, "--json")
    if rc:
        raise RuntimeError("vcoproc %s: %s" % (" ".join(args), err))
    return json.loads(out)


def domfile(tmp, name, extra, dtdev=NODE, iomem="fe001,1", irqs="17"):
    text = 'name = "%s"\nkernel = "builtin:compute"\nextra = "%s"\n' % (name, extra)
    if dtdev:
        text += 'dtdev = [ "%s" ]\n' % dtdev
    if iomem:
        text += 'iomem = [ "%s" ]\n' % iomem
    if irqs:
        text += 'irqs = [ %s ]\n' % irqs
    path = os.path.join(tmp, name + ".cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def pt0():
    return [c for c in cli_json("list") if c["id"] == "pt0"][0]


def domains():
    return sorted(d["name"] for d in cli_json("domain-list"))


def refused(path, want, what, before):
    rc, out, err = cli("create", path)
    loc = re.escape(path) + r":\d+:\d+: "
    check(rc != 0 and re.search(loc + ".*" + re.escape(want), err),
          "%s is refused with FILE:LINE:COL" % what, "rc %d: %s%s" % (rc, out, err))
    check(domains() == before and pt0()["vcoprocs"] == (1 if "a" in before else 0),
          "%s leaves nothing" % what, "%s; pt0 %r" % (domains(), pt0()))


def wait_state(name, state, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        d = [x for x in cli_json("domain-list") if x["name"] == name]
        if d and d[0]["state"] == state:
            return True
        time.sleep(0.2)
    return False


def passed(name, coproc):
    _, out, _ = cli("console", name, "--no-follow")
    return re.search(r"^result: pass compute on %s: " % coproc, out, re.M) is not None, out


def main():
    tmp = tempfile.mkdtemp(prefix="vcoprocd-pt-")
    sock = os.path.join(tmp, "s")
    os.environ["VCOPROC_SOCKET"] = sock
    os.environ["VCOPROC_KVM_DEVICE"] = "/nonexistent/kvm"
    d = subprocess.Popen([VCOPROCD, "--dtb", DTB, "--socket", sock, "--no-echo"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = d.stdout.readline().strip()
        if not check(ready == "ready", "vcoprocd starts with a passthrough coprocessor",
                     d.stderr.read() if ready != "ready" else ""):
            return
        c = pt0()
        check(c["passthrough"] and c["owner"] is None and c["algorithm"] == "passthrough",
              "pt0 is listed as a free passthrough device", c)
        rc, _, err = cli("sched-set", "pt0", "--algo", "rr")
        check(rc != 0, "pt0 cannot be given an algorithm", err)

        a = domfile(tmp, "a", "seconds=3")
        s = os.path.join(tmp, "s.cfg")
        with open(s, "w") as f:
            f.write('name = "s"\nkernel = "builtin:compute"\nextra = "seconds=3"\n'
                    'vcoproc = [ "gpu0" ]\n')
        rc1, _, e1 = cli("create", a)
        rc2, _, e2 = cli("create", s)
        check(rc1 == 0 and rc2 == 0, "a gets pt0 (dtdev, iomem, irqs); s shares gpu0", e1 + e2)
        c = pt0()
        check(c["owner"] == "a" and c["vcoprocs"] == 1, "the listing shows a as pt0's owner", c)
        rc, out, _ = cli("list")
        check(re.search(r"^pt0 .*passthrough to a$", out, re.M), "vcoproc list marks it", out)

        refused(domfile(tmp, "b", "seconds=1"), 'assigned to domain "a"',
                "a second domain asking for pt0", ["a", "s"])
        c_cfg = os.path.join(tmp, "c.cfg")
        with open(c_cfg, "w") as f:
            f.write('name = "c"\nkernel = "builtin:compute"\nvcoproc = [ "pt0" ]\n')
        refused(c_cfg, "reserved for passthrough", "a shared vcoproc on pt0", ["a", "s"])
        refused(domfile(tmp, "d", "", iomem="fe002,1"), 'expected "fe001,1" in iomem',
                "a wrong iomem", ["a", "s"])
        refused(domfile(tmp, "e", "", irqs="18"), "expected 17 in irqs", "a wrong irqs",
                ["a", "s"])
        refused(domfile(tmp, "f", "", dtdev="/coprocessors/coprocessor@fe000000",
                        iomem="fe000,1", irqs="16"), 'shared as "gpu0"',
                "a dtdev naming a shared device", ["a", "s"])
        refused(domfile(tmp, "g", "", dtdev=None), 'expected a "dtdev" setting with iomem',
                "iomem without dtdev", ["a", "s"])

        time.sleep(1)
        v = [x for x in cli_json("vcoproc-list", "-c", "pt0") if x["domain"] == "a"][0]
        st = v["stats"]
        check(st["switches_in"] == 1 and st["switches_out"] == 0 and st["mmio_emulated"] == 0
              and st["mmio_forwarded"] > 0 and v["loaded"],
              "a's context stays on pt0: loaded once, every access forwarded", v)
        check(wait_state("a", "exited") and wait_state("s", "exited"), "a and s end")
        ok_a, out_a = passed("a", "pt0")
        ok_s, out_s = passed("s", "gpu0")
        check(ok_a and ok_s, "both verified their results", out_a[-500:] + out_s[-500:])

        c = pt0()
        check(c["owner"] is None and c["vcoprocs"] == 0, "pt0 is free when its owner ends", c)
        b = domfile(tmp, "b", "seconds=1")
        rc, _, err = cli("create", b)
        check(rc == 0 and pt0()["owner"] == "b", "the next domain gets pt0", err)
        check(wait_state("b", "exited") and passed("b", "pt0")[0], "and passes on it",
              passed("b", "pt0")[1][-500:])
    finally:
        d.terminate()
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
    check(d.returncode == 0, "vcoprocd exits cleanly", d.stderr.read()[-2000:])


if __name__ == "__main__":
    try:
        main()
    finally:
        print("1..%d" % len(results))
    sys.exit(0 if results and all(results) else 1)
