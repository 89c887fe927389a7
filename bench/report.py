#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write BUILD/bench/report.md: the cost of sharing against passthrough.

Usage: python3 bench/report.py [BUILD]      (BUILD defaults to "build")

Reads what `make bench` left in BUILD/bench/ - pt.json (bench-pt --json)
and kvm.json (bench-kvm --json) - and runs what is missing: bench-pt when
pt.json is absent, and always vcoproc-sim for the share-over-time series
(credit 1:1:2:4 with a weight change half-way, 100 ms windows).  Draws
PNG plots with gnuplot; without gnuplot the report is written without
them and says so.  Never fails for want of a plot or of KVM.
"""
import json
import os
import shutil
import subprocess
import sys

SHARE_SCENARIO = """\
# credit 1:1:2:4; at 5 s d1's weight goes from 256 to 1024 (4:1:2:4)
algo credit
seconds 10
window 100ms
param slice=2ms
domain name=d1 weight=256 job=1ms scratch=64K
domain name=d2 weight=256 job=1ms scratch=64K
domain name=d3 weight=512 job=1ms scratch=64K
domain name=d4 weight=1024 job=1ms scratch=64K
at 5s set d1 weight=1024
"""


def machine(kvm):
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if kvm is None:
        k = "KVM not measured (bench-kvm not run or not built)"
    elif kvm.get("usable"):
        k = "KVM usable"
    else:
        k = "KVM not usable: " + kvm.get("reason", "?")
    return "%s, %d CPUs, %s" % (model, os.cpu_count() or 0, k)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def verdict(ok):
    return "MET" if ok else "MISSED"


class Plotter:
    def __init__(self, out):
        self.out = out
        self.gnuplot = shutil.which("gnuplot")
        self.made = []

    def plot(self, name, script, data):
        """Write data files {name}-{key}.dat and run script; return the PNG or None."""
        if not self.gnuplot:
            return None
        ddir = os.path.join(self.out, "data")
        os.makedirs(ddir, exist_ok=True)
        files = {}
        for key, rows in data.items():
            path = os.path.join(ddir, "%s-%s.dat" % (name, key))
            with open(path, "w") as f:
                for row in rows:
                    f.write(" ".join(str(x) for x in row) + "\n")
            files[key] = path
        png = os.path.join(self.out, name + ".png")
        head = ("set terminal pngcairo size 900,540 noenhanced font ',10'\n"
                if self.has_cairo() else "set terminal png size 900,540 noenhanced\n")
        text = head + "set output '%s'\nset grid\nset key outside right\n" % png
        text += script.format(**files)
        r = subprocess.run([self.gnuplot], input=text, text=True,
                           capture_output=True)
        if r.returncode or not os.path.exists(png):
            print("report: gnuplot failed for %s: %s" % (name, r.stderr.strip()[:300]))
            return None
        self.made.append(png)
        return os.path.basename(png)

    _cairo = None

    def has_cairo(self):
        if Plotter._cairo is None:
            r = subprocess.run([self.gnuplot, "-e", "set terminal"], text=True,
                               capture_output=True)
            Plotter._cairo = "pngcairo" in (r.stdout + r.stderr)
        return Plotter._cairo


def throughput(pt, p, md, where):
    t = pt["throughput"]
    md.append("## Throughput: shared (credit) over passthrough\n")
    md.append("Useful device time per second (simcp executing commands) of N saturating "
              "domains sharing one device under credit, over one domain owning a "
              "passthrough device; %d s virtual per run. Targets (judged on the 64 KiB "
              "context): 4 domains at 2 ms >= 0.98x, at 1 ms >= 0.95x.\n" % t["seconds"])
    data, series = {}, []
    for cx in t["contexts"]:
        md.append("**%s** (%s): device time per switch (save + load) %.2f us.\n" %
                  (cx["name"], cx["what"], cx["switch_device_ns_max"] / 1e3))
        md.append("| slice | 1 domain | 2 domains | 4 domains | 8 domains |")
        md.append("|---|---|---|---|---|")
        slices = []
        for r in cx["runs"]:
            if r["slice"] not in slices:
                slices.append(r["slice"])
        for s in slices:
            rows = [r for r in cx["runs"] if r["slice"] == s]
            md.append("| %s | %s |" % (s, " | ".join("%.4fx" % r["ratio"] for r in rows)))
            if cx["name"] != "noscratch":
                key = ("%s-%s" % (cx["name"], s)).replace("+", "p")
                data[key] = [(r["domains"], r["ratio"]) for r in rows]
                series.append((key, "%s, slice %s" % (cx["name"], s),
                               "linespoints" if cx["judged"] else "linespoints dt 2"))
        md.append("")
        if cx["judged"]:
            for s, target in (("2ms", 0.98), ("1ms", 0.95)):
                r = [r for r in cx["runs"] if r["slice"] == s and r["domains"] == 4][0]
                md.append("* 4 domains at %s: **%.4fx** (target >= %.2fx): **%s**" %
                          (s, r["ratio"], target, verdict(r["ratio"] >= target)))
            md.append("")
    data["targets"] = [(1, 0.98, 0.95), (8, 0.98, 0.95)]
    plots = ", ".join("'{%s}' u 1:2 w %s lw 2 title '%s'" % (k, style, title)
                      for k, title, style in series)
    png = p.plot("throughput", """
set title 'Throughput, shared (credit) / passthrough'
set xlabel 'domains sharing'
set ylabel 'useful device time, ratio to passthrough'
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.9:9]
set yrange [0.9:1.005]
plot {plots}, '{targets}' u 1:2 w lines lc rgb 'red' dt 3 lw 2 title 'target 2 ms (0.98)', '{targets}' u 1:3 w lines lc rgb 'black' dt 3 lw 2 title 'target 1 ms (0.95)'
""".replace("{plots}", plots), data)
    figure(md, png, "Useful device time of N domains sharing under credit at 1, 2 and 10 ms "
           "slices over one domain on a passthrough device (simulator; solid: 64 KiB "
           "contexts, dashed: 256 KiB + 5 us fixed per step); dotted: targets for 4 domains "
           "at 2 ms (0.98) and 1 ms (0.95). " + where)


def figure(md, png, caption):
    if png:
        md.append("![%s](%s)\n" % (caption, png))
        md.append("*%s*\n" % caption)
    else:
        md.append("*(plot not drawn: gnuplot is not installed; %s)*\n" % caption)


def shares(build, p, md, where):
    sim = os.path.join(build, "sim", "vcoproc-sim")
    md.append("## Share over time: credit 1:1:2:4, a weight change at 5 s\n")
    if not os.access(sim, os.X_OK):
        md.append("*(not run: %s is not built)*\n" % sim)
        return
    scn = os.path.join(p.out, "shares.scn")
    with open(scn, "w") as f:
        f.write(SHARE_SCENARIO)
    r = subprocess.run([sim, "--scenario", scn, "--quiet"], capture_output=True, text=True)
    if r.returncode:
        md.append("*(vcoproc-sim failed: %s)*\n" % r.stderr.strip()[:300])
        return
    res = json.loads(r.stdout)
    with open(os.path.join(p.out, "shares.json"), "w") as f:
        f.write(r.stdout)
    win = res["window"]["ns"] / 1e9
    data, plots = {}, []
    for v in res["vcoprocs"]:
        data[v["domain"]] = [((k + 1) * win, s) for k, s in enumerate(v["window_shares"])]
        data[v["domain"] + "-exp"] = [((k + 1) * win, e) for k, e in
                                      enumerate(v["window_expected"]) if e is not None]
    for i, v in enumerate(res["vcoprocs"]):
        plots.append("'{%s}' u 1:2 w steps lw 2 lc %d title '%s'" % (v["domain"], i + 1,
                                                                      v["domain"]))
        plots.append("'{%s-exp}' u 1:2 w points pt 7 ps 0.4 lc %d title '%s expected'" %
                     (v["domain"], i + 1, v["domain"]))
    md.append("`vcoproc-sim` (scenario below), %g s windows: %d windows, worst error in a "
              "judged window %.3f%% absolute (%s), %.2f%% relative (%s); windows with the "
              "change are not judged.\n" %
              (win, res["window"]["count"], 100 * (res["window"]["worst_err_abs"] or 0),
               res["window"]["worst_err_abs_domain"],
               100 * (res["window"]["worst_err_rel"] or 0),
               res["window"]["worst_err_rel_domain"]))
    md.append("```\n" + SHARE_SCENARIO + "```\n")
    png = p.plot("shares", """
set title 'credit 1:1:2:4 -> 4:1:2:4 at 5 s: share of each 100 ms window'
set xlabel 'virtual time (s)'
set ylabel 'share of the device'
set yrange [0:0.6]
plot """ + ", ".join(plots) + "\n", data)
    figure(md, png, "Per-window device share of four saturating domains under credit "
           "(slice 2 ms, 64 KiB contexts), weights 1:1:2:4 then d1 raised to 4 at 5 s; "
           "dots: the expected share (weight / sum) in judged windows, the target. " + where)


def latency(pt, p, md, where):
    lat = pt["latency"]
    md.append("## Latency of a light domain: shared vs passthrough\n")
    md.append("A periodic domain (one 100 us job every 2 ms, closed by a fence with an "
              "interrupt), release to completion, beside 3 saturating domains (equal weights, "
              "64 KiB contexts) vs alone on a passthrough device. No target.\n")
    md.append("| run | jobs | p50 | p99 | p99.9 | max | p99 / passthrough |")
    md.append("|---|---|---|---|---|---|---|")
    base = lat[0]
    for r in lat:
        md.append("| %s | %d | %.1f us | %.1f us | %.1f us | %.1f us | %.2fx |" %
                  (r["label"], r["jobs"], r["p50_ns"] / 1e3, r["p99_ns"] / 1e3,
                   r["p999_ns"] / 1e3, r["max_ns"] / 1e3, r["p99_ns"] / base["p99_ns"]))
    md.append("")
    data = {"ref": [(1, 0.99, 0.999), (1e6, 0.99, 0.999)]}
    plots = []
    for i, r in enumerate(lat):
        # a step CDF: each point is (latency, fraction completed within it)
        data["l%d" % i] = [(pt_[0] / 1e3, pt_[1]) for pt_ in r["cdf"]]
        plots.append("'{l%d}' u 1:2 w steps lw 2 title '%s'" % (i, r["label"]))
    png = p.plot("latency_cdf", """
set title 'Latency CDF of the light periodic domain'
set xlabel 'release to completion (us, log)'
set ylabel 'fraction of jobs completed within'
set logscale x
set xrange [50:50000]
set yrange [0:1.01]
plot """ + ", ".join(plots) + """, '{ref}' u 1:2 w lines dt 3 lc rgb 'gray' title 'p99', '{ref}' u 1:3 w lines dt 3 lc rgb 'black' title 'p99.9'
""", data)
    figure(md, png, "Latency CDF (from the simulator's per-domain histogram) of a light "
           "periodic domain alone on passthrough and shared beside 3 saturating domains "
           "under credit at 10, 2 and 1 ms slices; dotted: the p99 and p99.9 levels (no "
           "target). " + where)


def rtds(pt, p, md, where):
    rt = pt["rtds"]
    md.append("## RTDS deadline misses vs utilization\n")
    md.append("%d random sets of %d rtds servers per utilization (UUniFast, periods 4..40 "
              "ms), admission=off; each server's periodic jobs need its whole budget of "
              "device time; %d s virtual per set. Miss ratio: jobs completed after their "
              "period or never, over jobs due. Target: no miss in a set admission=on "
              "accepts.\n" % (rt["sets"], rt["tasks"], rt["seconds"]))
    data, plots = {}, []
    admit_max = 0
    for i, cx in enumerate(rt["contexts"]):
        md.append("**%s** (%s)\n" % (cx["context"], cx["what"]))
        md.append("| utilization | miss ratio | sets with misses | worst set | admitted | "
                  "admitted with misses |")
        md.append("|---|---|---|---|---|---|")
        for q in cx["points"]:
            md.append("| %d%% | %.5f | %d | %.5f | %d of %d | %s |" %
                      (q["util"], q["miss_ratio"], q["sets_missing"], q["worst_set"],
                       q["admitted"], rt["sets"],
                       "%d (%s)" % (q["admitted_missing"], verdict(q["admitted_missing"] == 0))
                       if q["admitted"] else "-"))
            if q["admitted"]:
                admit_max = max(admit_max, q["util"])
        md.append("")
        data["c%d" % i] = [(q["util"], q["miss_ratio"]) for q in cx["points"]]
        plots.append("'{c%d}' u 1:2 w linespoints lw 2 title '%s'" % (i, cx["context"]))
    data["adm"] = [(admit_max + 2.5, 0), (admit_max + 2.5, 1)]
    data["zero"] = [(45, 0), (115, 0)]
    png = p.plot("rtds", """
set title 'rtds: job deadline misses vs utilization (admission off)'
set xlabel 'utilization asked for (%)'
set ylabel 'miss ratio'
set xrange [45:115]
set yrange [-0.02:1]
plot """ + ", ".join(plots) + """, '{adm}' u 1:2 w lines dt 2 lc rgb 'black' title 'admission=on refuses beyond', '{zero}' u 1:2 w lines dt 3 lc rgb 'red' title 'target: 0 where admitted'
""", data)
    figure(md, png, "Share of rtds jobs that missed their deadline (or never completed) "
           "for random 4-server sets at 50-110%% utilization with admission off (simulator); "
           "dashed: beyond it admission=on refuses every set (%d%% is the last utilization "
           "with a set accepted); dotted: the target, no miss where admitted. " %
           admit_max + where)


def steps(pt, md):
    st = pt["switch_steps"]
    md.append("## Switch cost by step\n")
    md.append("4 saturating domains, credit slice 1 ms, 64 KiB contexts; %d switches. "
              "Device: modeled time per switch; CPU: the simcp platform hook on the host, "
              "per call. The admission bound (switch_cost) is %.3f us.\n" %
              (st["switches"], st["switch_cost_ns"] / 1e3))
    md.append("| step | calls | device | host CPU |")
    md.append("|---|---|---|---|")
    for s in st["steps"]:
        md.append("| %s | %d | %.3f us | %.3f us |" % (s["step"], s["calls"],
                                                      s["device_ns"] / 1e3, s["cpu_ns"] / 1e3))
    md.append("\n(stop: the wait for the command in flight, charged to the outgoing domain "
              "as its own work; save and load are charged to nobody.)\n")


def kvm_section(kvm, md):
    md.append("## MMIO trap cost (KVM)\n")
    if kvm is None:
        md.append("*(not measured: bench-kvm did not run)*\n")
        return
    if not kvm.get("usable"):
        md.append("*(skipped: %s)*\n" % kvm.get("reason", "?"))
        return
    if not kvm.get("ok"):
        md.append("*(a guest did not complete; see bench-kvm's output)*\n")
        return
    md.append("32-bit register reads timed by the guest, per read (loop included):\n")
    md.append("| access | ns | / raw exit | target |")
    md.append("|---|---|---|---|")
    md.append("| raw KVM MMIO exit | %d | 1.000x | |" % kvm["raw_ns"])
    md.append("| forwarded (context on the device) | %d | %.3fx | |" %
              (kvm["forwarded_ns"], kvm["forwarded_ratio"]))
    md.append("| emulated (saved context) | %d | %.3fx | <= %.2fx: %s |" %
              (kvm["emulated_ns"], kvm["emulated_ratio"], kvm["target_emulated_ratio"],
               verdict(kvm["emulated_ratio"] <= kvm["target_emulated_ratio"])))
    md.append("| emulated, another domain running | %d | %.3fx | <= %.2fx: %s |" %
              (kvm["emulated_busy_ns"], kvm["emulated_busy_ratio"],
               kvm["target_emulated_ratio"],
               verdict(kvm["emulated_busy_ratio"] <= kvm["target_emulated_ratio"])))
    md.append("\nThe host's own part (vc_domain_mmio() called directly): emulated %.0f ns, "
              "forwarded %.0f ns.\n" % (kvm["host_emulated_ns"], kvm["host_forwarded_ns"]))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    out = os.path.join(build, "bench")
    os.makedirs(out, exist_ok=True)
    pt_path = os.path.join(out, "pt.json")
    pt = load(pt_path)
    if pt is None:
        exe = os.path.join(build, "bench", "bench-pt")
        if os.access(exe, os.X_OK):
            print("report: %s missing, running bench-pt" % pt_path)
            subprocess.run([exe, "--json", pt_path], stdout=subprocess.DEVNULL)
            pt = load(pt_path)
    kvm = load(os.path.join(out, "kvm.json"))
    where = "Machine: %s." % machine(kvm)
    p = Plotter(out)
    md = ["# vcoproc: the cost of sharing against passthrough\n",
          "Written by `bench/report.py` from `make bench` (see docs/bench.md). %s\n" % where]
    if not p.gnuplot:
        md.append("**Plots skipped: gnuplot is not installed** (Debian: gnuplot-nox).\n")
        print("report: gnuplot not found: writing the report without plots")
    if pt is None:
        md.append("*(bench-pt results missing: %s; build with platform_simcp)*\n" % pt_path)
    else:
        throughput(pt, p, md, where)
    shares(build, p, md, where)
    if pt is not None:
        latency(pt, p, md, where)
        rtds(pt, p, md, where)
        steps(pt, md)
    kvm_section(kvm, md)
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(md) + "\n")
    print("report: %s (%d plots)" % (path, len(p.made)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
