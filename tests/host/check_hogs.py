#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vcoprocd's hang and stop timeouts on a host whose CPUs are all busy.

    check_hogs.py VCOPROCD VCOPROC DTC

The timeouts count only time the device has seen (the platform's seen()
hook), so a device thread the host does not run is not taken for a hung
device.  This runs os.cpu_count() + 1 busy processes for the whole test and,
beside them, vcoprocd with builtin domains (no KVM needed) on a device tree
of its own whose timeouts are as short as a saturating workload allows:

gpu0: credit, 1 ms slices, hang-timeout 20 ms, stop-timeout 5 ms
gpu1: rr, hang-timeout 250 ms, stop-timeout 5 ms

1. Two builtin:compute domains saturate gpu0 for some seconds, switching
   about every millisecond: neither is reset (no "did not stop in time",
   no "made no progress (hang)", resets 0 in the summary), both pass and
   both completed jobs.  Timeouts measured in host time fail here: a stop
   or a compute command outlives 5 ms, or 20 ms, whenever the device thread
   waits for a CPU.
2. A builtin:hang domain alone on gpu1 hangs again and again (a WAIT that
   is never satisfied) while a compute domain runs on gpu0: every hang is
   reset within twice gpu1's hang timeout of its doorbell (the workload
   measures it), the host counts the resets, and the compute domain goes
   on with no reset.

Prints TAP."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, note, results  # noqa: E402 (tests/tap.py)

VCOPROCD, VCOPROC, DTC = sys.argv[1:4]

HANG0_MS, STOP0_MS = 20, 5      # gpu0: the healthy domains
# gpu1: the hung domain.  Its reset must come within twice this; the slack
# (250 ms) is for the host's own threads (the framework's timer, the
# workload's) to get a CPU beside the hogs, which no timeout rule changes.
HANG1_MS, STOP1_MS = 250, 5
RUN_S = 6                       # how long the compute domains run in part 1
HANG_S = 5                      # how long the hung domain hangs in part 2
RESET_MSG = ("did not stop in time", "made no progress (hang)", "kept refusing to stop",
             "could not be stopped", "failed a context switch")

DTS = """/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	ioapic: interrupt-controller@fec00000 {
		compatible = "intel,ioapic";
		reg = <0x0 0xfec00000 0x0 0x1000>;
		interrupt-controller;
		#address-cells = <0>;
		#interrupt-cells = <1>;
	};
	coprocessors {
		compatible = "simple-bus";
		#address-cells = <2>;
		#size-cells = <2>;
		interrupt-parent = <&ioapic>;
		ranges;
		simcp0: coprocessor@fe000000 {
			compatible = "vcoproc,simcp";
			reg = <0x0 0xfe000000 0x0 0x1000>;
			interrupts = <16>;
		};
		simcp1: coprocessor@fe001000 {
			compatible = "vcoproc,simcp";
			reg = <0x0 0xfe001000 0x0 0x1000>;
			interrupts = <17>;
		};
	};
	chosen {
		vcoproc {
			gpu0 {
				compatible = "vcoproc,shared";
				coproc = <&simcp0>;
				instance-id = "gpu0";
				sched = "credit";
				sched-params = "slice=1ms", "ratelimit=0";
				hang-timeout-ms = <%d>;
				stop-timeout-ms = <%d>;
			};
			gpu1 {
				compatible = "vcoproc,shared";
				coproc = <&simcp1>;
				instance-id = "gpu1";
				sched = "rr";
				sched-params = "slice=1ms";
				hang-timeout-ms = <%d>;
				stop-timeout-ms = <%d>;
			};
		};
	};
};
""" % (HANG0_MS, STOP0_MS, HANG1_MS, STOP1_MS)


def cli_json(*args):
    p = subprocess.run([VCOPROC] + list(args) + ["--json"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode:
        raise RuntimeError("vcoproc %s: %s" % (" ".join(args), p.stderr))
    return json.loads(p.stdout)


def vstats():
    """{domain: stats} of every vcoproc."""
    return {v["domain"]: v["stats"] for v in cli_json("vcoproc-list")}


def resets_said(text):
    return [l for l in text.splitlines() if any(m in l for m in RESET_MSG)]


def read_lines(f, out):
    """Append (when it came, line) for each line of @f to @out."""
    for line in f:
        out.append((time.monotonic(), line))


def cpu_ticks(pid):
    """utime + stime of @pid, in clock ticks (0 if it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


class Hogs:
    """One busy process per CPU, and one more."""

    def __init__(self):
        n = (os.cpu_count() or 1) + 1
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                      for _ in range(n)]
        self.t0 = time.monotonic()
        self.ticks0 = [cpu_ticks(p.pid) for p in self.procs]

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def cpus_used(self):
        """CPUs the hogs kept busy on average since they started."""
        dt = time.monotonic() - self.t0
        ticks = sum(cpu_ticks(p.pid) - t for p, t in zip(self.procs, self.ticks0))
        return ticks / os.sysconf("SC_CLK_TCK") / dt if dt > 0 else 0.0

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait()


def part1(dtb):
    """Two saturating domains on gpu0, 1 ms slices, beside the hogs."""
    args = [VCOPROCD, "--dtb", dtb, "--seconds", str(RUN_S), "--json", "-", "--no-echo",
            "--interval", "0"]
    for name in ("a", "b"):
        args += ["--domain", "kernel=builtin:compute,name=%s,cmdline=seconds=%d" % (name, RUN_S)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=RUN_S + 120)
    said = resets_said(p.stderr)
    check(not said, "part 1: no context reset said on gpu0 (stop %d ms, hang %d ms)" %
          (STOP0_MS, HANG0_MS), "\n".join(said[:10]) + ("\n..." if len(said) > 10 else ""))
    try:
        s = json.loads(p.stdout)
    except ValueError:
        check(False, "part 1: vcoprocd's summary", p.stdout[-2000:] + p.stderr[-2000:])
        return
    doms = {d["name"]: d for d in s["domains"]}
    st = {n: d["stats"] for n, d in doms.items()}
    check(sorted(doms) == ["a", "b"] and all(st[n]["resets"] == 0 for n in st) and
          s["coproc"]["resets"] == 0,
          "part 1: resets 0 for a, b and gpu0",
          dict({n: st[n]["resets"] for n in st}, gpu0=s["coproc"]["resets"]))
    check(p.returncode == 0 and all(d["verdict"] == "pass" for d in doms.values()),
          "part 1: both domains pass (every job completed, no device fault)",
          [(n, d["verdict"], d["result"]) for n, d in doms.items()] + [p.stderr[-600:]])
    # Both made progress, and were switched often enough for many stops.
    min_sw = 50 * RUN_S
    check(all(st[n]["jobs"] > 0 and st[n]["switches_in"] >= min_sw for n in st),
          "part 1: both completed jobs and were switched in >= %d times" % min_sw,
          {n: (st[n]["jobs"], st[n]["switches_in"]) for n in st})
    note("part 1: gpu0 %d switches; jobs (commands) a %d, b %d" %
         (s["coproc"]["switches"], st["a"]["jobs"], st["b"]["jobs"]))


def part2(dtb, tmp):
    """A hung domain alone on gpu1 beside a healthy one on gpu0, and the hogs."""
    sock = os.path.join(tmp, "s")
    os.environ["VCOPROC_SOCKET"] = sock
    d = subprocess.Popen([VCOPROCD, "--dtb", dtb, "--socket", sock],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, errs, readers = [], [], []
    try:
        ready = d.stdout.readline().strip()
        if not check(ready == "ready", "part 2: vcoprocd listens", ready):
            return
        readers = [threading.Thread(target=read_lines, args=(f, out), daemon=True)
                   for f, out in ((d.stdout, lines), (d.stderr, errs))]
        for t in readers:
            t.start()
        cfgs = {"a": 'name = "a"\nkernel = "builtin:compute"\nvcoproc = [ "gpu0" ]\n',
                "h": 'name = "h"\nkernel = "builtin:hang"\nvcoproc = [ "gpu1" ]\n'}
        for name, text in cfgs.items():
            path = os.path.join(tmp, name + ".cfg")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run([VCOPROC, "create", path], capture_output=True, text=True,
                               timeout=60)
            if not check(p.returncode == 0, "part 2: create %s" % name, p.stderr):
                return
        time.sleep(1.0)
        before = vstats()
        time.sleep(HANG_S)
        t_after = time.monotonic()
        after = vstats()
        for name in ("h", "a"):
            subprocess.run([VCOPROC, "destroy", name], capture_output=True, timeout=60)
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(timeout=60)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = d.wait()
    check(rc == 0, "part 2: SIGTERM shuts vcoprocd down cleanly (exit %d)" % rc)
    for t in readers:
        t.join(timeout=10)

    out = "".join(l for _, l in lines)
    told = [(t, float(m.group(1))) for t, l in lines
            for m in [re.match(r"\[h\] h: hang \d+ reset after ([0-9.]+) ms", l)] if m]
    took = [ms for _, ms in told]
    bound = 2 * HANG1_MS
    check(len(took) >= 5, "part 2: the hung domain on gpu1 was reset again and again (%d)" %
          len(took), out[-2000:])
    if took:
        srt = sorted(took)
        note("part 2: doorbell to reset: min %.1f, median %.1f, max %.1f ms (hang timeout "
             "%d ms)" % (srt[0], srt[len(srt) // 2], srt[-1], HANG1_MS))
    late = [t for t in took if t > bound]
    check(took and not late, "part 2: every hang reset within 2 x %d ms = %d ms" %
          (HANG1_MS, bound), "late: %s of %d" % (late[:20], len(took)))
    check(not any(t < HANG1_MS for t in took),
          "part 2: no hang reset before its %d ms timeout" % HANG1_MS, srt[:5] if took else "")
    # Every reset told before the counters were read was counted.
    hr = after.get("h", {}).get("resets", 0)
    told_before = sum(1 for t, _ in told if t < t_after)
    check(hr > 0 and hr >= told_before,
          "part 2: gpu1 counts the resets of h (%d; %d told by then)" % (hr, told_before))
    a0, a1 = before.get("a", {}), after.get("a", {})
    check(a1.get("jobs", 0) > a0.get("jobs", 0) and a1.get("resets", 1) == 0,
          "part 2: the healthy domain on gpu0 went on while h hung (jobs %d -> %d, resets %s)" %
          (a0.get("jobs", 0), a1.get("jobs", 0), a1.get("resets")))
    said = [l for l in resets_said("".join(l for _, l in errs)) if "made no progress (hang)" not in l or
            "gpu1" not in l]
    check(not said, "part 2: the only resets said are gpu1's hang resets", "\n".join(said[:10]))


def main():
    tmp = tempfile.mkdtemp(prefix="vcoprocd-hogs-")
    dtb = os.path.join(tmp, "hogs.dtb")
    p = subprocess.run([DTC, "-q", "-I", "dts", "-O", "dtb", "-o", dtb, "-"], input=DTS,
                       capture_output=True, text=True, timeout=60)
    if not check(p.returncode == 0, "the test's device tree compiles", p.stderr):
        print("1..%d" % len(results))
        sys.exit(1)
    hogs = Hogs()
    try:
        time.sleep(0.5)
        part1(dtb)
        part2(dtb, tmp)
        alive, used = hogs.alive(), hogs.cpus_used()
    finally:
        hogs.stop()
    note("%d hogs kept %.2f of %d CPUs busy on average" %
         (len(hogs.procs), used, os.cpu_count() or 1))
    check(alive, "the hogs ran throughout")
    print("1..%d" % len(results))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
