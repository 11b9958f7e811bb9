#!/bin/sh
# profile_demo.sh — the profiler half of `make demo`: record
# examples/profile_me.c with the preload shim, print what it did with its
# memory, and write the HTML report.
#   examples/profile_demo.sh [BUILD_DIR]     (default: build)
set -eu
build=${1:-build}
rcgc=$build/tools/rcgc/rcgc
prog=$build/examples/profile_me
capture=$build/profile_me.cap
report=$build/profile_me.html

echo "== rcgc run -o $capture -- $prog"
"$rcgc" run -o "$capture" -- "$prog"
echo
echo "== rcgc summary $capture"
"$rcgc" summary "$capture"
echo
echo "== rcgc leaks $capture"
"$rcgc" leaks "$capture"
echo
echo "== rcgc top --by temporary $capture"
"$rcgc" top --by temporary -n 5 "$capture"
echo
echo "== rcgc flamegraph -o $report $capture"
path=$("$rcgc" flamegraph -o "$report" "$capture")
echo "report: $(cd "$(dirname "$path")" && pwd)/$(basename "$path") (open it in a browser; it works offline)"
