#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vcoprocd on a machine without KVM (VCOPROC_KVM_DEVICE names a device that
does not exist, so this runs the same with or without /dev/kvm).

    check_nokvm.py VCOPROCD VCOPROC SYSTEM.DTB EXAMPLES-DIR

A device-tree error is reported before anything about KVM -> the daemon
starts and serves list, vcoproc-list, sched-get/set, vcoproc-set, top and
trace -> creating a KVM domain (examples/hash1.cfg) is refused with the
reason and leaves no domain, vcoproc or context behind -> two builtin
domains share gpu0 1:3 -> an algorithm round trip keeps both -> a --domain
run refuses a KVM guest with the reason and runs a builtin one -> SIGTERM
shuts down cleanly.  Prints TAP."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, results  # noqa: E402 (tests/tap.py)

VCOPROCD, VCOPROC, DTB, EXAMPLES = sys.argv[1:5]
NOKVM = "/nonexistent/kvm"
REASON = "KVM is not usable here: cannot open %s: No such file or directory" % NOKVM


def cli(*args, timeout=30):
    p = subprocess.run([VCOPROC] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def cli_json(*args):
    rc, out, err = cli(*args, "--json")
    if rc:
        raise RuntimeError("vcoproc %s: %s" % (" ".join(args), err))
    return json.loads(out)


def run_ns(dom):
    return {v["domain"]: v["stats"]["run_ns"] for v in cli_json("vcoproc-list", "-c", "gpu0")}.get(dom, 0)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    env = dict(os.environ, VCOPROC_KVM_DEVICE=NOKVM)
    os.environ.update(env)
    tmp = tempfile.mkdtemp(prefix="vcoprocd-nokvm-")
    sock = os.path.join(tmp, "s")
    os.environ["VCOPROC_SOCKET"] = sock

    # --dtb errors come first: nothing about KVM.
    p = subprocess.run([VCOPROCD, "--dtb", os.path.join(tmp, "none.dtb"), "--socket", sock],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "none.dtb" in p.stderr and "KVM" not in p.stderr,
          "a missing device tree is reported before any KVM check", p.stderr)

    d = subprocess.Popen([VCOPROCD, "--dtb", DTB, "--socket", sock, "--no-echo"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = d.stdout.readline().strip()
        if not check(ready == "ready", "vcoprocd starts without KVM and listens",
                     d.stderr.read() if ready != "ready" else ""):
            return
        lst = cli_json("list")
        names = sorted(c["id"] for c in lst)
        check(names == ["gpu0", "gpu1"], "list: the device tree's coprocessors", lst)

        rc, out, err = cli("create", os.path.join(EXAMPLES, "hash1.cfg"))
        check(rc == 1 and REASON in err, "a KVM domain is refused with the reason", err)
        check(cli_json("domain-list") == [] and cli_json("vcoproc-list") == [] and
              all(c["vcoprocs"] == 0 for c in cli_json("list")),
              "and leaves no domain and no vcoproc behind")

        b1 = write(tmp, "b1.cfg", 'name = "b1"\nkernel = "builtin:compute"\nvcoproc = [ "gpu0" ]\n')
        b2 = write(tmp, "b2.cfg", 'name = "b2"\nkernel = "builtin:compute"\n'
                   'vcoproc = [ "gpu0,weight=256" ]\n')
        rc1, _, e1 = cli("create", b1)
        rc2, _, e2 = cli("create", b2)
        check(rc1 == 0 and rc2 == 0, "builtin domains are created", e1 + e2)
        rc, _, err = cli("vcoproc-set", "b2", "gpu0", "weight=768")
        check(rc == 0, "vcoproc-set b2 gpu0 weight=768", err)
        exp = {v["domain"]: v["expected_share"] for v in cli_json("vcoproc-list", "-c", "gpu0")}
        check(exp == {"b1": 0.25, "b2": 0.75}, "vcoproc-list --json: expected shares 1/4, 3/4", exp)
        time.sleep(1.0)
        a1, a2 = run_ns("b1"), run_ns("b2")
        time.sleep(2.0)
        r1, r2 = run_ns("b1") - a1, run_ns("b2") - a2
        share = r2 / (r1 + r2) if r1 + r2 else 0
        check(abs(share - 0.75) < 0.05, "shares follow the weights 1:3 (b2 %.3f)" % share)

        rc, _, err = cli("sched-set", "gpu0", "--algo", "rr")
        sg = cli_json("sched-get", "gpu0")
        vl = [v["domain"] for v in cli_json("vcoproc-list", "-c", "gpu0")]
        check(rc == 0 and "rr" in json.dumps(sg) and sorted(vl) == ["b1", "b2"],
              "sched-set gpu0 --algo rr keeps both vcoprocs", err + json.dumps(sg))
        rc, _, err = cli("sched-set", "gpu0", "--algo", "credit")
        check(rc == 0 and "credit" in json.dumps(cli_json("sched-get", "gpu0")),
              "and back to credit", err)

        rc, out, err = cli("top", "-n", "1", "-d", "0.2", "--json")
        check(rc == 0 and "b1" in out, "top", err)
        trace = os.path.join(tmp, "t.json")
        rc, out, err = cli("trace", "gpu0", "-o", trace, "-t", "0.5")
        ok = rc == 0
        if ok:
            with open(trace) as f:
                ok = len(json.load(f).get("traceEvents", [])) > 0
        check(ok, "trace gpu0 writes events", err)

        for dom in ("b1", "b2"):
            cli("destroy", dom)
        check(cli_json("domain-list") == [], "destroy leaves nothing")
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = -1
        check(rc == 0, "SIGTERM shuts the daemon down cleanly (exit %d)" % rc)

    # A --domain run: a KVM guest is refused with the reason, a builtin one runs.
    p = subprocess.run([VCOPROCD, "--domain", "kernel=%s" % os.path.join(EXAMPLES, "hash1.cfg"),
                        "--seconds", "1", "--quiet"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and REASON in p.stderr, "--domain: a KVM guest is refused", p.stderr)
    p = subprocess.run([VCOPROCD, "--domain", "kernel=builtin:compute,cmdline=seconds=1",
                        "--domain", "kernel=builtin:compute,cmdline=seconds=1,weight=512",
                        "--json", "-", "--no-echo", "--interval", "0"],
                       capture_output=True, text=True, timeout=60)
    ok = p.returncode == 0
    if ok:
        s = json.loads(p.stdout)
        ok = [x["verdict"] for x in s["domains"]] == ["pass", "pass"] and \
            all(x["stats"]["jobs"] > 0 for x in s["domains"])
    check(ok, "--domain: builtin guests run and pass", p.stdout[-2000:] + p.stderr[-2000:])

    # The host's share check takes the scheduler's word: a bare number in an
    # arinc653 frame is ms to the scheduler, so a:10,b:30ms promises 1/4, 3/4.
    p = subprocess.run([VCOPROCD, "--algo", "arinc653", "--param", "frame=a:10,b:30ms",
                        "--domain", "kernel=builtin:compute,name=a,cmdline=seconds=2",
                        "--domain", "kernel=builtin:compute,name=b,cmdline=seconds=2",
                        "--check-shares", "5%", "--json", "-", "--no-echo", "--interval", "0"],
                       capture_output=True, text=True, timeout=60)
    ok = p.returncode == 0
    if ok:
        s = json.loads(p.stdout)
        ok = [(x["name"], x["expected_share"]) for x in s["domains"]] == [("a", 0.25), ("b", 0.75)]
    check(ok, "arinc653 frame a:10,b:30ms: the host expects 1/4, 3/4 and measures it",
          p.stdout[-2000:] + p.stderr[-2000:])
    print("1..%d" % len(results))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
