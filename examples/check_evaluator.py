#!/usr/bin/env python3
"""evaluator against its Python twin (examples/evaluator.py) on a small N:
the same results, and a report with the collector's pauses.
Usage: check_evaluator.py PATH/TO/evaluator
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
N = "3000"

def main():
    c = subprocess.run([sys.argv[1], N], capture_output=True, text=True)
    py = subprocess.run([sys.executable, os.path.join(HERE, "evaluator.py"), N],
                        capture_output=True, text=True, check=True)
    got, want = c.stdout.splitlines(), py.stdout.splitlines()
    if c.returncode != 0 or got[:2] != want[:2]:
        sys.exit(f"check_evaluator: status {c.returncode} {c.stderr.strip()}\n"
                 f"  rcgc:   {got[:2]}\n  python: {want[:2]}")
    report = dict(l.split(" ", 1) for l in got[2:])
    for key in ("gc_collections", "gc_share", "pause_max_us", "pause_p99_us"):
        if key not in report:
            sys.exit(f"check_evaluator: no {key} in the report")
    if int(report["gc_collections"]) == 0:
        sys.exit("check_evaluator: the collector never ran (the cycles are not being made)")
    print(f"check_evaluator: {got[0]} and {got[1]} as Python; "
          f"{report['gc_collections']} collections, max pause {report['pause_max_us']} us")

main()
