#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a test outside meson and record it as meson would, for
tools/test-summary.py to count.

usage: test-log.py LOG NAME [--timeout SECS] -- COMMAND [ARG...]
       test-log.py LOG NAME --reports DIR

The first form runs COMMAND with its output shown as it comes, and appends
one line to LOG (meson's testlog.json format: name, result OK, FAIL, SKIP
(exit 77) or TIMEOUT, duration, stdout, protocol tap when the output has
TAP lines, so each case counts).  A COMMAND still running after SECS
(default 3600) is sent SIGTERM, then SIGKILL.

The second form records whether DIR (where ASAN_OPTIONS and UBSAN_OPTIONS
log_path= made sanitizers write) holds reports: FAIL with each report
printed, else OK - a report from a child process whose exit status a test
did not look at still fails the run.  Exit status: the test's (0 passed,
1 failed)."""
import json
import os
import re
import signal
import subprocess
import sys
import time


def append(log, entry):
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    with open(log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def run(log, name, timeout, cmd):
    t0 = time.monotonic()
    out = []
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    timed_out = False

    def on_alarm(_sig, _frame):
        nonlocal timed_out
        timed_out = True
        os.killpg(p.pid, signal.SIGTERM)
        time.sleep(2)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def on_term(sig, _frame):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        sys.exit(128 + sig)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(timeout)
    try:
        for line in p.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            out.append(line)
        rc = p.wait()
    finally:
        signal.alarm(0)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    text = "".join(out)
    if timed_out:
        result = "TIMEOUT"
    elif rc == 0:
        result = "OK"
    elif rc == 77:
        result = "SKIP"
    else:
        result = "FAIL"
    entry = {"name": name, "result": result, "returncode": rc,
             "duration": round(time.monotonic() - t0, 2), "stdout": text}
    if re.search(r"^(ok|not ok)\b", text, re.M):
        entry["protocol"] = "tap"
    append(log, entry)
    print("%s: %s (%.1f s)" % (name, result, entry["duration"]))
    return 0 if result in ("OK", "SKIP") else 1


def reports(log, name, d):
    files = sorted(os.listdir(d)) if os.path.isdir(d) else []
    text = ""
    for f in files:
        with open(os.path.join(d, f), errors="replace") as fh:
            text += "==== %s\n%s\n" % (f, fh.read())
    if text:
        sys.stdout.write(text)
    result = "FAIL" if files else "OK"
    append(log, {"name": name, "result": result, "duration": 0.0,
                 "stdout": text or "no sanitizer report in %s\n" % d})
    print("%s: %s (%d report files in %s)" % (name, result, len(files), d))
    return 1 if files else 0


def main():
    argv = sys.argv[1:]
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    log, name, rest = argv[0], argv[1], argv[2:]
    if rest[0] == "--reports" and len(rest) == 2:
        return reports(log, name, rest[1])
    timeout = 3600
    if rest[0] == "--timeout":
        timeout, rest = int(rest[1]), rest[2:]
    if not rest or rest[0] != "--" or len(rest) < 2:
        sys.stderr.write(__doc__)
        return 2
    return run(log, name, timeout, rest[1:])


if __name__ == "__main__":
    sys.exit(main())
