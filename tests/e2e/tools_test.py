#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the tools that run the e2e suite where KVM is missing (TAP).

usage: tools_test.py SOURCE_DIR

- tools/test-summary.py with several logs: a test skipped in the first log
  counts with its result from a later one, only once; a test that ran in
  both counts twice; --rerun SUITE counts a skipped test of SUITE with no
  later result as failed, and a missing later log as empty; TAP cases count
  each.
- tools/kvm-vm/kvm-vm.py's initramfs: a newc cpio archive (read back here
  with an independent reader) holding /init, busybox, /dev/console as a
  character device 5:1, the modules in their load order and /vm.conf with
  the values shell-quoted.
- tests/e2e/e2e.py's stall handling: StallWatch sees a process stopped
  (SIGSTOP) for its length; a share case measures once more only when it
  failed after a stall, and the second measurement decides; extra
  interrupts count exactly on KVM, and in the emulated VM all but the
  guest's spurious handler runs count.
"""
import contextlib
import gzip
import importlib.util
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # importing kvm-vm.py leaves nothing in the source tree
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
TMP = tempfile.mkdtemp(prefix="vcoproc-tools-test-")
results = []


def case(name):
    def wrap(fn):
        try:
            fn()
            results.append((True, name, ""))
        except AssertionError as e:
            results.append((False, name, str(e)))
        return fn
    return wrap


def write_log(name, entries):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        for e in entries:
            f.write(json.dumps(e) + "\n")
    return path


def summary(*args):
    p = subprocess.run([sys.executable, os.path.join(SRC, "tools", "test-summary.py")]
                       + list(args), capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    return p.returncode, lines[-1] if lines else "", lines


def e2e(name, result, out=""):
    return {"name": "vcoproc:e2e / e2e-" + name, "result": result, "stdout": out}


HOST = [
    {"name": "vcoproc:unit / core", "result": "OK", "protocol": "tap",
     "stdout": "ok 1 - a\nok 2 - b\nok 3 - c # SKIP no algo\n1..3\n"},
    e2e("hello", "SKIP", "SKIP: vcoprocd: KVM is not usable: no /dev/kvm\n"),
    e2e("hash", "SKIP", "SKIP: vcoprocd: KVM is not usable: no /dev/kvm\n"),
    e2e("vcpus", "SKIP", "SKIP: vcoprocd: KVM is not usable: no /dev/kvm\n"),
]


@case("summary: host log alone: TAP cases and skips")
def _():
    rc, last, _ = summary(write_log("host.json", HOST))
    assert (rc, last) == (0, "2 passed, 0 failed, 4 skipped"), (rc, last)


@case("summary: skipped e2e tests replaced by the VM's results, once each")
def _():
    vm = write_log("vm.json", [e2e("hello", "OK"), e2e("hash", "FAIL"), e2e("vcpus", "OK")])
    rc, last, _ = summary(write_log("host.json", HOST), vm, "--rerun", "e2e")
    assert (rc, last) == (1, "4 passed, 1 failed, 1 skipped"), (rc, last)


@case("summary: a test that ran in both logs counts twice")
def _():
    host = write_log("host-kvm.json", [e2e("hello", "OK"), e2e("hash", "OK")])
    vm = write_log("vm2.json", [e2e("hello", "OK"), e2e("hash", "OK")])
    rc, last, _ = summary(host, vm, "--rerun", "e2e")
    assert (rc, last) == (0, "4 passed, 0 failed, 0 skipped"), (rc, last)


@case("summary: --rerun: a skipped e2e test the VM did not run counts as failed")
def _():
    vm = write_log("vm3.json", [e2e("hello", "OK")])
    rc, last, lines = summary(write_log("host.json", HOST), vm, "--rerun", "e2e")
    assert (rc, last) == (1, "3 passed, 2 failed, 1 skipped"), (rc, last)
    assert any("e2e-hash" in l and "not rerun" in l for l in lines), lines


@case("summary: --rerun with the VM's log missing: every skipped e2e test fails")
def _():
    rc, last, _ = summary(write_log("host.json", HOST), os.path.join(TMP, "none.json"),
                          "--rerun", "e2e")
    assert (rc, last) == (1, "2 passed, 3 failed, 1 skipped"), (rc, last)


@case("summary: without --rerun a missing later log changes nothing")
def _():
    rc, last, _ = summary(write_log("host.json", HOST), os.path.join(TMP, "none.json"))
    assert (rc, last) == (0, "2 passed, 0 failed, 4 skipped"), (rc, last)


def read_newc(data):
    """{name: (mode, (rdevmajor, rdevminor), data)} of a newc cpio archive."""
    out, off = {}, 0
    while True:
        assert data[off:off + 6] == b"070701", "bad magic at %d" % off
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = f[1], f[6], f[9], f[10], f[11]
        name = data[off + 110: off + 110 + namesize - 1].decode()
        off = (off + 110 + namesize + 3) & ~3
        body = data[off: off + size]
        off = (off + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, (rmaj, rmin), body)


@case("kvm-vm: the initramfs is a newc archive with /init, busybox, console, modules")
def _():
    spec = importlib.util.spec_from_file_location(
        "kvm_vm", os.path.join(SRC, "tools", "kvm-vm", "kvm-vm.py"))
    kvm_vm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kvm_vm)
    kdir = os.path.join(TMP, "linux")
    os.makedirs(os.path.join(kdir, "modules"))
    for m in ("virtio_ring", "virtio"):
        with open(os.path.join(kdir, "modules", m + ".ko"), "wb") as f:
            f.write(b"\x7fELF" + m.encode() * 3)
    with open(os.path.join(kdir, "modules.load"), "w") as f:
        f.write("virtio_ring\nvirtio\n")
    busybox = os.path.join(TMP, "busybox")
    with open(busybox, "wb") as f:
        f.write(b"\x7fELF static")
    path = os.path.join(TMP, "initramfs.gz")
    kvm_vm.initramfs(path, kdir, busybox, {"VM_BUILD": "/w/build dir",
                                           "VM_COMMAND": "meson test 'a b'"})
    with gzip.open(path) as f:
        a = read_newc(f.read())
    assert a["init"][0] == 0o100755, oct(a["init"][0])
    with open(os.path.join(SRC, "tools", "kvm-vm", "init.sh"), "rb") as f:
        assert a["init"][2] == f.read(), "init is not init.sh"
    assert a["bin/busybox"] == (0o100755, (0, 0), b"\x7fELF static"), a["bin/busybox"]
    assert a["dev/console"][:2] == (0o020600, (5, 1)), a["dev/console"][:2]
    for d in ("bin", "dev", "proc", "sys", "modules", "newroot"):
        assert a[d][0] == 0o040755, d
    assert a["modules/virtio.ko"][2] == b"\x7fELFvirtiovirtiovirtio"
    conf = dict(l.split("=", 1) for l in a["vm.conf"][2].decode().splitlines())
    assert shlex.split(conf["VM_BUILD"]) == ["/w/build dir"], conf
    assert shlex.split(conf["VM_COMMAND"]) == ["meson test 'a b'"], conf
    # The load order is the file's: virtio_ring before virtio.
    assert shlex.split(conf["VM_MODULES"]) == ["virtio_ring virtio"], conf


def load_e2e():
    spec = importlib.util.spec_from_file_location(
        "e2e", os.path.join(SRC, "tests", "e2e", "e2e.py"))
    e2e = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(e2e)
    return e2e


@case("e2e: a share case that fails after a stall is measured once more; that decides")
def _():
    e2e = load_e2e()
    calls = []

    def measure(stalls, fails):
        @e2e.remeasure_after_stall
        def fake(ctx):
            i = len(calls)
            calls.append(i)
            ctx["stall"] = stalls[i]
            if fails[i]:
                raise e2e.Failed("share off")
        return fake

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        del calls[:]
        measure([0.3, 0.0], [True, False])({})
        assert calls == [0, 1], calls
        assert "stalled for 300 ms" in out.getvalue() and "measuring once more" in \
            out.getvalue(), "not said: %r" % out.getvalue()
        del calls[:]
        try:
            measure([0.05], [True])({})
            assert False, "a failure without a stall passed"
        except e2e.Failed:
            assert calls == [0], calls
        del calls[:]
        try:
            measure([0.3, 0.3], [True, True])({})
            assert False, "a second failure passed"
        except e2e.Failed:
            assert calls == [0, 1], calls
        del calls[:]
        measure([0.3], [False])({})
        assert calls == [0], "a passing case ran again: %r" % calls


@case("e2e: extra interrupts: exact on KVM; in the emulated VM only spurious runs pass")
def _():
    e2e = load_e2e()
    e2e.IN_EMULATED_VM = False
    assert e2e.extra_irqs({"irqs": 246, "spurious": 2}, 244) == 2
    assert e2e.extra_irqs({"irqs": 244, "spurious": 2}, 244) == 0
    assert e2e.extra_irqs({"irqs": 200, "spurious": 0}, 244) == 0
    e2e.IN_EMULATED_VM = True
    assert e2e.extra_irqs({"irqs": 246, "spurious": 2}, 244) == 0
    assert e2e.extra_irqs({"irqs": 246, "spurious": 1}, 244) == 1
    assert e2e.extra_irqs({"irqs": 246}, 244) == 2


@case("e2e: StallWatch sees the process stopped for 0.4 s")
def _():
    code = ("import importlib.util, sys, time\n"
            "spec = importlib.util.spec_from_file_location('e2e', sys.argv[1])\n"
            "e2e = importlib.util.module_from_spec(spec); spec.loader.exec_module(e2e)\n"
            "w = e2e.StallWatch(); print('watching', flush=True); time.sleep(1.2)\n"
            "print('%.3f' % w.stop())\n")
    p = subprocess.Popen([sys.executable, "-c", code,
                          os.path.join(SRC, "tests", "e2e", "e2e.py")],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "watching"
    time.sleep(0.2)
    p.send_signal(signal.SIGSTOP)
    time.sleep(0.4)
    p.send_signal(signal.SIGCONT)
    longest = float(p.communicate(timeout=30)[0].strip())
    assert 0.3 <= longest < 1.2, "longest stall seen: %.3f s" % longest


print("1..%d" % len(results))
for i, (ok, name, why) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if why:
        print("# " + why.replace("\n", "\n# "))
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
