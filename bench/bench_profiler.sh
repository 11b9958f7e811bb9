#!/bin/sh
# bench_profiler.sh — rcgc's profiler against heaptrack and valgrind (massif,
# memcheck --leak-check=full), timing whole processes, side by side in one
# run, on five workloads:
#   loop    bench/profiler_loop (built with the benches): 2M malloc/free
#           pairs 20 frames deep, 2000 survivors, one known leak; it prints
#           its own exact peak and leaked bytes
#   many    bench/profiler_manystacks: 1.5M allocations from 40,000
#           different stacks 10-20 frames deep (-O2, no frame pointers)
#   python  python3 -S running a dict/list script, PYTHONMALLOC=malloc (not
#           -I: isolated mode ignores PYTHONMALLOC)
#   debpy   the same script on Debian's /usr/bin/python3 (no frame
#           pointers: stacks come from its call-frame information)
#   sqlite  sqlite3 :memory: reading a generated script: 100k INSERTs in
#           one transaction, an index, 20 SELECTs
# rcgc runs with its defaults (whole stacks through the call-frame
# information); "rcgc-fp" (rcgc run --unwind fp) is added on many and debpy.
# Each (workload, tool) runs 5 times, the tools interleaved (plain, rcgc,
# heaptrack, massif, memcheck, plain, ...) after one untimed plain run; the
# tables give the median wall-clock and cpu seconds (user + system, with
# /usr/bin/time), their spread and the slowdown against the plain program.  Then: rcgc's slowdown as a fraction of heaptrack's (goal
# <= 1/3), capture sizes (rcgc's .cap vs heaptrack's .zst, goal: no
# larger), rcgc's peak_bytes vs the loop's own exact peak (goal: within
# 0.1%), rcgc's leaked_bytes vs memcheck's definitely + indirectly lost
# (goal: equal).  rcgc's figures come from `rcgc summary --json`.
#
# Usage: bench/bench_profiler.sh [--quick] [--no-valgrind] [BUILD_DIR]
# (default: build-release next to bench/; build it first: cmake --build
# build-release)
# --quick: the plain program and rcgc only, tiny sizes, 1 run: proves the
# script runs (the CTest test bench_profiler_quick); the numbers mean nothing.
# --no-valgrind: heaptrack as the only peer (massif and memcheck take most
# of the script's time).
# A missing peer (heaptrack, valgrind) or workload program (python3,
# sqlite3) is skipped with a line saying so.  Needs python3 for the report.
set -eu

quick=0 valgrind=1
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --no-valgrind) valgrind=0 ;;
        *) break ;;
    esac
    shift
done
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-release}
rcgc=$build/tools/rcgc/rcgc
loop=$build/bench/profiler_loop
many=$build/bench/profiler_manystacks
for f in "$rcgc" "$loop" "$many"; do
    if [ ! -x "$f" ]; then
        echo "bench_profiler: $f not found (build the benches and the rcgc CLI first)" >&2
        exit 1
    fi
done
command -v python3 >/dev/null || { echo "bench_profiler: python3 is needed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_profiler.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $quick = 1 ]; then
    runs=1 pairs=20000 pyn=2000 sqln=1000 manyn=20000
else
    runs=5 pairs=2000000 pyn=100000 sqln=100000 manyn=1500000
fi

# ---- the tools and workloads present
tools="plain rcgc"
if [ $quick = 0 ]; then
    if command -v heaptrack >/dev/null; then tools="$tools heaptrack"
    else echo "peer heaptrack not found (skipped)"; fi
    if [ $valgrind = 0 ]; then echo "peers massif and memcheck left out (--no-valgrind)"
    elif command -v valgrind >/dev/null; then tools="$tools massif memcheck"
    else echo "peer valgrind not found (skipped)"; fi
fi
workloads="loop many"
# The interpreter itself, not a wrapper (a pyenv shim is a shell script:
# the profilers would trace bash).
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [ -n "$py" ] && [ -x "$py" ]; then workloads="$workloads python"
else echo "workload python3 not found (skipped)"; fi
debpy=/usr/bin/python3
if [ -x "$debpy" ]; then workloads="$workloads debpy"
else echo "workload debpy ($debpy) not found (skipped)"; fi
sqlite=$(command -v sqlite3 || true)
if [ -n "$sqlite" ]; then workloads="$workloads sqlite"
else echo "workload sqlite3 not found (skipped; apt-get install sqlite3)"; fi

# ---- the workloads' inputs
. "$here/profiler_work.sh"
work_py "$pyn" >"$tmp/work.py"
work_sql "$sqln" >"$tmp/work.sql"

# run_one WORKLOAD TOOL: one run, its wall-clock seconds appended to
# $tmp/time.WORKLOAD.TOOL; stdout to $tmp/out.WORKLOAD.TOOL.
run_one() {
    w=$1 t=$2 status=0
    case $t in
        plain) set -- ;;
        rcgc) set -- "$rcgc" run -o "$tmp/rcgc.$w.cap" -- ;;
        rcgc-fp) set -- "$rcgc" run --unwind fp -o "$tmp/rcgc-fp.$w.cap" -- ;;
        heaptrack) rm -f "$tmp/heaptrack.$w".*
                   set -- heaptrack -o "$tmp/heaptrack.$w" ;;
        massif) set -- valgrind --tool=massif "--massif-out-file=$tmp/massif.$w.out" ;;
        memcheck) set -- valgrind --tool=memcheck --leak-check=full "--log-file=$tmp/memcheck.$w.log" ;;
    esac
    # cpu seconds (user + system) of the process and the children it waited
    # for (heaptrack's interpreter included): on a shared machine the wall
    # clock also counts the time spent waiting for a processor
    if [ -x /usr/bin/time ]; then
        set -- /usr/bin/time -a -o "$tmp/cpu.$w.$t" -f "%U %S" "$@"
    fi
    start=$(date +%s%N)
    case $w in
        loop) "$@" "$loop" "$pairs" >"$tmp/out.$w.$t" 2>"$tmp/err.$w.$t" || status=$? ;;
        many) "$@" "$many" "$manyn" >"$tmp/out.$w.$t" 2>"$tmp/err.$w.$t" || status=$? ;;
        debpy) PYTHONMALLOC=malloc "$@" "$debpy" -S "$tmp/work.py" >"$tmp/out.$w.$t" 2>"$tmp/err.$w.$t" || status=$? ;;
        python) PYTHONMALLOC=malloc "$@" "$py" -S "$tmp/work.py" >"$tmp/out.$w.$t" 2>"$tmp/err.$w.$t" || status=$? ;;
        sqlite) "$@" "$sqlite" :memory: <"$tmp/work.sql" >"$tmp/out.$w.$t" 2>"$tmp/err.$w.$t" || status=$? ;;
    esac
    end=$(date +%s%N)
    if [ "$status" != 0 ]; then
        echo "bench_profiler: $w under $t exited with status $status:" >&2
        tail -5 "$tmp/err.$w.$t" >&2
        exit 1
    fi
    echo "$start $end" | awk '{ printf "%.6f\n", ($2 - $1) / 1e9 }' >>"$tmp/time.$w.$t"
}

# ---- the header
echo "bench_profiler: rcgc run vs heaptrack, valgrind massif and memcheck; wall clock of whole processes$([ $quick = 1 ] && echo '  [--quick: tiny sizes, numbers mean nothing]')"
echo "machine:  $(uname -s -n -r -m)"
echo "cpu:      $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) online"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at the start"
v="$("$rcgc" --version | head -1)"
case " $tools " in *" heaptrack "*) v="$v, $(heaptrack -v 2>&1 | head -1)" ;; esac
case " $tools " in *" massif "*) v="$v, $(valgrind --version)" ;; esac
case " $workloads " in *" python "*) v="$v; $("$py" -c 'import sys; print("python", sys.version.split()[0])')" ;; esac
case " $workloads " in *" sqlite "*) v="$v, sqlite $("$sqlite" --version | cut -d' ' -f1)" ;; esac
echo "versions: $v"
echo "workloads: loop = profiler_loop $pairs; many = profiler_manystacks $manyn (40,000 stacks); python = $py -S (dict/list, n=$pyn, PYTHONMALLOC=malloc); debpy = the same on $debpy; sqlite = sqlite3 :memory: < ($sqln INSERTs, 22 SELECTs)"
echo "runs:     median of $runs, tools interleaved, after one untimed plain run"
echo

# ---- the runs
for w in $workloads; do
    echo "running $w ..." >&2
    run_one "$w" plain
    : >"$tmp/time.$w.plain"
    r=0
    while [ $r -lt $runs ]; do
        for t in $tools; do
            run_one "$w" "$t"
        done
        case $w in many|debpy) run_one "$w" rcgc-fp ;; esac
        r=$((r + 1))
    done
done

# rcgc's figures; its stacks by bytes allocated (collapsed), for their depth
for w in $workloads; do
    "$rcgc" summary --json "$tmp/rcgc.$w.cap" >"$tmp/rcgc.$w.json"
    for t in rcgc rcgc-fp; do
        if [ -f "$tmp/$t.$w.cap" ]; then
            "$rcgc" flamegraph --collapsed --by total -o "$tmp/stacks.$w.$t" "$tmp/$t.$w.cap"
        fi
    done
done

# ---- the report
python3 - "$tmp" "$workloads" "$tools" $quick <<'EOF'
import glob, json, os, re, statistics, sys

tmp, workloads, tools = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
quick = sys.argv[4] == "1"
failed = []  # --quick: the loop's own peak and leak, checked (the CTest test)

def times(w, t):
    with open(os.path.join(tmp, "time.%s.%s" % (w, t))) as f:
        return [float(x) for x in f.read().split()]

def size(pattern):
    files = glob.glob(os.path.join(tmp, pattern))
    return os.path.getsize(files[0]) if files else None

def mb(n):
    return "%.2f MiB" % (n / 1048576) if n is not None else "-"

cols = tools[:2] + ["rcgc-fp"] + tools[2:]  # rcgc-fp on some workloads only
med = {(w, t): statistics.median(times(w, t)) for w in workloads for t in cols
       if os.path.exists(os.path.join(tmp, "time.%s.%s" % (w, t)))}
summ = {}
for w in workloads:
    with open(os.path.join(tmp, "rcgc.%s.json" % w)) as f:
        s = json.load(f)
    summ[w] = s[0] if isinstance(s, list) else s

print("wall clock, median seconds (slowdown vs the plain program) [min-max]")
print("%-8s" % "workload" + "".join("%26s" % t for t in cols))
for w in workloads:
    base = med[(w, "plain")]
    row = "%-8s" % w
    for t in cols:
        if (w, t) not in med:
            row += "%26s" % "-"
            continue
        m, ts = med[(w, t)], times(w, t)
        spread = "[%.2f-%.2f]" % (min(ts), max(ts))
        row += "%26s" % ("%.3f %s" % (m, spread) if t == "plain" else
                         "%.3f (%.1fx) %s" % (m, m / base, spread))
    print(row)
print()

def cpu(w, t):
    path = os.path.join(tmp, "cpu.%s.%s" % (w, t))
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [float(u) + float(s) for u, s in (l.split() for l in f if l.strip())]

# the untimed first plain run is in the cpu file too: dropped
cpus = {(w, t): (cpu(w, t)[1:] if t == "plain" else cpu(w, t))
        for (w, t) in med if cpu(w, t)}
if cpus:
    print("cpu (user + system), median seconds (slowdown vs the plain program) [min-max]")
    print("%-8s" % "workload" + "".join("%26s" % t for t in cols))
    for w in workloads:
        row = "%-8s" % w
        base = statistics.median(cpus[(w, "plain")]) if (w, "plain") in cpus else None
        for t in cols:
            if (w, t) not in cpus:
                row += "%26s" % "-"
                continue
            ts = cpus[(w, t)]
            m = statistics.median(ts)
            spread = "[%.2f-%.2f]" % (min(ts), max(ts))
            row += "%26s" % ("%.3f %s" % (m, spread) if t == "plain" or not base else
                             "%.3f (%.1fx) %s" % (m, m / base, spread))
        print(row)
    print()

def reaching_main(path):
    """Share of the bytes allocated whose stack reaches main (a stripped
    main has no name: its caller, __libc_start_call_main, is looked for)."""
    total = reached = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            total += int(n)
            if "__libc_start_call_main" in frames:
                reached += int(n)
    return reached / total if total else 0.0

print("stacks: share of the bytes allocated whose stack reaches main (its caller, __libc_start_call_main)")
for w in workloads:
    line = "  %-8s" % w
    for t in ("rcgc", "rcgc-fp"):
        path = os.path.join(tmp, "stacks.%s.%s" % (w, t))
        if os.path.exists(path):
            line += "  %s %.1f%%" % (t, 100 * reaching_main(path))
    print(line)
print()

ok = lambda c: "met" if c else "MISSED"
if "heaptrack" in tools:
    print("rcgc's slowdown as a fraction of heaptrack's (goal <= 0.333): wall clock, cpu")
    for w in workloads:
        f = med[(w, "rcgc")] / med[(w, "heaptrack")]
        line = "  %-8s wall %.3f   %s" % (w, f, ok(f <= 1 / 3))
        if (w, "rcgc") in cpus and (w, "heaptrack") in cpus:
            c = statistics.median(cpus[(w, "rcgc")]) / statistics.median(cpus[(w, "heaptrack")])
            line += "   cpu %.3f   %s" % (c, ok(c <= 1 / 3))
        print(line)
    print()
    print("capture size: rcgc .cap vs heaptrack .zst (goal: no larger)")
    for w in workloads:
        a, b = size("rcgc.%s.cap" % w), size("heaptrack.%s*.zst" % w)
        print("  %-8s rcgc %s (%d B)  heaptrack %s (%s B)  ratio %s   %s" % (
            w, mb(a), a, mb(b), b if b is not None else "-",
            "%.2f" % (a / b) if b else "-", ok(b is not None and a <= b)))
    print()
else:
    for w in workloads:
        print("capture size: %-8s rcgc %s" % (w, mb(size("rcgc.%s.cap" % w))))
    print()

print("peak: rcgc peak_bytes vs the true peak (goal: within 0.1%)")
for w in workloads:
    p = summ[w]["peak_bytes"]
    if w == "loop":
        with open(os.path.join(tmp, "out.loop.rcgc")) as f:
            own = dict(kv.split("=") for kv in f.read().split()[1:])
        true = int(own["peak_bytes"])
        err = (p - true) / true * 100
        print("  %-8s rcgc %d  program's own count %d  (%+.4f%%)   %s" % (
            w, p, true, err, ok(abs(err) <= 0.1)))
        if abs(err) > 0.1:
            failed.append("peak")
    else:
        print("  %-8s rcgc %d  (no independent true peak)" % (w, p))
print()

print("leaks: rcgc leaked_bytes (definitely + indirectly lost) vs memcheck's (goal: equal)")
for w in workloads:
    s = summ[w]
    line = "  %-8s rcgc %d (definitely %d + indirectly %d)" % (
        w, s["leaked_bytes"], s["definitely_lost_bytes"], s["indirectly_lost_bytes"])
    if w == "loop":
        with open(os.path.join(tmp, "out.loop.rcgc")) as f:
            own = dict(kv.split("=") for kv in f.read().split()[1:])
        line += "  program's own %s" % own["leaked_bytes"]
        if s["leaked_bytes"] != int(own["leaked_bytes"]):
            failed.append("leaked bytes")
    log = os.path.join(tmp, "memcheck.%s.log" % w)
    if "memcheck" in tools and os.path.exists(log):
        text = open(log).read()
        def lost(kind):
            m = re.search(kind + r" lost: ([\d,]+) bytes", text)
            return int(m.group(1).replace(",", "")) if m else 0
        d, i = lost("definitely"), lost("indirectly")
        line += "  memcheck %d (definitely %d + indirectly %d)   %s" % (
            d + i, d, i, ok(s["leaked_bytes"] == d + i))
    print(line)
if quick and failed:
    sys.exit("bench_profiler: loop: rcgc's %s differ from the program's own" % " and ".join(failed))
EOF
