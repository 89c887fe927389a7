#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Count test cases from meson's testlog.json and print the closing line
'N passed, N failed, N skipped'.  TAP tests (the cmocka unit tests) count
each case; other tests count once.  Exit 1 if anything failed."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
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

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
