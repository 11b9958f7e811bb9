#!/bin/sh
# trace_instructions.sh — instructions per iteration of bench_trace's loop
# (two allocations and two frees, 20 frames deep), untraced and traced each
# way, counted by callgrind: not timed, so the count does not move with the
# load of a shared machine.  Each mode runs bench_trace --quick (3 runs) at
# two sizes (BENCH_TRACE_ITERS=20000 and 60000); the difference divided by
# the extra iterations has no start-up cost in it (the symbolizer, the
# first walks, the snapshot that checks the stack).
#
# Usage: bench/trace_instructions.sh [BUILD_DIR] [MODE...]
# (defaults: build-release next to bench/; untraced fp1 fp16 cfi16)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-release}
[ $# -gt 0 ] && shift
modes=${*:-untraced fp1 fp16 cfi16}
bench=$build/bench/bench_trace
command -v valgrind >/dev/null || { echo "trace_instructions: valgrind is needed" >&2; exit 1; }
[ -x "$bench" ] || { echo "trace_instructions: $bench not found (build it first)" >&2; exit 1; }

# Instructions of one run: ir ITERS MODE
ir() {
    BENCH_TRACE_ITERS=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$bench" --quick "$2" 2>&1 >/dev/null | sed -n 's/.*Collected : *//p'
}

echo "instructions per iteration (callgrind; 3 x 40000 iterations apart)"
for m in $modes; do
    small=$(ir 20000 "$m")
    large=$(ir 60000 "$m")
    [ -n "$small" ] && [ -n "$large" ] || { echo "trace_instructions: $m did not run" >&2; exit 1; }
    printf '  %-9s %6d\n' "$m" $(((large - small) / 120000))
done
