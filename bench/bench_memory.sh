#!/bin/sh
# bench_memory.sh — reading a capture takes memory that grows with its
# stacks and live blocks, never with its events: synthetic captures of
# 10^6, 10^7 and 10^8 events on the same 8 stacks and 16 infos, at most
# 1024 blocks live (tools/rcgc/tests/gen_flood.c, through the capture
# writer), read by each verb once; the table gives each verb's peak RSS
# (getrusage of its process) and wall seconds per size, and the RSS of the
# largest over the smallest (goal: 1.00).  Not a timed test: the seconds
# are there to show the reads are linear; test_flood.py guards the memory
# property in the suite (the analysis's peak heap, by bytes).
#
# Usage: bench/bench_memory.sh [--quick] [BUILD_DIR]   (default: build-release
# next to bench/).  --quick: 10^4, 10^5 and 10^6 events (a few seconds).
# Needs python3 and GNU time (/usr/bin/time).
set -eu

. "$(dirname "$0")/bench_args.sh"
gen=$build/tools/rcgc/tests/rcgc_gen_flood
[ -x "$gen" ] || { echo "bench_memory: $gen not found (build it first)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_memory.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
if [ $quick = 1 ]; then sizes="10000 100000 1000000"; else sizes="1000000 10000000 100000000"; fi

python3 - "$rcgc" "$gen" "$tmp" $sizes <<'PY'
import os, subprocess, sys, time
rcgc, gen, tmp, sizes = sys.argv[1], sys.argv[2], sys.argv[3], [int(n) for n in sys.argv[4:]]

def run(argv):
    """Wall seconds and peak RSS (KiB) of one process, by GNU time: a
    child forked from python would start with python's RSS in its maximum
    (Linux keeps the high-water mark across exec), time's children with
    about 1 MiB."""
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", os.path.join(tmp, "time"), *argv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit(f"bench_memory: {' '.join(argv)} exited {r.returncode}")
    secs, kib = open(os.path.join(tmp, "time")).read().split()[-2:]
    return float(secs), int(kib)

caps = {}
for n in sizes:
    caps[n] = os.path.join(tmp, f"flood{n}.cap")
    t = time.monotonic()
    subprocess.run([gen, caps[n], str(n)], check=True)
    print(f"capture of {n:.0e} events: {os.path.getsize(caps[n]) / 1024:.0f} KiB, "
          f"written in {time.monotonic() - t:.1f} s")
out = os.path.join(tmp, "out")
verbs = {
    "summary": ["summary"],
    "top": ["top"],
    "leaks": ["leaks"],
    "diff (the capture twice)": ["diff"],
    "flamegraph (HTML)": ["flamegraph", "-o", out + ".html"],
    "flamegraph --collapsed": ["flamegraph", "--collapsed", "-o", out + ".txt"],
    "stats": ["stats"],
    "check": ["check", "--max-peak", "1G"],
}
load = open("/proc/loadavg").read().split()[0]
print(f"load {load}; peak RSS in MiB, wall seconds")
print(f"{'verb':24}" + "".join(f"{f'{n:.0e} events':>20}" for n in sizes) + f"{'RSS ratio':>11}")
for verb, argv in verbs.items():
    cells, rss = "", []
    for n in sizes:
        secs, kib = run([rcgc, *argv, caps[n]] + ([caps[n]] if verb.startswith("diff") else []))
        rss.append(kib)
        cells += f"{kib / 1024:10.1f} {secs:7.2f} s "
    print(f"{verb:24}{cells}{rss[-1] / rss[0]:10.2f}")
PY
