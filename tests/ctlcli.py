# SPDX-License-Identifier: MIT
"""The vcoproc CLI against one vcoprocd's control socket, for the Python
tests that drive a daemon.

    cli = Cli(VCOPROC, sock)
    rc, out, err = cli.run("create", path)
    domains = cli.json("domain-list")
"""
import json
import subprocess


class Cli:
    def __init__(self, exe, sock):
        self.exe, self.sock = exe, sock

    def run(self, *args, timeout=30):
        """vcoproc ARGS: (exit status, stdout, stderr)."""
        r = subprocess.run([self.exe, "--socket", self.sock] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def json(self, *args):
        """vcoproc ARGS --json, parsed; RuntimeError when it fails."""
        rc, out, err = self.run(*args, "--json")
        if rc != 0:
            raise RuntimeError("vcoproc %s failed (%d): %s" % (" ".join(args), rc, err))
        return json.loads(out)

    def console(self, name):
        """Domain NAME's console so far, "" when it cannot be read."""
        rc, out, _ = self.run("console", name, "--no-follow")
        return out if rc == 0 else ""
