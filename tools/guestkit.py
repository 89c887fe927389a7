#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the project's VM runners share (tools/kvm-vm/kvm-vm.py,
tools/linux-guest/linux-guest.py): a cpio archive written in memory for an
initramfs, a module's dependencies from its own modinfo, the static
busybox, and one QEMU run's console read line by line."""
import io
import os
import queue
import re
import subprocess
import threading


def modinfo_depends(path):
    with open(path, "rb") as f:
        m = re.search(rb"\0depends=([^\0]*)\0", f.read())
    return [d.replace("-", "_") for d in m.group(1).decode().split(",") if d] if m else []


def static_busybox():
    for p in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                head = f.read(1 << 16)
            # A dynamic executable names its interpreter; the static one does not.
            if b"ld-linux" not in head:
                return p
    return None


class Cpio:
    """A newc cpio archive, built in memory (no cpio tool, no root needed for
    the device nodes)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.buf.write(hdr.encode() + name_b)
        self.buf.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        if not name:
            return
        parent = os.path.dirname(name)
        if parent and parent not in self.dirs:
            self.dir(parent)
        if name not in self.dirs:
            self.dirs.add(name)
            self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self.dir(os.path.dirname(name))
        self._entry(name, 0o100000 | mode, data)

    def chardev(self, name, major, minor):
        self._entry(name, 0o020600, rdev=(major, minor))

    def bytes(self):
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


class Boot:
    """One QEMU run: its console, line by line."""

    def __init__(self, cmd, log):
        self.lines = queue.Queue()
        self.log = log
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in iter(self.p.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.log.write(line + "\n")
            self.log.flush()
            self.lines.put(line)
        self.lines.put(None)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
