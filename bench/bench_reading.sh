#!/bin/sh
# bench_reading.sh — how fast rcgc reads a big capture, against
# heaptrack_print on heaptrack's capture of the same run, side by side.
# The run: gcc's cc1 compiling a generated file of 600 functions (-O2),
# recorded with whole stacks (rcgc run --unwind libunwind; heaptrack walks
# with libunwind too).  Each verb (summary, top, leaks, diff, flamegraph,
# stats, check) and heaptrack_print run 5 times, interleaved, after one
# untimed run; the table gives the median wall-clock seconds (min-max),
# the peak RSS, and the ratio to heaptrack_print's median (goal: <= 1; diff
# against heaptrack_print -d, which also reads two captures).
#
# Usage: bench/bench_reading.sh [--quick] [BUILD_DIR]   (default: build-release
# next to bench/).  --quick: 60 functions, 1 run, no peers: proves the
# script runs; the numbers mean nothing.  Needs python3 and GNU time
# (/usr/bin/time); heaptrack and cc1 are skipped with a line saying so when
# missing.
set -eu

. "$(dirname "$0")/bench_args.sh"
cc1=$(gcc -print-prog-name=cc1 2>/dev/null || true)
[ -x "$cc1" ] || { echo "bench_reading: gcc's cc1 not found (skipped)"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_reading.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $quick = 1 ]; then nfun=60 runs=1; else nfun=600 runs=5; fi
python3 - "$tmp/gen.c" "$nfun" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(f"int f{i}(int *a, int n) {{ int s = {i}; for (int j = 0; j < n; j++) "
                f"{{ s += a[j] * {i % 7 + 1}; if (s > {i * 3}) s ^= j; }} "
                f"struct {{ int x[{i % 5 + 1}]; }} t = {{0}}; "
                f"return s + t.x[0] + f{max(i - 1, 0)}(a, n - 1); }}\n")
PY
"$rcgc" run --unwind libunwind -o "$tmp/cc1.cap" -- "$cc1" -quiet -O2 "$tmp/gen.c" \
    -o "$tmp/a.s" 2>/dev/null
peer=""
if [ $quick = 0 ] && command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
    heaptrack -o "$tmp/ht" "$cc1" -quiet -O2 "$tmp/gen.c" -o "$tmp/b.s" >/dev/null 2>&1
    peer=$(ls "$tmp"/ht.*zst 2>/dev/null | head -1)
fi
[ -n "$peer" ] || echo "peer heaptrack_print not run (quick, or heaptrack missing)"

python3 - "$rcgc" "$tmp" "$runs" "$peer" <<'PY'
import os, statistics, subprocess, sys, time
rcgc, tmp, runs, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cap = os.path.join(tmp, "cc1.cap")
verbs = {
    "summary": [rcgc, "summary", cap],
    "top": [rcgc, "top", cap],
    "leaks": [rcgc, "leaks", cap],
    "diff": [rcgc, "diff", cap, cap],
    "flamegraph": [rcgc, "flamegraph", "-o", os.path.join(tmp, "r.html"), cap],
    "stats": [rcgc, "stats", cap],
    "check": [rcgc, "check", "--max-peak", "1G", cap],
}
if peer:
    verbs["heaptrack_print"] = ["heaptrack_print", peer]
    verbs["heaptrack_print -d"] = ["heaptrack_print", "-d", peer, peer]

def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - t

times = {v: [] for v in verbs}
for cmd in verbs.values():
    timed(cmd)  # untimed warm-up
for _ in range(runs):
    for v, cmd in verbs.items():
        times[v].append(timed(cmd))
peaks = {}
for v, cmd in verbs.items():  # peak RSS by GNU time: a child forked from python
    # would count python's RSS (Linux keeps the high-water mark across exec)
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", os.path.join(tmp, "rss"), *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks[v] = int(open(os.path.join(tmp, "rss")).read().split()[-1])
stats = subprocess.run([rcgc, "stats", cap], capture_output=True, text=True).stdout
nodes = next((l.split()[1] for l in stats.splitlines() if l.strip().startswith("stack_nodes")), "?")
load = open("/proc/loadavg").read().split()[0]
print(f"capture: {os.path.getsize(cap) / 1024:.0f} KiB, {nodes} stack nodes"
      + (f"; heaptrack's: {os.path.getsize(peer) / 1024:.0f} KiB" if peer else "")
      + f"; {runs} runs, load {load}")
# diff reads two captures: its peer is heaptrack_print's own diff of two
ref = {v: statistics.median(times["heaptrack_print -d" if v == "diff" else "heaptrack_print"])
       for v in times} if peer else None
print(f"{'verb':18} {'median s':>9} {'min-max':>13} {'peak RSS':>10} {'/ heaptrack_print':>18}")
for v, ts in times.items():
    m = statistics.median(ts)
    ratio = f"{m / ref[v]:.2f}" if ref else "-"
    print(f"{v:18} {m:9.3f} {min(ts):6.3f}-{max(ts):<6.3f} {peaks[v] / 1024:8.1f}MB {ratio:>18}")
PY
