#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Count test cases from meson's testlog.json files and print the closing
line 'N passed, N failed, N skipped'.  TAP tests (the cmocka unit tests)
count each case; other tests count once.  Exit 1 if anything failed.

usage: test-summary.py LOG [LOG...] [--rerun SUITE] [--add LOG]...

With several logs, a test that skipped in an earlier log and ran in a later
one (the same name: the e2e suite run again inside the emulated VM of
tools/kvm-vm where KVM is missing here) counts with its later result only;
a test that did not skip counts in every log it is in.  --rerun SUITE: the
later logs are a rerun of SUITE, so each test of SUITE that skipped in the
first log and is in none of the later ones counts as failed (the rerun did
not get to it); a later log that is missing counts as empty.

--add LOG: a log of other runs - the sanitizer build's suite, tests run
outside meson (tools/test-log.py) - whose tests count on their own, added
to the totals whatever their names (a name that is also in LOG is a second
run, not a rerun); one such log that is missing counts as one failure (the
step that writes it did not get that far).  Its own counts are printed on
a line before the closing one."""
import argparse
import json
import os
import re
import sys


def load(path):
    """The log's tests in order, or None if there is no such file."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def suites(t):
    """The test's suites: its "suite" field where meson writes one, else from
    its name ("project:suite / test")."""
    if "suite" in t:
        return [s.split(":")[-1] for s in t["suite"]]
    m = re.match(r"^[^:/ ]+:(\S+) / ", t["name"])
    return [m.group(1)] if m else []


def count(t):
    """(passed, failed, skipped) of one test's log entry."""
    passed = failed = skipped = 0
    res = t.get("result", "")
    out = t.get("stdout", "") or ""
    cases = re.findall(r"^(not ok|ok)\b.*?(#\s*skip.*)?$", out, re.M | re.I)
    if t.get("protocol") == "tap" or cases:
        if re.search(r"^1\.\.0\b", out, re.M) and not cases:
            skipped += 1
        for status, skip in cases:
            if skip:
                skipped += 1
            elif status == "ok":
                passed += 1
            else:
                failed += 1
        if res not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(s == "not ok" for s, _ in cases):
            failed += 1  # crashed or timed out without a failing case
    elif res == "SKIP":
        skipped += 1
    elif res in ("OK", "EXPECTEDFAIL"):
        passed += 1
    else:
        failed += 1
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--rerun", metavar="SUITE")
    ap.add_argument("--add", metavar="LOG", action="append", default=[])
    a = ap.parse_args()
    first = load(a.logs[0])
    if first is None:
        sys.stderr.write("test-summary: no %s\n" % a.logs[0])
        return 1
    tests = {}     # name -> [entry, ...] (a skipped one replaced by a later run)
    for t in first:
        tests.setdefault(t["name"], []).append(t)
    later = set()
    for path in a.logs[1:]:
        log = load(path)
        if log is None:
            print("test-summary: no %s: counted as empty" % path)
            continue
        for t in log:
            later.add(t["name"])
            prev = tests.setdefault(t["name"], [])
            if prev and prev[-1].get("result") == "SKIP":
                prev.pop()
            prev.append(t)
    passed = failed = skipped = 0
    for name, entries in tests.items():
        for t in entries:
            if (a.rerun and name not in later and t.get("result") == "SKIP"
                    and a.rerun in suites(t)):
                print("test-summary: %s: skipped here and not rerun: counted as failed" % name)
                failed += 1
                continue
            p, f, s = count(t)
            passed, failed, skipped = passed + p, failed + f, skipped + s
    for path in a.add:
        log = load(path)
        if log is None:
            print("test-summary: no %s: counted as 1 failed" % path)
            failed += 1
            continue
        p = f = s = 0
        for t in log:
            tp, tf, ts = count(t)
            p, f, s = p + tp, f + tf, s + ts
        print(f"test-summary: {path}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
