#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vcoproc create reads the domain file itself before it asks the daemon:
every error in the file - syntax, a value, bytes that are not UTF-8, a NUL,
the size - comes back as "vcoproc: FILE:LINE:COL: ...", with no daemon to
reach and nothing sent; a file that cannot be read is named with the
reason; a good file goes on to the daemon (here: none, so "cannot connect").

    check_cli_files.py VCOPROC

Prints TAP."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, results  # noqa: E402 (tests/tap.py)

VCOPROC = sys.argv[1]


def create(tmp, path):
    p = subprocess.run([VCOPROC, "--socket", os.path.join(tmp, "no-daemon.sock"),
                        "create", path], capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode("utf-8", "replace")


GOOD = b"name = 'd'\nkernel = 'builtin:idle'\n"

# (what, file content, the message after "vcoproc: FILE:")
CASES = [
    ("syntax error", GOOD + b"memory = 1 2\n",
     "3:12: expected end of line or ';', found number 2"),
    ("bad value", GOOD + b"vcpus = 0\n",
     "3:9: expected a vCPU count (a number from 1 to 128), found number 0"),
    ("xl's octal number, out of range", GOOD + b"memory = 04000001\n",
     "3:10: expected memory in MiB (a number from 1 to 1048576), found number 04000001"),
    ("a byte that is not UTF-8 in a comment", b"# caf\xe9\n" + GOOD,
     "1:6: expected UTF-8 text, found byte 0xe9"),
    ("a byte that is not UTF-8 in a string", GOOD + b"extra = '\xff'\n",
     "3:10: expected UTF-8 text, found byte 0xff"),
    ("a NUL byte", GOOD + b"# x\0\n", "3:4: expected text, found byte 0x00"),
    ("a carriage return", GOOD.replace(b"\n", b"\r\n", 1),
     "1:11: expected end of line or ';', found a carriage return"),
    ("no name", b"kernel = 'k'\n", "2:1: expected a \"name\" setting, found end of file"),
    ("an entry", GOOD + b"vcoproc = [ 'gpu0,Weight=1' ]\n",
     "3:19: expected a parameter name"),
    ("too big", GOOD + b"# " + b"x" * (1 << 20) + b"\n", "1:1: expected at most"),
]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for what, text, want in CASES:
            path = os.path.join(tmp, "bad.cfg")
            with open(path, "wb") as f:
                f.write(text)
            rc, err = create(tmp, path)
            prefix = "vcoproc: %s:%s" % (path, want)
            check(rc == 1 and err.startswith(prefix) and "connect" not in err,
                  "%s: located, and the daemon not asked" % what,
                  "rc %d, stderr %r, want it to start with %r" % (rc, err, prefix))

        path = os.path.join(tmp, "missing.cfg")
        rc, err = create(tmp, path)
        check(rc == 1 and err.startswith("vcoproc: %s: No such file" % path),
              "a missing file is named with the reason", err)
        rc, err = create(tmp, tmp)
        check(rc == 1 and err.startswith("vcoproc: %s: " % tmp) and
              re.search(r": not a regular file$", err.strip()) and "connect" not in err,
              "a directory is named with the reason", err)

        path = os.path.join(tmp, "good.cfg")
        with open(path, "wb") as f:
            f.write(GOOD + b"memory = 010 # octal, as in xl\n")
        rc, err = create(tmp, path)
        check(rc == 1 and "cannot connect" in err, "a good file goes on to the daemon", err)

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
