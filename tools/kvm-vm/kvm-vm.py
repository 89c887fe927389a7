#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a command where KVM is usable: inside a software-emulated VM that
provides nested KVM.

    kvm-vm.py fetch DIR              download Debian's kernel into DIR (once)
    kvm-vm.py run [options] BUILD    run the e2e suite of the meson build BUILD
    kvm-vm.py run [options] BUILD -- CMD...   run CMD in BUILD instead

QEMU's TCG emulates AMD SVM with nested paging, so a Debian kernel booted
in it loads kvm_amd and has a /dev/kvm whatever the machine has.  The VM
(docs/kvm-host.md, "KVM where the machine has none"):

- kernel: Debian's linux-image-6.1.0-NN-amd64, the one the
  linux-image-amd64 metapackage depends on, unpacked by `fetch` into
  DIR (BUILD/kvm-vm by default): vmlinuz and the modules /init loads;
- initramfs: busybox (busybox-static), tools/kvm-vm/init.sh as /init, the
  modules, /vm.conf; built per run under BUILD/kvm-vm/run;
- root: the machine's / over virtio-9p read-only, a tmpfs over /tmp, the
  build tree over virtio-9p read-write at its own path; /init chroots
  there and runs the command, whose output and exit status come back on
  the serial console.

The default command is `meson test --suite e2e --no-rebuild` with its log
in BUILD/meson-logs/testlog-vm.json.

A boot that shows no progress within --boot-timeout, or whose kernel
reports a soft lock-up or an RCU stall, is killed and run once more
(--retries), saying so.  Exit status: the command's; 77 when the VM cannot
provide KVM here (no QEMU, no kernel, no busybox, a boot that never got
/dev/kvm), with the reason on stdout; 2 when the VM failed after KVM was
up (lock-up on the last try, timeout, lost status).
"""
import argparse
import glob
import gzip
import io
import json
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.dirname(HERE))
from guestkit import Boot, Cpio, modinfo_depends, static_busybox  # noqa: E402
SKIP = 77
FAILED = 2

# What /init loads, roots first; fetch adds their dependencies (modinfo
# "depends=") and orders them so each comes after what it needs.
ROOT_MODULES = ["kvm_amd", "virtio_pci", "9pnet_virtio", "9p"]

# The kernel's own words for a CPU that stopped making progress.
LOCKUP_RE = re.compile(r"soft lockup|rcu_sched self-detected stall|rcu: INFO: rcu_.* "
                       r"detected stalls|hard LOCKUP|Kernel panic")


def say(msg):
    print("kvm-vm: " + msg, flush=True)


# ---- fetch ------------------------------------------------------------------------------


def fetch(outdir):
    """Download the kernel package the linux-image-amd64 metapackage depends on
    and unpack vmlinuz and the modules /init needs into OUTDIR/linux."""
    dest = os.path.join(outdir, "linux")
    if os.path.exists(os.path.join(dest, "modules.load")):
        return 0
    for tool in ("apt-cache", "apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            say("cannot fetch the kernel: no %s here" % tool)
            return 1
    p = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True,
                       text=True)
    m = re.search(r"Depends:\s*(linux-image-\S+-amd64)\b", p.stdout)
    if not m:
        say("cannot fetch the kernel: apt-cache knows no linux-image-amd64 (%s)"
            % p.stderr.strip())
        return 1
    pkg = m.group(1)
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="fetch-", dir=outdir)
    try:
        say("downloading %s" % pkg)
        p = subprocess.run(["apt-get", "download", "-q", pkg], cwd=tmp, capture_output=True,
                           text=True)
        debs = glob.glob(os.path.join(tmp, "*.deb"))
        if p.returncode or not debs:
            say("apt-get download %s failed: %s" % (pkg, p.stderr.strip()))
            return 1
        root = os.path.join(tmp, "root")
        subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
        vmlinuz = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
        kdirs = glob.glob(os.path.join(root, "lib", "modules", "*", "kernel"))
        if not vmlinuz or not kdirs:
            say("%s has no vmlinuz or no modules" % pkg)
            return 1
        index = {}
        for ko in glob.glob(os.path.join(kdirs[0], "**", "*.ko"), recursive=True):
            index[os.path.basename(ko)[:-3].replace("-", "_")] = ko
        order = []

        def visit(name):
            if name in order:
                return
            if name not in index:
                raise KeyError(name)
            for dep in modinfo_depends(index[name]):
                visit(dep)
            order.append(name)

        try:
            for name in ROOT_MODULES:
                visit(name)
        except KeyError as e:
            say("%s has no module %s" % (pkg, e))
            return 1
        staging = dest + ".new"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(os.path.join(staging, "modules"))
        shutil.copy(vmlinuz[0], os.path.join(staging, "vmlinuz"))
        for name in order:
            shutil.copy(index[name], os.path.join(staging, "modules", name + ".ko"))
        with open(os.path.join(staging, "package"), "w") as f:
            f.write(os.path.basename(debs[0]) + "\n")
        with open(os.path.join(staging, "modules.load"), "w") as f:
            f.write("\n".join(order) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(staging, dest)
        # The package stays beside it: the Linux guest image takes more of it
        # (tools/linux-guest), without downloading it again.
        os.replace(debs[0], os.path.join(outdir, os.path.basename(debs[0])))
        say("kernel %s in %s (%d modules)" % (os.path.basename(debs[0]), dest, len(order)))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- initramfs -------------------------------------------------------------------------


def initramfs(path, kdir, busybox, conf):
    with open(os.path.join(kdir, "modules.load")) as f:
        modules = f.read().split()
    a = Cpio()
    for d in ("bin", "dev", "proc", "sys", "modules", "newroot"):
        a.dir(d)
    a.chardev("dev/console", 5, 1)
    a.chardev("dev/null", 1, 3)
    with open(busybox, "rb") as f:
        a.file("bin/busybox", f.read(), 0o755)
    with open(os.path.join(HERE, "init.sh"), "rb") as f:
        a.file("init", f.read(), 0o755)
    conf = dict(conf, VM_MODULES=" ".join(modules))
    a.file("vm.conf", "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in conf.items())
           .encode())
    for m in modules:
        with open(os.path.join(kdir, "modules", m + ".ko"), "rb") as f:
            a.file("modules/%s.ko" % m, f.read())
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(a.bytes())


# ---- run --------------------------------------------------------------------------------


def run_once(args, qemu_cmd, log, t_end, attempt):
    """Boot once.  Returns (outcome, status): outcome 'done' (status is the
    command's), 'nokvm', 'lockup' or 'failed' (a reason in status)."""
    t0 = time.monotonic()
    b = Boot(qemu_cmd, log)
    stage, ready_at, reasons, tail = "boot", None, [], []
    deadline = min(t_end, t0 + args.boot_timeout)
    try:
        while True:
            try:
                line = b.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
                if time.monotonic() >= deadline:
                    if stage == "boot":
                        return "lockup", "KVM not up in the VM within %d s of QEMU's "\
                            "start" % args.boot_timeout
                    return "failed", "timed out after %d s" % (time.monotonic() - t0)
                continue
            if line is None:
                b.p.wait()
                if stage == "boot":
                    return "failed", "QEMU exited (status %s) before KVM was up in the VM: "\
                        "%s" % (b.p.returncode, " / ".join(tail[-3:]) or "see " + log.name)
                return "failed", "QEMU exited (status %s) without the command's status" \
                    % b.p.returncode
            if not args.quiet or line.startswith("kvm-vm:") or stage == "run":
                print(line, flush=True)
            if LOCKUP_RE.search(line):
                return "lockup", "the VM's kernel reported: " + line.strip()
            m = re.match(r"^kvm-vm: ([^\s:]+):?(.*)$", line)
            if not m:
                if stage == "boot" and line.strip():
                    tail.append(line.strip())
                continue
            what, rest = m.group(1), m.group(2).strip()
            if what == "no-kvm":
                reasons.append(rest)
            elif what == "kvm" and rest.startswith("ready"):
                ready_at = time.monotonic() - t0
                stage, deadline = "run", t_end
            elif what == "status":
                st = int(rest)
                if st == SKIP and stage == "boot":
                    return "nokvm", "; ".join(reasons) or "no /dev/kvm in the VM"
                try:
                    b.p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    say("QEMU did not power off; stopped")
                say("attempt %d: KVM up %.1f s after QEMU's start, command finished %.1f s "
                    "after it" % (attempt, ready_at or 0, time.monotonic() - t0))
                return "done", st
    finally:
        b.kill()


def run(args):
    build = os.path.abspath(args.build)
    vmdir = os.path.join(build, "kvm-vm")
    kdir = os.path.abspath(args.kernel_dir or os.path.join(vmdir, "linux"))
    qemu = shutil.which(args.qemu)
    busybox = static_busybox()
    if not qemu:
        say("skipped: no %s here (Debian: qemu-system-x86)" % args.qemu)
        return SKIP
    if not busybox:
        say("skipped: no static busybox here (Debian: busybox-static)")
        return SKIP
    if not os.path.exists(os.path.join(kdir, "modules.load")):
        say("skipped: no kernel in %s (kvm-vm.py fetch %s)" % (kdir, os.path.dirname(kdir)))
        return SKIP
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        command = ["meson", "test", "--no-rebuild", "--suite", "e2e", "--print-errorlogs",
                   "--logbase", "testlog-vm", "--num-processes", str(args.smp),
                   "--timeout-multiplier", str(args.timeout_multiplier)]
    rundir = os.path.join(vmdir, "run")
    os.makedirs(rundir, exist_ok=True)
    initrd = os.path.join(rundir, "initramfs.gz")
    try:
        with open(os.path.join(build, "meson-info", "meson-info.json")) as f:
            src = json.load(f)["directories"]["source"]
    except (OSError, ValueError, KeyError):
        src = ""
    initramfs(initrd, kdir, busybox, {"VM_BUILD": build, "VM_SRC": src,
                                      "VM_COMMAND": " ".join(map(shlex.quote, command))})
    accel = "tcg,thread=%s" % args.tcg_thread
    append = ("console=ttyS0 loglevel=4 panic=-1 mitigations=off nokaslr "
              "rcupdate.rcu_cpu_stall_timeout=60 " + args.append).strip()
    qemu_cmd = [qemu, "-machine", "q35", "-accel", accel, "-cpu", args.cpu,
                "-m", str(args.memory), "-smp", str(args.smp),
                "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
                "-serial", "stdio", "-no-reboot",
                "-kernel", os.path.join(kdir, "vmlinuz"), "-initrd", initrd, "-append", append,
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                "multidevs=remap",
                "-virtfs", "local,path=%s,mount_tag=build,security_model=none,multidevs=remap"
                % build]
    t_start = time.monotonic()
    t_end = t_start + args.timeout
    log_path = os.path.join(vmdir, "console.log")
    say("QEMU %s, -cpu %s -smp %d -m %d, kernel %s; console in %s"
        % (accel, args.cpu, args.smp, args.memory,
           open(os.path.join(kdir, "package")).read().strip(), log_path))
    with open(log_path, "w") as log:
        for attempt in range(1, args.retries + 2):
            log.write("==== attempt %d: %s\n" % (attempt, " ".join(map(shlex.quote, qemu_cmd))))
            outcome, st = run_once(args, qemu_cmd, log, t_end, attempt)
            if outcome == "done":
                return st
            if outcome == "nokvm":
                say("skipped: the emulated VM has no KVM: %s" % st)
                return SKIP
            if outcome == "failed" and "before KVM was up" in st:
                say("skipped: the emulated VM did not boot: %s" % st)
                return SKIP
            say("attempt %d: %s" % (attempt, st))
            if outcome != "lockup":
                return FAILED
            if attempt <= args.retries:
                if t_end - time.monotonic() < args.boot_timeout * 2:
                    say("no time left for another attempt")
                    return FAILED
                say("the VM locked up; booting it once more")
    return FAILED


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download the kernel into DIR (once)")
    f.add_argument("dir")
    r = sub.add_parser("run", help="run the e2e suite (or CMD) inside the emulated VM")
    r.add_argument("build", help="the meson build directory (shared read-write)")
    r.add_argument("command", nargs=argparse.REMAINDER,
                   help="-- CMD...: run this in BUILD instead of the e2e suite")
    r.add_argument("--kernel-dir", help="vmlinuz and modules (default BUILD/kvm-vm/linux)")
    r.add_argument("--qemu", default=os.environ.get("VCOPROC_VM_QEMU", "qemu-system-x86_64"))
    r.add_argument("--cpu", default="qemu64,+svm,+npt")
    r.add_argument("--smp", type=int, default=int(os.environ.get("VCOPROC_VM_SMP", "1")))
    r.add_argument("--memory", type=int, default=3072, help="MiB (default 3072)")
    r.add_argument("--tcg-thread", choices=("single", "multi"),
                   default=os.environ.get("VCOPROC_VM_TCG_THREAD", "multi"))
    r.add_argument("--append", default="", help="more kernel command line")
    r.add_argument("--boot-timeout", type=float, default=120,
                   help="seconds from QEMU's start to KVM up before the boot counts as "
                   "locked up (default 120)")
    r.add_argument("--timeout", type=float, default=float(
        os.environ.get("VCOPROC_VM_TIMEOUT", "600")),
        help="seconds for everything, retries included (default 600)")
    r.add_argument("--retries", type=int, default=1)
    r.add_argument("--timeout-multiplier", type=int, default=3)
    r.add_argument("--quiet", action="store_true", help="show only the command's output")
    args = ap.parse_args()
    if args.cmd == "fetch":
        return fetch(os.path.abspath(args.dir))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
