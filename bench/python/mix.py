#!/usr/bin/env python3
"""mix.py — a pyperformance-like mix under `rcgc run`, side by side with
-X tracemalloc=1: each workload alone, under `rcgc run` with its defaults
(Python frames and pymalloc's domains recorded), under `rcgc run` with
RCGC_PYTHON=frames (Python frames, pymalloc not recorded: what memray
records by default), and with -X tracemalloc=1.

    mix.py --rcgc build-release/tools/rcgc/rcgc [--python /usr/bin/python3] [--runs 5]

Each run is timed as a whole process (rcgc run's own summary at the end
included): wall and CPU seconds (user + system, children included).  A
setup's ratio to the program alone is taken per round (the setups of a
round run back to back, so they share the machine's load), and the table
gives the median ratio of the rounds with their spread (min-max), CPU
first (the machine is shared; CPU time moves less with its load than
wall time), and the geometric mean over the workloads.

memray is not installable here (no PyPI): its published overhead on
pyperformance is about 1.45x mean (2.0x worst) by default, 1.65x with
native frames, 2.3x with Python allocators traced (issue 15).
"""
import argparse
import math
import os
import resource
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["mix_json.py", "mix_regex.py", "mix_objects.py", "mix_generators.py",
             "mix_format.py", "recursion.py"]


def timed(argv, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def spread(ratios):
    return f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cap = os.path.join(tempfile.mkdtemp(), "mix.cap")
    run = [args.rcgc, "run", "-o", cap, "--", args.python]
    env = os.environ
    setups = [("base", [args.python], env), ("rcgc run", run, env),
              ("rcgc run, RCGC_PYTHON=frames", run, dict(env, RCGC_PYTHON="frames")),
              ("tracemalloc=1", [args.python, "-X", "tracemalloc=1"], env)]
    load = os.getloadavg()[0]
    print(f"{args.python}, {args.runs} rounds; load average {load:.1f} at the start")
    print("| workload | base CPU s | " + " | ".join(f"{n}: CPU ratio, wall ratio"
                                                 for n, _, _ in setups[1:]) + " |")
    print("|---|---:|" + "---|" * (len(setups) - 1))
    means = {n: [] for n, _, _ in setups[1:]}
    for w in WORKLOADS:
        script = os.path.join(HERE, w)
        times = {n: [] for n, _, _ in setups}
        for _ in range(args.runs):  # a round: every setup once, back to back
            for name, argv, e in setups:
                times[name].append(timed(argv + [script], e))
        cells = []
        for name, _, _ in setups[1:]:
            cpu = [t[1] / b[1] for t, b in zip(times[name], times["base"])]
            wall = [t[0] / b[0] for t, b in zip(times[name], times["base"])]
            means[name].append(statistics.median(cpu))
            cells.append(f"{spread(cpu)}, {spread(wall)}")
        base = statistics.median(t[1] for t in times["base"])
        print(f"| {w} | {base:.2f} | " + " | ".join(cells) + " |", flush=True)
    print("| geometric mean (CPU) | | " + " | ".join(
        f"{math.exp(statistics.mean(map(math.log, m))):.2f}" for m in means.values()) + " |")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if os.path.exists(cap):
        os.unlink(cap)


if __name__ == "__main__":
    main()
