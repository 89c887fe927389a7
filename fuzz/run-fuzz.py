#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a libFuzzer target briefly, as a test:

    run-fuzz.py FUZZER SECONDS [--dict FILE] SEED...

The seeds (files) are copied into a fresh corpus directory, so the run
never writes into the source tree; the fuzzer mutates them for SECONDS
and the test fails if it finds a crash, a leak, a timeout or an abort.
Prints the fuzzer's final statistics."""
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    fuzzer, seconds = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    extra = []
    if len(args) >= 2 and args[0] == "--dict":
        extra.append("-dict=" + args[1])
        args = args[2:]
    work = tempfile.mkdtemp(prefix="vcoproc-fuzz-")
    corpus = os.path.join(work, "corpus")
    os.mkdir(corpus)
    try:
        for i, seed in enumerate(args):
            shutil.copy(seed, os.path.join(corpus, "seed-%d-%s" % (i, os.path.basename(seed))))
        cmd = [fuzzer, "-max_total_time=" + seconds, "-timeout=10", "-rss_limit_mb=2048",
               "-max_len=8192", "-print_final_stats=1", "-artifact_prefix=" + work + "/"] + extra + [corpus]
        print("running:", " ".join(cmd), flush=True)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
        lines = p.stdout.splitlines()
        if p.returncode != 0:
            print("\n".join(lines[-120:]))
            for f in os.listdir(work):
                if f != "corpus":
                    print("reproduce with: %s %s" % (fuzzer, os.path.join(work, f)))
            work = None  # keep the crashing input
        else:
            print("\n".join(l for l in lines if l.startswith(("stat::", "Done", "INFO: Seed"))))
        return p.returncode
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
