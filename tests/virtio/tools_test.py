#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of tools/linux-guest/linux-guest.py without QEMU or a kernel (TAP).

usage: tools_test.py SOURCE_DIR

- module resolution from a modules.dep: dependencies before what needs
  them, each once, a module missing from modules.dep or a dependency that
  modules.dep does not list (a module's own depends=) refused;
- the kernel package's name, version and release from its file name;
- the PVH vmlinux taken out of a bzImage-like file (XZ payload), and none
  where the ELF has no PVH note;
- the kernel command line: afalg_test's words after "-- afalg_test",
  microvm's force-legacy and transport, q35's vectors=0, vhost-user's
  shared memory; words with a double quote refused;
- the initramfs's cpio: entries readable by an independent reader, parents
  before children, no empty name.
"""
import importlib.util
import lzma
import os
import shutil
import sys
import tempfile
import types

sys.dont_write_bytecode = True  # importing linux-guest.py leaves nothing in the source tree
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
TMP = tempfile.mkdtemp(prefix="vcoproc-linux-guest-test-")
results = []

spec = importlib.util.spec_from_file_location(
    "linux_guest", os.path.join(SRC, "tools", "linux-guest", "linux-guest.py"))
lg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lg)


def case(name):
    def wrap(fn):
        try:
            fn()
            results.append((True, name, ""))
        except (AssertionError, lg.Failed) as e:
            results.append((False, name, str(e)))
        return fn
    return wrap


def fake_module(moddir, rel, depends):
    path = os.path.join(moddir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\x7fELF...\0depends=%s\0vermagic=6.1\0" % ",".join(depends).encode())


def fake_tree(name, deps_listed, deps_own):
    moddir = os.path.join(TMP, name)
    mods = {"virtio_crypto": "kernel/drivers/crypto/virtio/virtio_crypto.ko",
            "virtio": "kernel/drivers/virtio/virtio.ko",
            "virtio_ring": "kernel/drivers/virtio/virtio_ring.ko",
            "crypto_engine": "kernel/crypto/crypto_engine.ko"}
    with open(os.path.join(os.makedirs(moddir, exist_ok=True) or moddir, "modules.dep"),
              "w") as f:
        for n, rel in mods.items():
            f.write("%s: %s\n" % (rel, " ".join(mods[d] for d in deps_listed.get(n, []))))
            fake_module(moddir, rel, deps_own.get(n, []))
    return moddir


DEPS = {"virtio_crypto": ["crypto_engine", "virtio", "virtio_ring"], "virtio": ["virtio_ring"]}


@case("modules.dep: dependencies first, each once")
def _():
    moddir = fake_tree("ok", DEPS, DEPS)
    order = [os.path.basename(p)[:-3] for p in lg.resolve(moddir, ["virtio", "virtio_crypto"])]
    assert order == ["virtio_ring", "virtio", "crypto_engine", "virtio_crypto"], order


@case("modules.dep: a missing module or an unlisted dependency is refused")
def _():
    moddir = fake_tree("missing", DEPS, DEPS)
    try:
        lg.resolve(moddir, ["af_alg"])
        assert False, "af_alg resolved"
    except lg.Failed as e:
        assert "af_alg" in str(e), e
    moddir = fake_tree("unlisted", {"virtio_crypto": ["virtio"]}, DEPS)
    try:
        lg.resolve(moddir, ["virtio_crypto"])
        assert False, "virtio_crypto resolved without crypto_engine"
    except lg.Failed as e:
        assert "crypto_engine" in str(e), e


@case("modules.dep written from depends= where there is no depmod")
def _():
    moddir = fake_tree("nodepmod", DEPS, DEPS)
    os.unlink(os.path.join(moddir, "modules.dep"))
    lg.write_modules_dep(moddir)
    order = [os.path.basename(p)[:-3] for p in lg.resolve(moddir, ["virtio_crypto"])]
    assert order[-1] == "virtio_crypto" and set(order) == {
        "virtio_ring", "virtio", "crypto_engine", "virtio_crypto"}, order


@case("kernel package file name")
def _():
    f = lg.deb_fields("linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb")
    assert f == ("linux-image-6.1.0-57-amd64", "6.1.192-3", "6.1.0-57-amd64"), f
    f = lg.deb_fields("linux-image-6.1.0-9-amd64_1%3a6.1.27-1_amd64.deb")
    assert f[1] == "1:6.1.27-1", f


@case("PVH vmlinux out of a bzImage; none without the PVH note")
def _():
    note = b"\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00" + b"\0" * 8
    for elf, want in ((b"\x7fELF" + b"x" * 100 + note + b"y" * 100, True),
                      (b"\x7fELF" + b"x" * 200, False)):
        bz = os.path.join(TMP, "vmlinuz")
        with open(bz, "wb") as f:
            f.write(b"MZ" + b"\0" * 500 + lzma.compress(elf) + b"\0" * 64)
        out = os.path.join(TMP, "vmlinux")
        if os.path.exists(out):
            os.unlink(out)
        got = lg.pvh_vmlinux(bz, out)
        assert got == want, (got, want)
        if want:
            assert open(out, "rb").read() == elf


def cmdline(**kw):
    out = os.path.join(TMP, "img")
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "vmlinux"), "w").close()
    a = dict(mem=256, machine="microvm", backend="builtin", cpu="qemu64", kernel=None,
             loglevel=3, append="", steps=["check-driver", "random", "10"])
    a.update(kw)
    return lg.qemu_command(types.SimpleNamespace(**a), "qemu", out)


@case("kernel command line and QEMU options")
def _():
    cmd = cmdline()
    append = cmd[cmd.index("-append") + 1]
    assert append.endswith(" -- afalg_test check-driver random 10"), append
    assert "vcg_transport=mmio" in append and "virtio-mmio.force-legacy=false" in cmd, cmd
    assert cmd[cmd.index("-kernel") + 1].endswith("vmlinux") and "tcg" in cmd, cmd
    cmd = cmdline(machine="q35", steps=["--driver", "cbc(aes-generic)", "bench", "1", "4096"])
    append = cmd[cmd.index("-append") + 1]
    assert "virtio-crypto-pci,cryptodev=c0,vectors=0" in cmd and "vcg_transport=pci" in append
    assert "-- afalg_test --driver cbc(aes-generic) bench" in append, append
    sock = os.path.join(TMP, "vu.sock")
    open(sock, "w").close()
    cmd = cmdline(backend="vhost-user:" + sock, mem=128)
    assert "microvm,memory-backend=mem" in cmd, cmd
    assert "memory-backend-memfd,id=mem,size=128M,share=on" in cmd, cmd
    assert "cryptodev-vhost-user,id=c0,chardev=ch0" in cmd, cmd
    try:
        cmdline(steps=['a"b'])
        assert False, "a double quote passed"
    except lg.Failed:
        pass


def read_cpio(data):
    """An independent newc reader: [(name, mode, body)]."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701", "bad magic at %d" % off
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize, mode = f[11], f[6], f[1]
        name = data[off + 110:off + 110 + namesize - 1].decode()
        off += (110 + namesize + 3) & ~3
        body = data[off:off + filesize]
        off += (filesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, mode, body))


@case("initramfs cpio: parents first, no empty name")
def _():
    a = lg.Cpio()
    a.dir("bin")
    a.chardev("dev/console", 5, 1)
    a.file("init", b"#!/bin/sh\n", 0o755)
    a.file("lib/modules/6.1/kernel/crypto/af_alg.ko", b"x" * 5)
    entries = read_cpio(a.bytes())
    names = [e[0] for e in entries]
    assert "" not in names and "." not in names, names
    assert names.index("lib") < names.index("lib/modules") < \
        names.index("lib/modules/6.1/kernel/crypto/af_alg.ko"), names
    init = [e for e in entries if e[0] == "init"][0]
    assert init[1] == 0o100755 and init[2] == b"#!/bin/sh\n", init


shutil.rmtree(TMP, ignore_errors=True)
print("1..%d" % len(results))
for i, (ok, name, why) in enumerate(results, 1):
    print("%s %d - %s%s" % ("ok" if ok else "not ok", i, name, (" # " + why) if why else ""))
sys.exit(0 if all(r[0] for r in results) else 1)
