#!/bin/sh
# bench_reading.sh — how fast rcgc reads a big capture, against
# heaptrack_print on heaptrack's capture of the same run, side by side.
# Two runs of gcc, each recorded by rcgc run (default stacks) and by
# heaptrack:
#   cc1      compiling a generated C file of 600 functions (-O2): a
#            capture of some 20k stack nodes;
#   cc1plus  compiling a C++ file that includes <regex>, <map> and friends
#            (-O2): deep recursive stacks, some 600k stack nodes and 5M
#            events, the size the issue's cc1plus case pointed at.
# Each verb (summary, top, leaks, diff, flamegraph, stats, check) and
# heaptrack_print run 5 times, interleaved, after one untimed run; the
# table gives the median wall-clock and CPU seconds (min-max of the CPU),
# the peak RSS, and the ratio of the CPU medians to heaptrack_print's
# (goal: <= 1; diff against heaptrack_print -d, which also reads two
# captures).  The CPU time is the figure to read on a loaded machine.
#
# Usage: bench/bench_reading.sh [--quick] [BUILD_DIR]   (default: build-release
# next to bench/).  --quick: 60 functions and no C++, 1 run, no peers: proves
# the script runs; the numbers mean nothing.  Needs python3 and GNU time
# (/usr/bin/time); heaptrack, cc1 and cc1plus are skipped with a line
# saying so when missing.
set -eu

. "$(dirname "$0")/bench_args.sh"
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
cat > "$tmp/gen.cc" <<'CC'
#include <algorithm>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>
int main()
{
    std::map<std::string, std::vector<int>> m;
    std::regex r("a+b");
    for (int i = 0; i < 10; i++)
        m[std::to_string(i)].push_back(i);
    std::cout << m.size() << std::regex_match("aab", r) << "\n";
}
CC

# The compiler proper's command line, as the driver would run it.
compiler_proper() { # DRIVER SOURCE OUT
    "$1" -### -O2 -S "$2" -o "$3" 2>&1 | grep -E '/cc1(plus)? ' | head -1 | tr -d '"'
}

bench_one() { # NAME COMMAND...
    name=$1
    shift
    "$rcgc" run -o "$tmp/$name.cap" -- "$@" >/dev/null 2>&1 ||
        { echo "bench_reading: $name: rcgc run failed (skipped)"; return 0; }
    peer=""
    if [ $quick = 0 ] && command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
        heaptrack -o "$tmp/$name-ht" "$@" >/dev/null 2>&1 || true
        peer=$(ls "$tmp/$name-ht".*zst 2>/dev/null | head -1)
    fi
    [ -n "$peer" ] || echo "peer heaptrack_print not run (quick, or heaptrack missing)"
    python3 - "$rcgc" "$tmp" "$runs" "$name" "$peer" <<'PY'
import os, resource, statistics, subprocess, sys, time
rcgc, tmp, runs, name, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
cap = os.path.join(tmp, name + ".cap")
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
    """Wall and CPU seconds (user + system, with heaptrack_print's zstd child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

walls = {v: [] for v in verbs}
cpus = {v: [] for v in verbs}
for cmd in verbs.values():
    timed(cmd)  # untimed warm-up
for _ in range(runs):
    for v, cmd in verbs.items():
        w, c = timed(cmd)
        walls[v].append(w)
        cpus[v].append(c)
peaks = {}
for v, cmd in verbs.items():  # peak RSS by GNU time: a child forked from python
    # would count python's RSS (Linux keeps the high-water mark across exec)
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", os.path.join(tmp, "rss"), *cmd],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks[v] = int(open(os.path.join(tmp, "rss")).read().split()[-1])
stats = subprocess.run([rcgc, "stats", cap], capture_output=True, text=True).stdout
field = lambda key: next((l.split()[1] for l in stats.splitlines()
                          if l.strip().startswith(key)), "?")
load = open("/proc/loadavg").read().split()[0]
print(f"\n{name}: capture {os.path.getsize(cap) / 1024:.0f} KiB, {field('stack_nodes')} stack "
      f"nodes, {field('allocations')} allocations"
      + (f"; heaptrack's: {os.path.getsize(peer) / 1024:.0f} KiB" if peer else "")
      + f"; {runs} runs, load {load}")
# diff reads two captures: its peer is heaptrack_print's own diff of two
ref = {v: statistics.median(cpus["heaptrack_print -d" if v == "diff" else "heaptrack_print"])
       for v in cpus} if peer else None
print(f"{'verb':18} {'wall s':>7} {'cpu s':>7} {'cpu min-max':>13} {'peak RSS':>10} "
      f"{'cpu / heaptrack_print':>22}")
for v in verbs:
    c = statistics.median(cpus[v])
    peer_row = v.startswith("heaptrack_print")  # the reference, not a verb
    ratio = f"{c / ref[v]:.2f}" if ref and ref[v] and not peer_row else "-"
    print(f"{v:18} {statistics.median(walls[v]):7.3f} {c:7.3f} "
          f"{min(cpus[v]):6.3f}-{max(cpus[v]):<6.3f} {peaks[v] / 1024:8.1f}MB {ratio:>22}")
PY
}

cc1=$(gcc -print-prog-name=cc1 2>/dev/null || true)
if [ -x "$cc1" ]; then
    bench_one cc1 $(compiler_proper gcc "$tmp/gen.c" "$tmp/c.s")
else
    echo "bench_reading: gcc's cc1 not found (cc1 skipped)"
fi
cc1plus=$(g++ -print-prog-name=cc1plus 2>/dev/null || true)
if [ $quick = 0 ] && [ -x "$cc1plus" ]; then
    bench_one cc1plus $(compiler_proper g++ "$tmp/gen.cc" "$tmp/cc.s")
else
    echo "bench_reading: cc1plus skipped (quick, or g++ missing)"
fi
