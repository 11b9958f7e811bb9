# bench_args.sh — sourced by the benches that read captures with rcgc
# (bench_reading.sh, bench_memory.sh): takes [--quick] [BUILD_DIR] from the
# caller's arguments and sets quick (0 or 1), build (default: build-release
# next to bench/) and rcgc, which must have been built.
quick=0
if [ "${1:-}" = --quick ]; then
    quick=1
    shift
fi
build=${1:-$(cd "$(dirname "$0")" && pwd)/../build-release}
rcgc=$build/tools/rcgc/rcgc
[ -x "$rcgc" ] || { echo "$(basename "$0"): $rcgc not found (build it first)" >&2; exit 1; }
