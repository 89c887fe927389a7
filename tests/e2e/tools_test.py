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
"""
import gzip
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile

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


print("1..%d" % len(results))
for i, (ok, name, why) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if why:
        print("# " + why.replace("\n", "\n# "))
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
