#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vcoproc CLI against a running vcoprocd: builtin domains (threads
driving simcp in THREAD mode on real time with the native driver), as on a
machine without KVM (VCOPROC_KVM_DEVICE names a device that does not
exist, so the run is the same with or without /dev/kvm), and its context
log (--context-log) to see an undo happen.

    check_cli.py VCOPROC VCOPROCD SYSTEM.DTB EXAMPLES-DIR

create two example domains -> both listed on gpu0 -> weights 1:1 -> 1:3
moves the measured shares (run-time deltas over a window after the change)
to 25/75 within 3 points in 5 s -> credit -> rr keeps both vcoprocs and
their work -> console, top, trace -> destroy -> a domain file naming an
unknown coprocessor is refused and leaves nothing behind -> usage errors
-> malformed and oversized requests get errors and the daemon stays up ->
another uid is turned away.  Prints TAP."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, note, results  # noqa: E402 (tests/tap.py)

VCOPROC, DAEMON, DTB, EXAMPLES = sys.argv[1:5]
TOLERANCE = 0.03     # share points
SETTLE_LIMIT = 5.0   # seconds after the change
WINDOW = 1.5         # seconds of each measurement


def run(*args, timeout=30, env=None, prefix=()):
    p = subprocess.run(list(prefix) + [VCOPROC] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    rc, out, err = run(*args, "--json")
    if rc != 0:
        raise RuntimeError("vcoproc %s failed (%d): %s" % (" ".join(args), rc, err))
    return json.loads(out)


def gpu0_run(vlist):
    return {v["domain"]: v["stats"]["run_ns"] for v in vlist if v["coproc"] == "gpu0"}


def gpu0_jobs(vlist):
    return {v["domain"]: v["stats"]["jobs"] for v in vlist if v["coproc"] == "gpu0"}


def gpu0_expected(vlist):
    return {v["domain"]: v["expected_share"] for v in vlist if v["coproc"] == "gpu0"}


def measure_shares(window):
    """Shares of gpu0's run time per domain over the next @window seconds."""
    a = gpu0_run(run_json("vcoproc-list", "-c", "gpu0"))
    time.sleep(window)
    b = gpu0_run(run_json("vcoproc-list", "-c", "gpu0"))
    delta = {d: b[d] - a.get(d, 0) for d in b}
    total = sum(delta.values())
    return {d: (delta[d] / total if total else 0.0) for d in delta}, total


def raw_request(payload, sock_path):
    """Send @payload bytes on a fresh connection; the reply lines and whether it closed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(payload)
    data = b""
    closed = False
    try:
        while data.count(b"\n") < 1 or not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
        if not closed:
            s.settimeout(0.5)
            try:
                closed = s.recv(1) == b""
            except socket.timeout:
                closed = False
    finally:
        s.close()
    return [json.loads(l) for l in data.decode().splitlines() if l], closed


def main():
    tmp = tempfile.mkdtemp(prefix="vcoproc-cli-")
    sock = os.path.join(tmp, "vcoprocd.sock")
    os.chmod(tmp, 0o755)
    os.environ["VCOPROC_SOCKET"] = sock
    ctx_log = os.path.join(tmp, "contexts")
    os.environ["VCOPROC_KVM_DEVICE"] = "/nonexistent/kvm"
    argv = [DAEMON, "--dtb", DTB, "--socket", sock, "--no-echo", "--context-log", ctx_log]
    daemon = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = daemon.stdout.readline().strip()
        if not check(ready == "ready", "%s starts and listens" % os.path.basename(DAEMON),
                     "got %r; stderr: %s" % (ready, daemon.stderr.read() if daemon.poll() is not None else "")):
            return
        scenario(tmp, sock, ctx_log)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                rc = daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                rc = daemon.wait()
            check(rc == 0, "the daemon shuts down cleanly on SIGTERM", "exit %s" % rc)
            check(not os.path.exists(sock), "its socket file is removed")
        err = daemon.stderr.read()
        if not all(results):
            note("daemon stderr:\n" + err)
        shutil.rmtree(tmp, ignore_errors=True)
        print("1..%d" % len(results))


def read_events(path):
    """The daemon's context log (--context-log): [(op, coproc, id)], in order."""
    try:
        with open(path) as f:
            return [tuple(l.split()) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def scenario(tmp, sock, ctx_log):
    dom1 = os.path.join(EXAMPLES, "dom1.cfg")
    dom2 = os.path.join(EXAMPLES, "dom2.cfg")

    # --- usage and help -------------------------------------------------------------
    rc, out, _ = run("--help")
    check(rc == 0 and "vcoproc-list" in out and "sched-set" in out, "--help lists the commands")
    rc, out, _ = run("help", "sched-set")
    check(rc == 0 and "--algo" in out, "help COMMAND explains it")
    rc, out, _ = run("sched-set", "--help")
    check(rc == 0 and "usage: vcoproc sched-set" in out, "COMMAND --help")
    check(run()[0] == 2, "no command: exit 2")
    rc, _, err = run("frobnicate")
    check(rc == 2 and "no command" in err, "unknown command: exit 2")
    check(run("list", "extra")[0] == 2, "extra argument: exit 2")
    check(run("vcoproc-set", "dom1", "gpu0", "weight")[0] == 2, "param without '=': exit 2")
    rc, _, err = run("--socket", os.path.join(tmp, "nope.sock"), "list")
    check(rc == 1 and "cannot connect" in err, "no daemon at the socket: exit 1 with a reason")

    # --- the system from the device tree ------------------------------------------------
    cps = run_json("list")
    check([(c["id"], c["compatible"], c["algorithm"]) for c in cps] ==
          [("gpu0", "vcoproc,simcp", "credit"), ("gpu1", "vcoproc,simcp", "rr")],
          "list: the coprocessors of examples/system.dts", json.dumps(cps))
    rc, out, _ = run("list")
    check(rc == 0 and out.splitlines()[0].split() == ["ID", "COMPATIBLE", "ALGORITHM",
                                                      "VCOPROCS", "UTIL", "ASSIGNED"] and
          all(line.endswith(" shared") for line in out.splitlines()[1:]), "list: a table",
          out)
    sg = run_json("sched-get", "gpu0")
    check(sg["params"].get("slice") == "10ms" and sg["params"].get("ratelimit") == "1ms",
          "sched-get: the sched-params of the device tree", json.dumps(sg))

    # --- two domains on gpu0 ----------------------------------------------------------------
    rc, out, err = run("create", dom1)
    check(rc == 0 and "created domain dom1" in out, "create examples/dom1.cfg", out + err)
    rc, out, err = run("create", dom2)
    check(rc == 0 and "created domain dom2" in out, "create examples/dom2.cfg", out + err)
    rc, _, err = run("create", dom1)
    check(rc == 1 and "exists" in err, "a second dom1 is refused", err)
    vl = run_json("vcoproc-list", "-c", "gpu0")
    check(sorted(v["domain"] for v in vl) == ["dom1", "dom2"],
          "vcoproc-list --json -c gpu0: both domains on gpu0", json.dumps(vl))
    vl = run_json("vcoproc-list", "-d", "dom2")
    check(sorted(v["coproc"] for v in vl) == ["gpu0", "gpu1"], "vcoproc-list -d dom2: two vcoprocs")
    dl = run_json("domain-list")
    check(sorted(d["name"] for d in dl) == ["dom1", "dom2"], "domain-list")

    time.sleep(0.5)
    shares, total = measure_shares(WINDOW)
    note("weights 1:1: dom1 %.1f%%, dom2 %.1f%% of %.2f s" %
         (100 * shares["dom1"], 100 * shares["dom2"], total / 1e9))
    check(abs(shares["dom1"] - 0.5) <= TOLERANCE, "weights 1:1 give 50/50 (within 3 points)",
          json.dumps(shares))
    check(total / 1e9 >= 0.9 * WINDOW, "gpu0 is busy all the time (saturating workloads)",
          "%.2f s of %.2f s" % (total / 1e9, WINDOW))
    exp = gpu0_expected(run_json("vcoproc-list", "-c", "gpu0"))
    check(exp == {"dom1": 0.5, "dom2": 0.5}, "vcoproc-list: expected_share 0.5 each (credit 1:1)",
          json.dumps(exp))
    rc, out, _ = run("vcoproc-list", "-c", "gpu0")
    check(rc == 0 and "EXPECTED" in out and " 50.0%" in out,
          "vcoproc-list: the table shows the expected share next to the measured one", out)

    # --- 1:1 -> 1:3, live ------------------------------------------------------------------------
    rc, out, err = run("vcoproc-set", "dom2", "gpu0", "weight=768")
    t_change = time.monotonic()
    check(rc == 0 and "weight=768" in out, "vcoproc-set dom2 gpu0 weight=768", out + err)
    exp = gpu0_expected(run_json("vcoproc-list", "-c", "gpu0"))
    check(exp == {"dom1": 0.25, "dom2": 0.75}, "expected_share follows the weights at once: 1/4, 3/4",
          json.dumps(exp))
    moved = False
    while time.monotonic() - t_change < SETTLE_LIMIT:
        shares, total = measure_shares(WINDOW)
        after = time.monotonic() - t_change
        note("weights 1:3, window ending %.1f s after the change: dom1 %.1f%%, dom2 %.1f%%" %
             (after, 100 * shares["dom1"], 100 * shares["dom2"]))
        if abs(shares["dom1"] - 0.25) <= TOLERANCE and abs(shares["dom2"] - 0.75) <= TOLERANCE:
            moved = True
            break
    check(moved, "the shares move to 25/75 (within 3 points) within %.0f s" % SETTLE_LIMIT,
          json.dumps(shares))

    # --- credit -> rr keeps every vcoproc and its work -----------------------------------------
    jobs_before = gpu0_jobs(run_json("vcoproc-list", "-c", "gpu0"))
    rc, out, err = run("sched-set", "gpu0", "--algo", "rr", "slice=5ms")
    check(rc == 0 and out.startswith("gpu0: rr"), "sched-set gpu0 --algo rr slice=5ms", out + err)
    sg = run_json("sched-get", "gpu0")
    check(sg["algorithm"] == "rr" and sg["params"] == {"slice": "5ms"}, "sched-get: rr, slice=5ms",
          json.dumps(sg))
    vl = run_json("vcoproc-list", "-c", "gpu0")
    check(sorted(v["domain"] for v in vl) == ["dom1", "dom2"], "both vcoprocs survive the switch")
    check(gpu0_expected(vl) == {"dom1": 0.5, "dom2": 0.5}, "rr: expected_share 0.5 each",
          json.dumps(gpu0_expected(vl)))
    shares, _ = measure_shares(WINDOW)
    jobs_after = gpu0_jobs(run_json("vcoproc-list", "-c", "gpu0"))
    note("rr: dom1 %.1f%%, dom2 %.1f%%; jobs %s -> %s" %
         (100 * shares["dom1"], 100 * shares["dom2"], jobs_before, jobs_after))
    check(all(jobs_after[d] > jobs_before[d] for d in ("dom1", "dom2")),
          "their work goes on under rr (jobs keep completing)")
    check(abs(shares["dom1"] - 0.5) <= TOLERANCE, "rr gives them equal shares", json.dumps(shares))
    rc, _, err = run("sched-set", "gpu0", "slice=0")
    check(rc == 1 and "slice=0: invalid value" in err, "a bad value: exit 1 with a reason", err)
    rc, _, err = run("sched-set", "gpu0", "--algo", "fifo")
    check(rc == 1 and "unknown algorithm" in err, "an unknown algorithm: exit 1", err)
    rc, _, err = run("vcoproc-set", "dom1", "gpu1", "weight=2")
    check(rc == 1 and "has no vcoproc on gpu1" in err, "vcoproc-set where there is none: exit 1", err)
    rc, out, err = run("sched-set", "gpu0", "--algo", "credit")
    weights = {v["domain"]: v["params"].get("weight") for v in run_json("vcoproc-list", "-c", "gpu0")}
    check(rc == 0 and weights == {"dom1": "256", "dom2": "768"},
          "back to credit: the weights set before are there again", json.dumps(weights))

    # --- console, top, trace ---------------------------------------------------------------------
    rc, out, _ = run("console", "dom1", "--no-follow")
    check(rc == 0 and "dom1: simcp on gpu0 ready" in out, "console --no-follow", out)
    follower = subprocess.Popen([VCOPROC, "console", "dom1"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    first = follower.stdout.readline()
    rc, out, _ = run("top", "-n", "2", "-d", "0.3")
    check(rc == 0 and "vcoproc top" in out and "dom2" in out and "SHARE" in out, "top -n 2", out)
    rc, out, _ = run("top", "-n", "1", "-d", "0.3", "--json")
    try:
        sample = json.loads(out)
        ok = (rc == 0 and len(sample["vcoprocs"]) == 3 and len(sample["coprocs"]) == 2 and
              all("expected_share" in v for v in sample["vcoprocs"]))
    except ValueError:
        ok = False
    check(ok, "top --json", out)
    trace = os.path.join(tmp, "gpu0.json")
    rc, out, err = run("trace", "gpu0", "-o", trace, "-t", "0.3")
    try:
        with open(trace) as f:
            events = json.load(f)["traceEvents"]
        ok = (rc == 0 and len(events) > 10 and any(e.get("ph") == "B" for e in events) and
              any(e.get("ph") == "M" and e.get("name") == "thread_name" for e in events))
    except (OSError, ValueError, KeyError):
        ok = False
    check(ok, "trace gpu0 -o FILE.json: Chrome trace-event JSON", out + err)
    check(run("trace", "gpu0")[0] == 2, "trace without -o: exit 2")

    # --- destroy ---------------------------------------------------------------------------------------
    rc, _, err = run("destroy", "dom1")
    check(rc == 0, "destroy dom1", err)
    try:
        out, err = follower.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        follower.kill()
        out, err = follower.communicate()
    check(follower.returncode == 0 and "dom1" in first and
          "is gone" in err, "console follows dom1 until it is destroyed",
          "rc %s, first %r, err %r" % (follower.returncode, first, err))
    rc, _, err = run("destroy", "2")
    check(rc == 0, "destroy by id", err)
    check(run_json("vcoproc-list") == [] and run_json("domain-list") == [],
          "nothing is left")
    rc, _, err = run("destroy", "dom1")
    check(rc == 1 and 'no domain "dom1"' in err, "destroying it again: exit 1", err)

    # --- refused domain files leave nothing behind ---------------------------------------------------
    bad = os.path.join(tmp, "bad.cfg")
    with open(bad, "w") as f:
        f.write('name = "dom3"\nkernel = "builtin:compute"\nvcoproc = [ "gpu0",\n            "gpu9,weight=512" ]\n')
    rc, out, err = run("create", bad)
    want = '%s:4:14: expected a coprocessor instance (gpu0, gpu1), found "gpu9"' % os.path.realpath(bad)
    check(rc == 1 and want in err, "an unknown coprocessor is refused with FILE:LINE:COL", err)
    check(run_json("vcoproc-list") == [] and run_json("domain-list") == [],
          "...before anything is made: no domain left")

    # The second vcoproc fails after the first was made (gpu1 runs credit,
    # which refuses weight=0): the first is undone with the domain.  The
    # daemon's context log shows gpu0's context made before gpu1 was tried
    # and freed only after, and nothing left allocated.
    rc, _, err = run("sched-set", "gpu1", "--algo", "credit")
    check(rc == 0, "sched-set gpu1 --algo credit", err)
    with open(bad, "w") as f:
        f.write('name = "dom3"\nkernel = "builtin:idle"\nvcoproc = [ "gpu0", "gpu1,weight=0" ]\n')
    mark = len(read_events(ctx_log))
    rc, out, err = run("create", bad)
    want = '%s:3:34: expected a valid value of "weight" for credit on gpu1' % os.path.realpath(bad)
    check(rc == 1 and want in err, "the second vcoproc of a domain file is refused", err)
    ev = read_events(ctx_log)[mark:]
    check_undo_events(ev)
    check(run_json("vcoproc-list") == [] and run_json("domain-list") == [],
          "...and no domain and no vcoproc is left")
    rc, _, err = run("sched-set", "gpu1", "--algo", "rr")
    check(rc == 0, "sched-set gpu1 --algo rr (back)", err)
    rest_of_refusals(bad)
    protocol_and_permissions(sock)


def check_undo_events(ev):
    g0 = [i for i, e in enumerate(ev) if e[1] == "gpu0"]
    g1 = [i for i, e in enumerate(ev) if e[1] == "gpu1"]
    made = [ev[i] for i in g0 if ev[i][0] == "alloc"]
    freed = [ev[i] for i in g0 if ev[i][0] == "free"]
    check(len(made) == 1 and len(freed) == 1 and made[0][2] == freed[0][2] and
          g1 and ev[g0[0]][0] == "alloc" and g0[0] < g1[0] and
          ev[g0[-1]][0] == "free" and g0[-1] > g1[-1],
          "...after gpu0's vcoproc was made: its context lived while gpu1 was tried, then was freed",
          repr(ev))
    live = {}
    for op, cp, tag in ev:
        live[(cp, tag)] = live.get((cp, tag), 0) + (1 if op == "alloc" else -1)
    check(ev and all(n == 0 for n in live.values()), "...every context made for it is freed",
          repr(ev))


def rest_of_refusals(bad):
    with open(bad, "w") as f:
        f.write('name = "dom3"\nkernel = "builtin:idle"\nvcoproc = [ "gpu0" "gpu1" ]\n')
    rc, out, err = run("create", bad)
    want = '%s:3:20: expected \',\' or \']\', found string "gpu1"' % os.path.realpath(bad)
    check(rc == 1 and want in err, "a syntax error: FILE:LINE:COL: expected X, found Y", err)
    with open(bad, "w") as f:
        f.write('name = "dom3"\nkernel = "builtin:idle"\nvcoproc = [ "gpu0,weight=0" ]\n')
    rc, out, err = run("create", bad)
    want = '%s:3:26: expected a valid value of "weight"' % os.path.realpath(bad)
    check(rc == 1 and want in err, "a value the scheduler refuses names the parameter", err)
    check(run_json("domain-list") == [], "still no domain")
    with open(bad, "w") as f:
        f.write('name = "dom3"\nkernel = "builtin:idle"\nvcoproc = [ "gpu1,bogus=1" ]\n')
    rc, out, err = run("create", bad)
    want = '%s:3:19: expected a per-vcoproc parameter of some algorithm' % os.path.realpath(bad)
    check(rc == 1 and want in err, "a key no algorithm has is refused", err)
    with open(bad, "w") as f:
        f.write('name = "dom3"\nkernel = "builtin:idle"\nvcoproc = [ "gpu1,weight=9" ]\nfoo = 1\n')
    rc, out, err = run("create", bad)
    check(rc == 0 and 'warning: unknown setting "foo" ignored' in err and
          'rr on gpu1 has no parameter "weight"' in err, "warnings reach the user", err)
    check(run("destroy", "dom3")[0] == 0, "destroy dom3")


def protocol_and_permissions(sock):
    # --- the protocol: malformed and oversized requests ---------------------------------------------
    replies, closed = raw_request(b"this is not json\n", sock)
    check(len(replies) == 1 and replies[0]["error"]["class"] == "GenericError" and not closed,
          "malformed JSON: an error reply, the connection stays", repr(replies))
    replies, closed = raw_request(b'{"execute":"list"}\n{"execute":"nope"}\n', sock)
    check(len(replies) == 2 and "return" in replies[0] and
          replies[1]["error"]["class"] == "CommandNotFound", "pipelined requests, one reply each",
          repr(replies))
    replies, closed = raw_request(b"x" * 100000 + b"\n", sock)
    check(len(replies) == 1 and "too large" in replies[0]["error"]["desc"] and closed,
          "oversized request: an error reply, then the connection closes", repr(replies))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(b'{"execute": "li')
    s.close()
    check(len(run_json("list")) == 2, "the daemon stays up after all that")

    # --- permissions ------------------------------------------------------------------------------------
    if os.geteuid() != 0:
        note("not root: another uid cannot be tried here (ctl_cred_allowed() is unit-tested)")
        return
    rc, _, err = run("list", prefix=demote_prefix())
    check(rc == 1 and "Permission denied" in err, "another uid: the socket's mode keeps it out", err)
    os.chmod(sock, 0o666)
    try:
        rc, _, err = run("list", prefix=demote_prefix())
        check(rc == 1 and "may not use this socket" in err,
              "another uid with the socket opened up: the credential check refuses it", err)
    finally:
        os.chmod(sock, 0o660)


def demote_prefix():
    """A command prefix that runs as nobody:nogroup (setpriv, else a Python shim)."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        return (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
    shim = ("import os, sys; os.setgroups([]); os.setgid(65534); os.setuid(65534); "
            "os.execv(sys.argv[1], sys.argv[1:])")
    return (sys.executable, "-c", shim)


if __name__ == "__main__":
    main()
    sys.exit(0 if results and all(results) else 1)
