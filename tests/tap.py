# SPDX-License-Identifier: MIT
"""TAP for the project's Python tests: check() records a result and prints
its line (with the detail of a failure as diagnostics), note() prints
diagnostic lines, plan() the closing "1..N" and the exit status.

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from tap import check, note, plan, results
"""

results = []   # one bool per check, in order


def check(ok, what, detail=""):
    """Record @ok for @what; print "ok N - what" or "not ok N - what" and @detail."""
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), what) +
          ("" if ok or not detail else "\n# " + str(detail).replace("\n", "\n# ")), flush=True)
    return ok


def note(text):
    """@text as diagnostic lines ("# ...")."""
    for line in str(text).splitlines() or [""]:
        print("# " + line, flush=True)


def plan():
    """Print "1..N"; return 0 when every check passed (and there was one), else 1."""
    print("1..%d" % len(results), flush=True)
    return 0 if results and all(results) else 1
