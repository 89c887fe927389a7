#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the vcoproc-sim command line: check_cli.py TEST SIM SCENARIO_DIR.

shares       the headline run prints shares within 1% of 1/7, 2/7, 4/7
trace        --trace writes well-formed Chrome trace JSON
errors       bad arguments exit 2 with a clear message; scenario errors found
             when the run is set up name FILE:LINE:COLUMN
windows      --window: per-window shares, judged windows, worst errors, and
             latency percentiles in the JSON and the table
scenarios    every shipped scenario runs; --check passes unless the file
             says "# expect: check fails" ("# check-tolerance: F" sets
             --tolerance)
determinism  the same arguments give the same output
"""
import json
import os
import subprocess
import sys
import tempfile

FIELDS = ["domain", "share", "expected_share", "jobs", "stats"]
# The framework's counters: the keys of the control socket (VC_VCOPROC_STATS).
STATS = ["run_ns", "switches_in", "switches_out", "refusals", "refusal_wait_ns",
         "mmio_emulated", "mmio_forwarded", "irqs", "jobs", "resets", "wakeups",
         "deadline_misses", "jitter_ns", "jitter_max_ns"]
COPROC_STATS = ["uptime_ns", "busy_ns", "decisions", "decision_ns", "switches", "refusals",
                "refusal_wait_ns", "switch_lat_total_ns", "switch_lat_max_ns", "switch_ns",
                "mmio_emulated", "mmio_forwarded", "irqs", "resets", "stale_events"]
COPROC_FIELDS = ["stats", "switch_latency_mean_ns", "busy_fraction"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(sim, *args, expect=0):
    p = subprocess.run([sim, *args], capture_output=True, text=True, timeout=100)
    if expect is not None and p.returncode != expect:
        fail("%s %s: exit %d, expected %d\nstderr: %s"
             % (sim, " ".join(args), p.returncode, expect, p.stderr))
    return p


def test_shares(sim, _):
    weights = [1, 2, 4]
    p = run(sim, "--algo", "credit", "--weights", "1,2,4", "--seconds", "10",
            "--nonpreemptible", "0.2")
    doc = json.loads(p.stdout)
    if doc["algo"] != "credit" or abs(doc["seconds"] - 10) > 1e-9:
        fail("algo/seconds: %r %r" % (doc["algo"], doc["seconds"]))
    if sorted(doc["coproc"]["stats"]) != sorted(COPROC_STATS):
        fail("coproc stats: %r" % sorted(doc["coproc"]["stats"]))
    for k in COPROC_FIELDS:
        if k not in doc["coproc"]:
            fail("coproc lacks " + k)
    vcs = doc["vcoprocs"]
    if len(vcs) != 3:
        fail("%d vcoprocs" % len(vcs))
    total = sum(v["stats"]["run_ns"] for v in vcs)
    for v, w in zip(vcs, weights):
        for k in FIELDS:
            if k not in v:
                fail("%s lacks %s" % (v.get("domain"), k))
        if sorted(v["stats"]) != sorted(STATS):
            fail("%s: stats %r" % (v["domain"], sorted(v["stats"])))
        st = v["stats"]
        want = w / sum(weights)
        if abs(v["share"] - st["run_ns"] / total) > 1e-6:
            fail("%s: share %f is not run_ns/total" % (v["domain"], v["share"]))
        if abs(v["share"] - want) > 0.01 * want:
            fail("%s: share %f, want %f within 1%%" % (v["domain"], v["share"], want))
        if abs(v["expected_share"] - want) > 1e-6:
            fail("%s: expected_share %f" % (v["domain"], v["expected_share"]))
        if v["jobs"] <= 0 or st["irqs"] < v["jobs"] or st["mmio_forwarded"] <= 0:
            fail("%s: no work seen: %r" % (v["domain"], v))
        print("%s share %.6f want %.6f (%+.3f%%)" % (v["domain"], v["share"], want,
                                                     100 * (v["share"] - want) / want))
    if doc["coproc"]["stats"]["refusals"] <= 0:
        fail("no refusals with 20% non-preemptible work")
    run(sim, "--algo", "credit", "--weights", "1,2,4", "--seconds", "10",
        "--nonpreemptible", "0.2", "--check", "--quiet")


def test_trace(sim, _):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.json")
        run(sim, "--algo", "credit", "--weights", "1,3", "--seconds", "1",
            "--nonpreemptible", "0.3", "--quiet", "--trace", path)
        with open(path) as f:
            doc = json.load(f)
    evs = doc.get("traceEvents")
    if not isinstance(evs, list) or len(evs) < 100:
        fail("traceEvents missing or short")
    open_run = {}
    names = set()
    for e in evs:
        for k in ("name", "ph", "pid", "tid"):
            if k not in e:
                fail("event lacks %s: %r" % (k, e))
        names.add(e["name"])
        if e["ph"] == "M":
            continue
        if not isinstance(e.get("ts"), (int, float)):
            fail("event without ts: %r" % e)
        if e["ph"] == "B":
            if open_run.get(e["tid"]):
                fail("nested B on tid %d" % e["tid"])
            open_run[e["tid"]] = e["ts"]
        elif e["ph"] == "E":
            if e["tid"] not in open_run or open_run[e["tid"]] is None:
                fail("E without B on tid %d" % e["tid"])
            if e["ts"] < open_run[e["tid"]]:
                fail("E before B on tid %d" % e["tid"])
            open_run[e["tid"]] = None
    if any(v is not None for v in open_run.values()):
        fail("unterminated run interval")
    for n in ("run", "decide", "switch", "refused", "irq", "thread_name"):
        if n not in names:
            fail("no %s events" % n)
    print("%d trace events, names %s" % (len(evs), sorted(names)))


def test_errors(sim, scen_dir):
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.scn")
        with open(bad, "w") as f:
            f.write("algo credit\n# fine so far\ndomain name=a np=7\n")
        # Errors only the framework finds, when the run is set up.
        refused = os.path.join(d, "refused.scn")
        with open(refused, "w") as f:
            f.write("algo credit\ndomain name=a\n\ndomain name=b weight=0 job=1ms\n")
        badparam = os.path.join(d, "badparam.scn")
        with open(badparam, "w") as f:
            f.write("algo credit\nparam slice=1h\ndomain name=a\n")
        unknown = os.path.join(d, "unknown.scn")
        with open(unknown, "w") as f:
            f.write("algo rtds\ndomain name=a budget=1ms period=10ms colour=red\n")
        ring = os.path.join(d, "ring.scn")
        with open(ring, "w") as f:
            f.write("domain name=a\ndomain name=b mem=64K depth=256 chunk=1us\n")
        cases = [
            ([], "nothing to simulate"),
            (["--weights"], "needs a value"),
            (["--weights", "1,x"], "--weights: expected a number"),
            (["--weights", "1,0"], "--weights: expected a number"),
            (["--weights", "1", "--seconds", "-1"], "--seconds: expected a duration"),
            (["--weights", "1", "--nonpreemptible", "2"], "--nonpreemptible"),
            (["--weights", "1", "--frobnicate"], "unknown option"),
            (["--weights", "1", "extra"], "unexpected argument"),
            (["--weights", "1", "--algo", "nosuch"], "unknown algorithm 'nosuch'"),
            (["--weights", "1", "--slice", "1h"], "slice=1h"),
            (["--weights", "1", "--param", "noequals"], "--param: expected KEY=VALUE"),
            (["--scenario", os.path.join(d, "missing.scn")], "missing.scn"),
            (["--scenario", bad], bad + ":3:15: np must be a fraction"),
            (["--scenario", refused],
             refused + ":4:15: domain b: vcoproc: weight=0: invalid argument"),
            (["--scenario", badparam],
             badparam + ":2:7: credit: parameter slice=1h: invalid argument"),
            (["--scenario", unknown],
             unknown + ":2:38: domain a: vcoproc: colour=red: unknown parameter"),
            (["--scenario", ring], ring + ":2: domain b: mem 65536 too small"),
            (["--weights", "1,0x"], "--weights: expected a number"),
            (["--weights", "1", "--window", "0"], "--window: expected a duration"),
            (["--weights", "1", "--device", "ctx_size=5000"],
             "--device:1:10: ctx_size must be a multiple of 4K"),
            (["--weights", "1", "--device", "colour=red"], "--device: unknown key 'colour'"),
            (["--weights", "1", "--np-chain", "1ms"], "--np-chain needs --nonpreemptible"),
            (["--scenario", refused, "--device", "ctx_bw=1G"],
             refused + ":4:15: domain b: vcoproc: weight=0"),
            (["--scenario", bad, "--weights", "1"], "exclude each other"),
            (["--scenario", os.path.join(scen_dir, "hang.scn"), "--nonpreemptible", "0.1"],
             "go with --weights"),
        ]
        for args, msg in cases:
            p = run(sim, *args, expect=2)
            if msg not in p.stderr:
                fail("%r: stderr %r lacks %r" % (args, p.stderr, msg))
            if p.stdout:
                fail("%r printed on stdout" % (args,))
    p = run(sim, "--help")
    if "--weights" not in p.stdout or "--scenario" not in p.stdout:
        fail("--help text")
    print("%d bad invocations refused" % len(cases))


def test_scenarios(sim, scen_dir):
    files = sorted(f for f in os.listdir(scen_dir) if f.endswith(".scn"))
    if len(files) < 5:
        fail("only %d scenarios shipped" % len(files))
    for f in files:
        path = os.path.join(scen_dir, f)
        with open(path) as fh:
            text = fh.read()
        expect = 1 if "# expect: check fails" in text else 0
        tol = []
        for line in text.splitlines():
            if line.startswith("# check-tolerance:"):
                tol = ["--tolerance", line.split(":", 1)[1].split()[0]]
        p = run(sim, "--scenario", path, "--check", "--quiet", *tol, expect=expect)
        doc = json.loads(p.stdout)
        if not doc["vcoprocs"]:
            fail(f + ": no vcoprocs")
        print("%-24s ok (exit %d)" % (f, p.returncode))


def test_windows(sim, scen_dir):
    p = run(sim, "--algo", "credit", "--weights", "1,2,4", "--seconds", "5.5",
            "--window", "1s", "--nonpreemptible", "0.2")
    doc = json.loads(p.stdout)
    win = doc["window"]
    if win["ns"] != 10**9 or win["count"] != 5 or win["judged"] != 5:
        fail("window: %r" % win)
    worst_abs = worst_rel = 0
    for v, w in zip(doc["vcoprocs"], [1, 2, 4]):
        want = w / 7
        shares, exp = v["window_shares"], v["window_expected"]
        if len(shares) != 5 or len(exp) != 5 or v["windows_judged"] != 5:
            fail("%s: windows %r %r" % (v["domain"], shares, exp))
        a = max(abs(s - want) for s in shares)
        r = a / want
        if abs(a - v["window_err_abs"]) > 2e-6 or abs(r - v["window_err_rel"]) > 1e-5:
            fail("%s: worst errors %r %r, computed %f %f"
                 % (v["domain"], v["window_err_abs"], v["window_err_rel"], a, r))
        if any(abs(e - want) > 1e-6 for e in exp):
            fail("%s: expected %r" % (v["domain"], exp))
        # Credit keeps every 1 s window of 1:2:4 within 2% of the weights.
        if r > 0.02:
            fail("%s: a window off by %.2f%%" % (v["domain"], 100 * r))
        worst_abs, worst_rel = max(worst_abs, a), max(worst_rel, r)
        lat = [v["latency_p50_ns"], v["latency_p99_ns"], v["latency_max_ns"]]
        if not 0 < lat[0] <= lat[1] <= lat[2]:
            fail("%s: latencies %r" % (v["domain"], lat))
    if abs(win["worst_err_abs"] - worst_abs) > 2e-6 or abs(win["worst_err_rel"] - worst_rel) > 1e-5:
        fail("overall worst: %r" % win)
    if "windows: 5 of 1.000 s; worst error" not in p.stderr or "p99_ms" not in p.stderr:
        fail("table lacks the window line: %r" % p.stderr)
    # Without --window: null, and no per-vcoproc window fields.
    doc = json.loads(run(sim, "--weights", "1,2", "--seconds", "1", "--quiet").stdout)
    if doc["window"] is not None or "window_shares" in doc["vcoprocs"][0]:
        fail("window fields without --window")
    print("5 windows judged; worst %.4f absolute, %.2f%% relative" % (worst_abs, 100 * worst_rel))


def test_determinism(sim, scen_dir):
    args = ["--scenario", os.path.join(scen_dir, "mixed.scn"), "--quiet", "--seconds", "3"]
    a = run(sim, *args).stdout
    b = run(sim, *args).stdout
    if a != b:
        fail("two identical runs differ")
    c = run(sim, *args, "--seed", "43").stdout
    if a == c:
        fail("another seed gave the same run")
    print("identical: %d bytes" % len(a))


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    test, sim, scen_dir = sys.argv[1:]
    globals()["test_" + test](sim, scen_dir)


if __name__ == "__main__":
    main()
