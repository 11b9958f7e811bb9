#!/bin/sh
# profiler_instructions.sh — the shim's instructions per recorded allocation,
# counted by callgrind (not timed: the count does not move with the load of
# a shared machine).  For each workload the program runs at two sizes under
# the shim and at the same two sizes alone; the shim's extra instructions
# between the sizes, divided by the extra allocations the capture recorded,
# give a figure per allocation (its free included) with no start-up or
# exit cost in it:
#   loop    bench/profiler_loop 200k and 400k pairs (27 frames)
#   many    bench/profiler_manystacks 150k and 300k allocations (40,000
#           stacks, 10-20 frames, no frame pointers)
#   debpy   Debian's /usr/bin/python3, d[str(i)] = [i] for 20k and 40k
#           keys, pymalloc's domains recorded (the shim's default), with
#           site (the figures before the shim attached under -S too were
#           taken so; kept for comparison)
#   sqlite  Debian's sqlite3 :memory:, bench_profiler.sh's script
#           (profiler_work.sh) with 10k and 20k INSERTs
#   python  the python3 on PATH (bench_profiler.sh's: pyenv's, with frame
#           pointers) -S, bench_profiler.sh's dict/list script for 10k and
#           20k keys, PYTHONMALLOC=malloc
#
# The shim's work that follows the clock (timeline samples reading RSS, time
# records, flushes) would follow valgrind's slowness and the machine's
# load: every run gets a clock of its own that moves 5 ns a reading
# (its coarse clock in 4 ms steps), and Python the same hash seed, so the
# count is the same from run to run.
#
# Usage: bench/profiler_instructions.sh [SHIM.so] [BUILD_DIR]
# (defaults: BUILD_DIR build-release next to bench/, its librcgc_preload.so)
# Needs valgrind; debpy, sqlite and python are left out without their
# programs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${2:-$here/../build-release}
shim=${1:-$build/tools/librcgc_preload.so}
rcgc=$build/tools/rcgc/rcgc
command -v valgrind >/dev/null || { echo "profiler_instructions: valgrind is needed" >&2; exit 1; }
for f in "$shim" "$rcgc" "$build/bench/profiler_loop" "$build/bench/profiler_manystacks"; do
    [ -e "$f" ] || { echo "profiler_instructions: $f not found (build it first)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/profiler_instructions.XXXXXX")
export PYTHONHASHSEED=0 # the same dict layout in every run
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/clock.c" <<'EOF'
#define _GNU_SOURCE
#include <time.h>
static unsigned long long ns = 1000000000ull;
int clock_gettime(clockid_t c, struct timespec *ts)
{
    unsigned long long t = __atomic_add_fetch(&ns, 5, __ATOMIC_RELAXED);
    if (c == CLOCK_MONOTONIC_COARSE || c == CLOCK_REALTIME_COARSE)
        t -= t % 4000000;
    ts->tv_sec = (time_t)(t / 1000000000u);
    ts->tv_nsec = (long)(t % 1000000000u);
    return 0;
}
EOF
${CC:-cc} -O2 -shared -fPIC -o "$tmp/clock.so" "$tmp/clock.c"

# Instructions of one run: ir [shim|-] PROGRAM ARGS...
ir() {
    pre=$1
    shift
    if [ "$pre" = - ]; then
        LD_PRELOAD=$tmp/clock.so \
            valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$@" </dev/null >/dev/null 2>"$tmp/err"
    else
        rm -f "$tmp/x.cap"
        LD_PRELOAD="$tmp/clock.so $pre" RCGC_CAPTURE=$tmp/x.cap \
            valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$@" </dev/null >/dev/null 2>"$tmp/err"
    fi
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err"
}

# Allocations in the last capture.
events() {
    "$rcgc" summary --json "$tmp/x.cap" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["allocations"])'
}

# per_event NAME SMALL_ARGS -- LARGE_ARGS (each: the program and its arguments)
per_event() {
    name=$1 small=$2 large=$3
    # shellcheck disable=SC2086
    { s1=$(ir "$shim" $small); e1=$(events); s2=$(ir "$shim" $large); e2=$(events)
      p1=$(ir - $small); p2=$(ir - $large); }
    python3 -c "
s1, s2, p1, p2, e1, e2 = $s1, $s2, $p1, $p2, $e1, $e2
extra = (s2 - s1) - (p2 - p1)
print(f'$name: {extra / (e2 - e1):.0f} instructions per allocation ({e2 - e1} allocations: {extra} extra instructions)')"
}

echo "shim: $shim"
per_event loop "$build/bench/profiler_loop 200000" "$build/bench/profiler_loop 400000"
per_event many "$build/bench/profiler_manystacks 150000" "$build/bench/profiler_manystacks 300000"
if [ -x /usr/bin/python3 ]; then
    printf 'import sys\nd = {}\nfor i in range(int(sys.argv[1])):\n    d[str(i)] = [i]\n' >"$tmp/d.py"
    per_event debpy "/usr/bin/python3 $tmp/d.py 20000" "/usr/bin/python3 $tmp/d.py 40000"
fi
. "$here/profiler_work.sh"
sqlite=$(command -v sqlite3 || true)
if [ -n "$sqlite" ]; then
    work_sql 10000 >"$tmp/s1.sql"
    work_sql 20000 >"$tmp/s2.sql"
    per_event sqlite "$sqlite -init $tmp/s1.sql :memory:" "$sqlite -init $tmp/s2.sql :memory:"
fi
# The interpreter itself, not a pyenv shim (a shell script).
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [ -n "$py" ] && [ -x "$py" ]; then
    work_py 10000 >"$tmp/p1.py"
    work_py 20000 >"$tmp/p2.py"
    export PYTHONMALLOC=malloc
    per_event python "$py -S $tmp/p1.py" "$py -S $tmp/p2.py"
fi
