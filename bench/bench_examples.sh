#!/bin/sh
# bench_examples.sh — the runtime-author examples side by side with CPython
# on the same input (issue 17's goals):
#   json_load (examples/json_load.c) against json.load on a generated
#   document (examples/gen_json.py): CPU seconds of the load (reading the
#   file included) and the process's peak RSS; goals 0.3x and 0.5x.
#   evaluator (examples/evaluator.c) against the same evaluator in Python
#   (examples/evaluator.py) on the same program: the collector's share of
#   the CPU time (goal < 10%), its pauses (max, p99; CPU time) and the run,
#   at generation 0's default threshold (700) and at 2000 in both.
# Each figure is the median of 3 runs; CPU time, not wall time, so a busy
# machine skews it less (the load average is printed).  Peak RSS comes
# from GNU time (a child forked from python would report python's RSS).
#
# Usage: bench/bench_examples.sh [--quick] [BUILD_DIR]   (default:
# build-release next to bench/, configured with -DCMAKE_BUILD_TYPE=Release).
# --quick: 20,000 records and N = 20,000 (seconds); else 300,000 records
# (about 75 MB) and N = 200,000.
set -eu

quick=0
if [ "${1:-}" = --quick ]; then
    quick=1
    shift
fi
build=${1:-$(cd "$(dirname "$0")" && pwd)/../build-release}
examples=$(cd "$(dirname "$0")" && pwd)/../examples
for b in json_load evaluator; do
    [ -x "$build/examples/$b" ] || { echo "bench_examples: $build/examples/$b not found (build it first)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
if [ $quick = 1 ]; then records=20000; n=20000; else records=300000; n=200000; fi
python3 "$examples/gen_json.py" $records 1 > "$tmp/doc.json"

python3 - "$build/examples" "$examples" "$tmp/doc.json" $n <<'PY'
import os, statistics, subprocess, sys
bins, examples, doc, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

def run(argv):
    """The report lines of one run ("key value") and its peak RSS (KiB)."""
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss %M", *argv], capture_output=True,
                       text=True, check=True)
    report = {}
    for line in (r.stdout + r.stderr).splitlines():
        k, _, v = line.partition(" ")
        report[k] = v.rstrip("%")
    return report

def median(argv, key, runs=3):
    reports = [run(argv) for _ in range(runs)]
    return statistics.median(float(r[key]) for r in reports), reports

PY_LOAD = """import gc, json, resource, sys, time
if len(sys.argv) > 2: gc.disable()
t = time.process_time()
with open(sys.argv[1], encoding="utf-8") as f:
    doc = json.load(f)
print(f"load_cpu_seconds {time.process_time() - t:.4f}")
"""
print(f"load average {os.getloadavg()[0]:.2f}; {os.path.getsize(doc) / 1e6:.1f} MB of JSON; "
      f"python {sys.version.split()[0]}")
base, _ = median([sys.executable, "-c", "pass"], "maxrss")
print(f"(python3 -c pass peaks at {base / 1024:.1f} MiB)")
print(f"{'JSON load':44} {'rcgc':>10} {'CPython':>10} {'ratio':>7}  goal")
for label, flag, pyflag in (("collector on", [], []), ("collector paused / gc.disable()", ["--no-gc"], ["off"])):
    t_rc, reps = median([f"{bins}/json_load", *flag, doc], "load_cpu_seconds")
    m_rc = statistics.median(float(r["maxrss"]) for r in reps)
    gc_rc = statistics.median(float(r["gc_seconds"]) for r in reps)
    t_py, reps = median([sys.executable, "-c", PY_LOAD, doc, *pyflag], "load_cpu_seconds")
    m_py = statistics.median(float(r["maxrss"]) for r in reps)
    print(f"{label + ': CPU s':44} {t_rc:10.3f} {t_py:10.3f} {t_rc / t_py:7.2f}  <= 0.3")
    print(f"{label + ': peak RSS MiB':44} {m_rc / 1024:10.1f} {m_py / 1024:10.1f} {m_rc / m_py:7.2f}  <= 0.5")
    print(f"{label + ': rcgc collector s (wall)':44} {gc_rc:10.3f}")

for t0 in ("700", "2000"):  # the default threshold, and one a runtime might pick
    print(f"\n{'evaluator, N = ' + n + ', threshold ' + t0:44} {'rcgc':>10} {'CPython':>10} {'ratio':>7}  goal")
    _, rc = median([f"{bins}/evaluator", n, t0], "run_cpu_seconds")
    _, py = median([sys.executable, f"{examples}/evaluator.py", n, t0], "run_cpu_seconds")
    for key, goal in (("run_cpu_seconds", ""), ("gc_collections", ""), ("gc_seconds", ""),
                      ("gc_share", "rcgc < 10%"), ("pause_max_us", ""), ("pause_p99_us", ""),
                      ("maxrss", "")):
        a = statistics.median(float(r[key]) for r in rc)
        b = statistics.median(float(r[key]) for r in py)
        print(f"{key:44} {a:10.4g} {b:10.4g} {a / b if b else float('nan'):7.2f}  {goal}")
PY
