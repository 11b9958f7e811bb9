#!/usr/bin/env python3
"""test_flood.py — reading captures of many events and few stacks
(gen_flood.c), two checks:

memory: reading a capture takes memory that grows with its
stacks and live blocks, never with its events: every verb's own peak heap,
recorded by running rcgc under its own shim (`rcgc run -- rcgc VERB`), is
the same on 10^5 and on 10^6 events of the same 8 stacks (gen_flood.c).
A structure kept per event would add at least 4 bytes per event, 3.6 MB
here; the slack allowed is 128 KiB (the time grid's arrays and the maps
double at thresholds the two captures may cross differently).  Counts
bytes, not time: no timing in it.

progress: with RCGC_PROGRESS=always, a read shows its progress on stderr
from the start, one line per step into a file ("rcgc: reading FILE  42%"),
and every verb's output is as without it.  (By default progress shows only
on a terminal, after a second of reading: the same code, a delay.)

    test_flood.py --rcgc PATH --gen GEN_FLOOD --work DIR memory|progress
"""
import argparse
import json
import os
import re
import subprocess
import sys

SLACK = 128 << 10


def verbs(out):
    """Each verb's arguments before the capture."""
    return {
        "summary": ["summary"],
        "top": ["top"],
        "leaks": ["leaks"],
        "diff": ["diff", "--at", "0.001", "--at", "0.005"],
        "flamegraph": ["flamegraph", "-o", out + ".html"],
        "collapsed": ["flamegraph", "--collapsed", "-o", out + ".txt"],
        "stats": ["stats"],
        "check": ["check", "--max-peak", "1G"],
    }


def memory(a, caps):
    failed = 0
    for verb, argv in verbs(os.path.join(a.work, "out")).items():
        peaks = {}
        for n, cap in caps.items():
            self_cap = os.path.join(a.work, f"{verb}{n}.self.cap")
            subprocess.run([a.rcgc, "run", "-o", self_cap, "--", a.rcgc, *argv, cap],
                           check=True, stdout=subprocess.DEVNULL)
            s = subprocess.run([a.rcgc, "summary", "--json", self_cap], check=True,
                               capture_output=True, text=True).stdout
            peaks[n] = json.loads(s)["peak_bytes"]
        small, big = peaks[10**5], peaks[10**6]
        ok = big <= small + SLACK
        print(f"{verb:10} peak heap {small:>9} B on 10^5 events, {big:>9} B on 10^6"
              f"{'' if ok else '  GROWS'}")
        failed += not ok
    return failed


def progress(a, caps):
    failed = 0
    cap = caps[10**5]
    env = dict(os.environ, RCGC_PROGRESS="always")
    for verb, argv in verbs(os.path.join(a.work, "out")).items():
        quiet = subprocess.run([a.rcgc, *argv, cap], capture_output=True, text=True)
        shown = subprocess.run([a.rcgc, *argv, cap], capture_output=True, text=True, env=env)
        lines = re.findall(r"^rcgc: reading (\S+) +(\d+)%$", shown.stderr, re.M)
        ok = (lines and all(path == cap for path, _ in lines)
              and quiet.stdout == shown.stdout and quiet.returncode == shown.returncode
              and "reading" not in quiet.stderr)
        print(f"{verb:10} {len(lines)} progress lines{'' if ok else '  WRONG: ' + shown.stderr}")
        failed += not ok
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("check", choices=("memory", "progress"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    caps = {}
    for n in (10**5, 10**6) if a.check == "memory" else (10**5,):
        caps[n] = os.path.join(a.work, f"flood{n}.cap")
        subprocess.run([a.gen, caps[n], str(n)], check=True)
    failed = (memory if a.check == "memory" else progress)(a, caps)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
