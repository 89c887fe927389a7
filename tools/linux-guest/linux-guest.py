#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build and boot a Linux guest whose kernel's virtio_crypto driver uses a
virtio-crypto device: QEMU's built-in cryptodev backend, or a vhost-user
backend such as vcoprocd's.

    linux-guest.py build BUILD               make the image in BUILD/linux-guest
    linux-guest.py run [options] BUILD [-- STEP...]   boot it once

STEPs are afalg_test's arguments (guest/linux/afalg_test.c; default
"check-driver nist").

The image (docs/linux-guest.md):

- kernel: Debian's linux-image-6.1.0-NN-amd64, the one `kvm-vm.py fetch
  BUILD/kvm-vm` downloads (tools/kvm-vm/): its vmlinuz, and from the same
  package (apt's cache, or apt-get download once more) the modules
  virtio_crypto and AF_ALG need, unpacked into BUILD/linux-guest/kernel and
  resolved through the kernel's modules.dep (depmod -b): virtio,
  virtio_ring, crypto_engine, virtio_crypto, af_alg, algif_skcipher and the
  transport, virtio_mmio (microvm) or virtio_pci (q35);
- initramfs BUILD/linux-guest/initramfs.cpio (uncompressed: the kernel
  unpacks it faster than it inflates one under TCG): busybox-static (its
  applets installed by /init with `busybox --install -s`, so the kernel's
  /sbin/modprobe calls work), tools/linux-guest/init.sh as /init, the
  modules, and the static test program BUILD/guest/linux/afalg_test as
  /bin/afalg_test.

`run` boots it under TCG (-accel tcg, -cpu qemu64 so that AES-NI does not
outrank the device, -smp 1) with the console on the serial port, passes
the STEPs to afalg_test on the kernel command line (after "--"), and
returns afalg_test's exit status, which /init prints as "vcoproc-guest:
exit N" before powering off.  Exit status: afalg_test's (0 ok, 1 a step
failed, 2 usage); 77 when this machine cannot run the guest (no QEMU, no
kernel package), with the reason; 3 when the guest failed (timeout, QEMU
exited without a status).
"""
import argparse
import collections
import glob
import gzip
import io
import lzma
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.dirname(HERE))
from guestkit import Boot, Cpio, modinfo_depends, static_busybox  # noqa: E402
KVM_VM = os.path.join(HERE, "..", "kvm-vm", "kvm-vm.py")
SKIP = 77
FAILED = 3

# What the guest loads, by transport; dependencies come from modules.dep.
COMMON_MODULES = ["virtio_crypto", "af_alg", "algif_skcipher"]
TRANSPORT_MODULES = {"mmio": ["virtio_mmio"], "pci": ["virtio_pci"]}
# The parts of the kernel package unpacked for them.
MODULE_DIRS = ["kernel/crypto", "kernel/drivers/virtio", "kernel/drivers/crypto/virtio"]
MODULE_FILES = ["modules.order", "modules.builtin", "modules.builtin.modinfo"]

STATUS_RE = re.compile(r"^vcoproc-guest: exit (\d+)\s*$")
LOCKUP_RE = re.compile(r"soft lockup|rcu_sched self-detected stall|rcu: INFO: rcu_.* "
                       r"detected stalls|hard LOCKUP|Kernel panic")


def say(msg):
    print("linux-guest: " + msg, flush=True)


class Skip(Exception):
    """This machine cannot have what the guest needs (exit 77)."""


class Failed(Exception):
    """Something that should work did not."""


# ---- kernel -----------------------------------------------------------------------------


def fetch_kernel(build):
    """The kernel package through kvm-vm.py fetch: returns (vmlinuz, deb file name)."""
    kvmdir = os.path.join(build, "kvm-vm")
    kdir = os.path.join(kvmdir, "linux")
    if not os.path.exists(os.path.join(kdir, "package")):
        p = subprocess.run([sys.executable, KVM_VM, "fetch", kvmdir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(p.stdout)
        if p.returncode or not os.path.exists(os.path.join(kdir, "package")):
            last = p.stdout.strip().splitlines()[-1:] or ["exit status %d" % p.returncode]
            raise Skip("the kernel package cannot be had (kvm-vm.py fetch %s: %s)"
                       % (kvmdir, last[0]))
    with open(os.path.join(kdir, "package")) as f:
        deb = f.read().strip()
    return os.path.join(kdir, "vmlinuz"), deb


def deb_fields(deb):
    """linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb -> (package, version, release)."""
    m = re.match(r"^(linux-image-(.+?))_([^_]+)_[^_]+\.deb$", deb)
    if not m:
        raise Failed("cannot read a kernel package name from %r" % deb)
    return m.group(1), m.group(3).replace("%3a", ":"), m.group(2)


def unpack_modules(build, deb):
    """The package's module tree (the parts MODULE_DIRS name) with its modules.dep,
    in BUILD/linux-guest/kernel; returns (root, kernel release)."""
    pkg, version, release = deb_fields(deb)
    dest = os.path.join(build, "linux-guest", "kernel")
    stamp = os.path.join(dest, "package")
    moddir = os.path.join(dest, "lib", "modules", release)
    if os.path.exists(stamp) and open(stamp).read().strip() == deb and \
            os.path.exists(os.path.join(moddir, "modules.dep")):
        return dest, release
    for tool in ("dpkg-deb", "tar"):
        if not shutil.which(tool):
            raise Skip("the kernel package cannot be unpacked: no %s here" % tool)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="fetch-", dir=os.path.dirname(dest))
    try:
        path = os.path.join(build, "kvm-vm", deb)   # kept by kvm-vm.py fetch
        if not os.path.exists(path):
            path = os.path.join("/var/cache/apt/archives", deb)
        if not os.path.exists(path):
            if not shutil.which("apt-get"):
                raise Skip("the kernel package cannot be had: no apt-get here")
            say("downloading %s %s for its modules" % (pkg, version))
            p = subprocess.run(["apt-get", "download", "-q", "%s=%s" % (pkg, version)],
                               cwd=tmp, capture_output=True, text=True)
            debs = glob.glob(os.path.join(tmp, "*.deb"))
            if p.returncode or not debs:
                raise Skip("the kernel package cannot be had: apt-get download %s=%s: %s"
                           % (pkg, version, p.stderr.strip()))
            path = debs[0]
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        members = ["./lib/modules/%s/%s" % (release, m) for m in MODULE_DIRS + MODULE_FILES]
        dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", path], stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", root] + members, stdin=dpkg.stdout,
                             capture_output=True, text=True)
        dpkg.stdout.close()
        if dpkg.wait() or tar.returncode:
            raise Failed("cannot unpack %s: %s" % (path, tar.stderr.strip()))
        if shutil.which("depmod") or os.path.exists("/sbin/depmod"):
            depmod = shutil.which("depmod") or "/sbin/depmod"
            p = subprocess.run([depmod, "-b", root, release], capture_output=True, text=True)
            if p.returncode:
                raise Failed("depmod -b %s %s: %s" % (root, release, p.stderr.strip()))
        else:
            say("no depmod here (Debian: kmod): modules.dep from the modules' own "
                "dependency lists")
            write_modules_dep(os.path.join(root, "lib", "modules", release))
        with open(os.path.join(root, "package"), "w") as f:
            f.write(deb + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(root, dest)
        return dest, release
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def module_index(moddir):
    return {os.path.basename(p)[:-3].replace("-", "_"): os.path.relpath(p, moddir)
            for p in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko"), recursive=True)}


def write_modules_dep(moddir):
    """modules.dep as depmod writes it, from each module's depends= (where
    there is no depmod)."""
    index = module_index(moddir)
    lines = []
    for name, rel in sorted(index.items()):
        deps, seen = [], set()

        def walk(n):
            for d in modinfo_depends(os.path.join(moddir, index[n])):
                if d in index and d not in seen:
                    seen.add(d)
                    deps.append(index[d])
                    walk(d)
        walk(name)
        lines.append("%s: %s" % (rel, " ".join(deps)))
    with open(os.path.join(moddir, "modules.dep"), "w") as f:
        f.write("\n".join(lines) + "\n")


def resolve(moddir, roots):
    """Load order (paths relative to MODDIR) of ROOTS and all they need,
    from modules.dep; each module's own dependency list checks it."""
    dep = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            if ":" in line:
                path, rest = line.split(":", 1)
                dep[os.path.basename(path)[:-3].replace("-", "_")] = (path, rest.split())
    order = []

    def visit(name, chain):
        if name in chain:
            raise Failed("module dependency loop: %s" % " -> ".join(chain + [name]))
        if any(p == dep.get(name, ("",))[0] for p in order):
            return
        if name not in dep:
            raise Failed("modules.dep has no %s%s" % (name, " (needed by %s)" % chain[-1]
                                                      if chain else ""))
        path, deps = dep[name]
        names = [os.path.basename(d)[:-3].replace("-", "_") for d in deps]
        missing = set(modinfo_depends(os.path.join(moddir, path))) - set(names)
        if missing:
            raise Failed("%s needs %s, which modules.dep does not list (depmod ran on part "
                         "of the package?)" % (name, ", ".join(sorted(missing))))
        for d in names:
            visit(d, chain + [name])
        order.append(path)

    for r in roots:
        visit(r, [])
    return order


def pvh_vmlinux(vmlinuz, dest):
    """The ELF kernel inside VMLINUZ (a bzImage) into DEST, where it has a PVH
    entry (XEN_ELFNOTE_PHYS32_ENTRY): QEMU boots that directly, without the
    seconds the bzImage spends inflating itself under TCG.  Returns whether
    it did."""
    with open(vmlinuz, "rb") as f:
        data = f.read()
    elf = None
    for magic, inflate in ((b"\xfd7zXZ\x00", lambda d: lzma.LZMADecompressor().decompress(d)),
                           (b"\x1f\x8b\x08\x00", lambda d: gzip.GzipFile(
                               fileobj=io.BytesIO(d)).read())):
        off = data.find(magic)
        while off >= 0 and elf is None:
            try:
                out = inflate(data[off:])
                if out[:4] == b"\x7fELF":
                    elf = out
            except (lzma.LZMAError, OSError, EOFError):
                pass
            off = data.find(magic, off + 1)
        if elf:
            break
    # A note named "Xen" of type 18 (PHYS32_ENTRY): its header (namesz 4,
    # descsz 8 or 4, type 18) then "Xen\0".
    if not elf or not any(b"\x04\x00\x00\x00%c\x00\x00\x00\x12\x00\x00\x00Xen\x00" % n in elf
                          for n in (8, 4)):
        return False
    with open(dest + ".new", "wb") as f:
        f.write(elf)
    os.rename(dest + ".new", dest)
    return True


# ---- initramfs --------------------------------------------------------------------------


def stripped(path):
    """PATH's bytes without debug information where strip is here."""
    strip = shutil.which("strip")
    if strip:
        with tempfile.NamedTemporaryFile(prefix="afalg_test-") as t:
            if subprocess.run([strip, "-o", t.name, path]).returncode == 0:
                return open(t.name, "rb").read()
    return open(path, "rb").read()


def build(args):
    build_dir = os.path.abspath(args.build)
    out = os.path.join(build_dir, "linux-guest")
    test = os.path.abspath(args.test_program or
                           os.path.join(build_dir, "guest", "linux", "afalg_test"))
    busybox = static_busybox()
    if not busybox:
        raise Failed("no static busybox here (Debian: busybox-static)")
    if not os.path.exists(test):
        raise Failed("no test program %s (ninja -C %s guest/linux/afalg_test)"
                     % (test, build_dir))
    vmlinuz, deb = fetch_kernel(build_dir)
    kroot, release = unpack_modules(build_dir, deb)
    moddir = os.path.join(kroot, "lib", "modules", release)
    lists = {t: resolve(moddir, TRANSPORT_MODULES[t] + COMMON_MODULES)
             for t in TRANSPORT_MODULES}
    shipped = sorted(set(p for ms in lists.values() for p in ms))

    a = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "tmp"):
        a.dir(d)
    a.chardev("dev/console", 5, 1)
    a.chardev("dev/null", 1, 3)
    with open(busybox, "rb") as f:
        a.file("bin/busybox", f.read(), 0o755)
    with open(os.path.join(HERE, "init.sh"), "rb") as f:
        a.file("init", f.read(), 0o755)
    a.file("bin/afalg_test", stripped(test), 0o755)
    mbase = "lib/modules/%s" % release
    for p in shipped:
        with open(os.path.join(moddir, p), "rb") as f:
            a.file("%s/%s" % (mbase, p), f.read())
    # modules.dep, modules.alias for busybox's modprobe: the shipped modules only.
    dep_lines = []
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            if line.split(":", 1)[0] in shipped:
                dep_lines.append(line)
    a.file(mbase + "/modules.dep", "".join(dep_lines).encode())
    names = set(os.path.basename(p)[:-3].replace("-", "_") for p in shipped)
    alias = os.path.join(moddir, "modules.alias")
    if os.path.exists(alias):
        with open(alias) as f:
            a.file(mbase + "/modules.alias", "".join(
                line for line in f if line.split()[-1:] and
                line.split()[-1].replace("-", "_") in names).encode())
    for t, ms in lists.items():
        a.file("etc/modules-" + t, "".join(m + "\n" for m in ms).encode())
    data = a.bytes()
    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, "initramfs.cpio.new")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(out, "initramfs.cpio"))
    stamp = os.path.join(out, "package")
    if not (os.path.exists(stamp) and open(stamp).read().strip() == deb):
        shutil.copy(vmlinuz, os.path.join(out, "vmlinuz.new"))
        os.rename(os.path.join(out, "vmlinuz.new"), os.path.join(out, "vmlinuz"))
        if os.path.exists(os.path.join(out, "vmlinux")):
            os.unlink(os.path.join(out, "vmlinux"))
        if not pvh_vmlinux(vmlinuz, os.path.join(out, "vmlinux")):
            say("note: no PVH entry in %s: the guest boots the bzImage (slower)" % deb)
        with open(stamp, "w") as f:
            f.write(deb + "\n")
    say("image in %s: kernel %s (%s), initramfs %d KiB; modules: mmio %s; pci %s"
        % (out, release, "vmlinux, PVH" if os.path.exists(os.path.join(out, "vmlinux"))
           else "vmlinuz", len(data) // 1024,
           " ".join(os.path.basename(m)[:-3] for m in lists["mmio"]),
           " ".join(os.path.basename(m)[:-3] for m in lists["pci"])))
    return 0


# ---- run --------------------------------------------------------------------------------


def host_khz():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M)
        return int(float(m.group(1)) * 1000) if m else None
    except OSError:
        return None


def kernel_arg(a):
    if not a or any(c in a for c in '"\n'):
        raise Failed("cannot pass %r on the kernel command line" % a)
    return '"%s"' % a if any(c.isspace() for c in a) else a


def qemu_command(args, qemu, out):
    mem = "%dM" % args.mem
    kernel = os.path.join(out, args.kernel or "vmlinux")
    if not args.kernel and not os.path.exists(kernel):
        kernel = os.path.join(out, "vmlinuz")
    machine = args.machine
    cmd = [qemu, "-accel", "tcg", "-cpu", args.cpu, "-smp", "1", "-m", mem,
           "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
           "-serial", "stdio", "-no-reboot",
           "-kernel", kernel,
           "-initrd", os.path.join(out, "initramfs.cpio")]
    if args.backend == "builtin":
        cmd += ["-object", "cryptodev-backend-builtin,id=c0"]
    else:
        sock = args.backend.split(":", 1)[1]
        if not os.path.exists(sock):
            raise Failed("no vhost-user socket %s: the backend must listen before QEMU "
                         "starts" % sock)
        # vhost-user needs guest memory the backend can map.
        cmd += ["-chardev", "socket,id=ch0,path=%s" % sock,
                "-object", "cryptodev-vhost-user,id=c0,chardev=ch0",
                "-object", "memory-backend-memfd,id=mem,size=%s,share=on" % mem]
        machine += ",memory-backend=mem"
    append = ["console=ttyS0", "quiet", "loglevel=%d" % args.loglevel, "panic=-1",
              "mitigations=off", "tsc=reliable"]
    khz = host_khz()
    if args.machine.startswith("microvm"):
        # Without force-legacy=false the device appears but no driver binds;
        # without tsc_early_khz the guest hangs after "Marking TSC unstable".
        cmd += ["-M", machine, "-global", "virtio-mmio.force-legacy=false",
                "-device", "virtio-crypto-device,cryptodev=c0"]
        append += ["vcg_transport=mmio"]
        if khz:
            append += ["tsc_early_khz=%d" % khz]
    else:
        # vectors=0 (INTx): QEMU 7.2 crashes with vhost-user and MSI-X.
        cmd += ["-M", machine, "-device", "virtio-crypto-pci,cryptodev=c0,vectors=0"]
        append += ["vcg_transport=pci"]
        if khz:
            append += ["tsc_early_khz=%d" % khz]
    append += args.append.split()
    # Words the kernel does not know go to /init's arguments too, before
    # those after "--": /init starts afalg_test's at the word afalg_test.
    append += ["--", "afalg_test"] + [kernel_arg(a) for a in args.steps]
    cmd += ["-append", " ".join(append)]
    return cmd


def run(args):
    build_dir = os.path.abspath(args.build)
    out = os.path.join(build_dir, "linux-guest")
    qemu = shutil.which(args.qemu)
    if not qemu:
        raise Skip("no %s here (Debian: qemu-system-x86)" % args.qemu)
    for f in (args.kernel or "vmlinuz", "initramfs.cpio"):
        if not os.path.exists(os.path.join(out, f)):
            raise Failed("no %s in %s (linux-guest.py build %s)" % (f, out, args.build))
    args.steps = args.steps or ["check-driver", "nist"]
    cmd = qemu_command(args, qemu, out)
    log_path = os.path.abspath(args.log or os.path.join(out, "console.log"))
    say("%s -M %s, backend %s, -m %d, TCG; afalg_test %s; console in %s"
        % (os.path.basename(qemu), args.machine, args.backend, args.mem,
           " ".join(args.steps), log_path))
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    t_init = t_result = None
    status = None
    recent = collections.deque(maxlen=12)  # shown on failure where --quiet hid them

    def failed(msg):
        if args.quiet and recent:
            print("\n".join(recent), flush=True)
        say(msg)
        return FAILED
    with open(log_path, "w") as log:
        log.write("# %s\n" % " ".join(map(shlex.quote, cmd)))
        b = Boot(cmd, log)
        try:
            while True:
                try:
                    line = b.lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    if time.monotonic() >= deadline:
                        return failed("timed out after %.0f s (%s); QEMU stopped"
                                      % (args.timeout, "in the test" if t_init else "booting"))
                    continue
                if line is None:
                    b.p.wait()
                    return failed("QEMU exited (status %s) without the test's status; see %s"
                                  % (b.p.returncode, log_path))
                if not args.quiet or t_init is not None or line.startswith("vcoproc-guest:"):
                    print(line, flush=True)
                    recent.clear()
                else:
                    recent.append(line)
                if LOCKUP_RE.search(line):
                    return failed("the guest's kernel reported: %s" % line.strip())
                if t_init is None and line.startswith("vcoproc-guest: init"):
                    t_init = time.monotonic() - t0
                elif line.startswith("result: ") and t_result is None:
                    t_result = time.monotonic() - t0
                m = STATUS_RE.match(line)
                if m:
                    status = int(m.group(1))
                    break
            try:
                b.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say("QEMU did not power off; stopped")
        finally:
            b.kill()
    t_end = time.monotonic() - t0
    say("exit %d; /init %.1f s, first result %s, status %.1f s after QEMU's start"
        % (status, t_init or 0, "%.1f s" % t_result if t_result else "none", t_end))
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="make the image in BUILD/linux-guest")
    b.add_argument("build", help="the meson build directory")
    b.add_argument("--test-program", help="default BUILD/guest/linux/afalg_test")
    r = sub.add_parser("run", help="boot the guest once and run afalg_test")
    r.add_argument("build", help="the meson build directory (with BUILD/linux-guest)")
    r.add_argument("--backend", default="builtin",
                   help="builtin (QEMU's cryptodev-backend-builtin) or vhost-user:SOCKET")
    r.add_argument("--machine", default="microvm",
                   help="microvm (virtio-mmio; the default) or q35 (virtio-pci), with "
                   "QEMU's machine options after a comma if wanted")
    r.add_argument("--mem", type=int, default=256, help="MiB (default 256)")
    r.add_argument("--kernel", choices=("vmlinux", "vmlinuz"),
                   help="vmlinux (the ELF kernel, booted through its PVH entry: the "
                   "default where build made it) or vmlinuz (the bzImage)")
    r.add_argument("--cpu", default="qemu64", help="default qemu64: no AES-NI in the guest")
    r.add_argument("--qemu", default=os.environ.get("VCOPROC_QEMU", "qemu-system-x86_64"))
    r.add_argument("--timeout", type=float, default=300,
                   help="seconds from QEMU's start to the test's status (default 300)")
    r.add_argument("--loglevel", type=int, default=3,
                   help="the guest kernel's console log level (default 3: errors)")
    r.add_argument("--append", default="", help="more kernel command line")
    r.add_argument("--log", help="console log (default BUILD/linux-guest/console.log)")
    r.add_argument("--quiet", action="store_true",
                   help="show only /init's and the test's lines")
    # A test runner's SIGTERM stops QEMU too (Boot.kill in run's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    argv = sys.argv[1:]
    steps = []
    if "--" in argv:
        steps = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    args = ap.parse_args(argv)
    args.steps = steps
    if args.cmd == "run" and args.backend != "builtin" and \
            not args.backend.startswith("vhost-user:"):
        ap.error("--backend: builtin or vhost-user:SOCKET")
    if args.cmd == "run" and args.machine.split(",")[0] not in ("microvm", "q35"):
        ap.error("--machine: microvm or q35")
    try:
        return build(args) if args.cmd == "build" else run(args)
    except Skip as e:
        say("skipped: %s" % e)
        return SKIP
    except Failed as e:
        say("error: %s" % e)
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
