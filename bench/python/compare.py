#!/usr/bin/env python3
"""compare.py — the cost of recording a CPython program: the program alone,
under rcgc's shim (Python frames and pymalloc's domains; the default walk by
call-frame information, and frame pointers only), with the domains left
out (RCGC_PYTHON=frames), and under tracemalloc with one frame.

    compare.py --preload librcgc_preload.so [--python /usr/bin/python3] [--runs 5]

The shim is loaded directly (LD_PRELOAD, RCGC_CAPTURE), so the figure is
the program's own time with its capture written and its exit scan done,
without `rcgc run`'s summary afterwards.  Each figure is the median of the
runs: wall seconds and CPU seconds (user + system; the machine is shared,
CPU time moves less with its load).  The goal (issue 15): rcgc's extra cost
at most a quarter of -X tracemalloc=1's on the allocation-heavy script.
"""
import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["dict_str.py", "recursion.py"]


def timed(argv, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preload", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cap = os.path.join(tempfile.mkdtemp(), "bench.cap")
    shim = dict(os.environ, LD_PRELOAD=args.preload, RCGC_CAPTURE=cap)
    setups = [("base", [], os.environ), ("rcgc", [], shim),
              ("rcgc fp", [], dict(shim, RCGC_UNWIND="fp")),
              ("rcgc frames only", [], dict(shim, RCGC_PYTHON="frames")),
              ("tracemalloc=1", ["-X", "tracemalloc=1"], os.environ)]
    print(f"{args.python}, median of {args.runs}; load average {os.getloadavg()[0]:.1f}")
    print("| workload | setup | wall s | CPU s | extra CPU s |")
    print("|---|---|---|---|---|")
    for w in WORKLOADS:
        script = os.path.join(HERE, w)
        runs = {name: [] for name, _, _ in setups}
        for _ in range(args.runs):  # interleaved: the load drifts
            for name, flags, env in setups:
                runs[name].append(timed([args.python] + flags + [script], env))
        base_cpu = statistics.median(c for _, c in runs["base"])
        for name, _, _ in setups:
            wall = statistics.median(r[0] for r in runs[name])
            cpu = statistics.median(r[1] for r in runs[name])
            print(f"| {w} | {name} | {wall:.2f} | {cpu:.2f} | {cpu - base_cpu:+.2f} |")
    os.unlink(cap)


if __name__ == "__main__":
    main()
