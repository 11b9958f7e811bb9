#!/usr/bin/env python3
"""compare.py — the preload shim against valgrind on real programs from Debian.

    compare.py --rcgc PATH --preload SHIM --cases FILE --work DIR CASE...
    compare.py ... --table      every case, then a Markdown table

Each case (cases.ini) is one command, run four times on the same input:
twice under the shim (results must not change from run to run), once under
memcheck and once under massif.  The shim is loaded as `rcgc run` loads it
(LD_PRELOAD, RCGC_CAPTURE; docs/PROFILING.md "recording without rcgc run")
but with the environment under the test's control: `rcgc run` adds
RCGC_TICK, whose length changes from run to run, and programs copy their
environment into the heap (see Env).  Then `rcgc summary --json` and
`rcgc leaks --all --json` (which must add up to the summary) give the
figures.  The checks, each "match" or "differ":

  totals     allocations, bytes allocated, bytes and blocks in use at exit
             (memcheck's HEAP SUMMARY)
  definite   definitely lost, bytes and blocks   (memcheck's LEAK SUMMARY)
  indirect   indirectly lost, bytes and blocks
  possible   possibly lost, bytes and blocks
  reachable  still reachable, bytes and blocks
  peak       peak heap within 0.5% of massif's (the largest mem_heap_B with
             --peak-inaccuracy=0, so a snapshot is taken at the true peak)
  stable     the two rcgc runs give the same leak figures and peak

A case may name, as `interior = SIZE: reason`, blocks whose only pointer
the program rounds up from malloc's address (glibc's _dl_find_object
segments): a start pointer or an interior one depending on where malloc
put the block, which differs between processes.  Blocks of that size
possibly lost on one side and still reachable on the other, as many each
way, then match (between rcgc and memcheck, and between rcgc's two runs).

A case may name, as `layout = SIZE: reason`, a block the program makes or
not depending on where mmap puts its pages (GCC's page table gets a
second-level table per address region its pages span): rcgc's run may
hold one to four more live blocks of that size, still reachable, and a
peak that much higher; totals, reachable and peak then match, with a note.

A check a case lists under `gap.<check>` (with the reason) is a known gap:
the case passes while it differs and FAILS once it matches, so the list is
kept honest.  Any other check that differs fails the case.  Programs that
are not installed skip the case (exit 77), except under CI=true.

Both tools see the same environment (fixed hash seeds, C locale) and the
same input files, made here.  valgrind does not follow children
(--trace-children=no) and `rcgc run` records only the process it started
(a path without %p), so both measure the first process; forked children
under valgrind write their own summaries, which are skipped by pid.
"""
import argparse
import configparser
import ctypes
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

CHECKS = ["totals", "definite", "indirect", "possible", "reachable", "peak", "stable"]
PEAK_TOLERANCE = 0.005
SKIP = 77
# RCGC_PYTHON=frames: under the shim, CPython's pymalloc blocks stay
# unrecorded, as memcheck sees them (tests/python's leaks case checks that
# recording them leaves malloc's blocks as they are); every tool gets it,
# so the environments keep equal lengths.
FIXED_ENV = {"LC_ALL": "C", "TZ": "UTC", "PYTHONHASHSEED": "0", "PERL_HASH_SEED": "0",
             "PERL_PERTURB_KEYS": "0", "PYTHONDONTWRITEBYTECODE": "1", "RCGC_PYTHON": "frames"}
# what valgrind puts in LD_PRELOAD (memcheck's; massif's is 2 shorter)
VG_PRELOAD = ("/usr/libexec/valgrind/vgpreload_core-amd64-linux.so:"
              "/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so")
ADDR_NO_RANDOMIZE = 0x0040000
MEMCHECK = ["--leak-check=full", "--show-leak-kinds=all",
            "--run-libc-freeres=no", "--run-cxx-freeres=no"]
MASSIF = ["--tool=massif", "--pages-as-heap=no", "--peak-inaccuracy=0",
          "--detailed-freq=1000000", "--threshold=100"]
TIMEOUT = 300


def make_inputs(work):
    """The inputs the commands name as @TEXT@, @LINES@, @MAKEFILE@, @CXX@,
    @CC1PLUS@,
    @WORK@ (the program's directory, with HOME in it)."""
    os.makedirs(os.path.join(work, "home"))
    text = os.path.join(work, "input.txt")
    with open(text, "w") as f:  # 20,000 lines, numbers in a scrambled order
        for i in range(1, 20001):
            f.write(f"{i * 7919 % 10007} line {i}\n")
    lines = os.path.join(work, "lines.txt")
    with open(lines, "w") as f:  # enough for sort's threads (128 Ki lines)
        for i in range(1, 140001):
            f.write(f"{i * 7919 % 140009}\n")
    makefile = os.path.join(work, "Makefile.test")
    with open(makefile, "w") as f:
        f.write("all: a b\n\t@true\na:\n\t@echo a >/dev/null\nb:\n\t@echo b; echo c\n")
    cxx = os.path.join(work, "input.cc")
    with open(cxx, "w") as f:
        f.write("#include <string>\n#include <vector>\n"
                "int count() { std::vector<std::string> v{\"a\", \"b\"}; return (int)v.size(); }\n")
    return {"@TEXT@": text, "@LINES@": lines, "@MAKEFILE@": makefile, "@CXX@": cxx, "@WORK@": work,
            "@CC1PLUS@": cc1plus()}


def cc1plus():
    """GCC's C++ compiler proper, which g++ runs (not on PATH)."""
    try:
        return subprocess.run(["g++", "-print-prog-name=cc1plus"], capture_output=True,
                              text=True).stdout.strip() or "cc1plus"
    except OSError:
        return "cc1plus"


def command(case, inputs):
    words = shlex.split(case["cmd"])
    for key, value in inputs.items():
        words = [w.replace(key, value) for w in words]
    return words


def no_aslr():
    """In the child: addresses as in every other run (GCC hashes pointers)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.personality(ADDR_NO_RANDOMIZE)


def run(argv, work, log, env):
    """Run argv with env in a fresh copy of the inputs (work/run: programs
    read their directory, git init must find none); its output goes to log.
    Returns its pid."""
    rundir = os.path.join(work, "run")
    shutil.rmtree(rundir, ignore_errors=True)
    make_inputs(rundir)
    with open(log, "w") as out:
        p = subprocess.Popen(argv, cwd=rundir, env=env, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, preexec_fn=no_aslr)
        try:
            p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise SystemExit(f"timed out after {TIMEOUT} s: {shlex.join(argv)}")
    return p.pid


class Env:
    """The environments of the three tools, equal in names and lengths.

    Programs copy their environment into the heap (make's variables, perl's
    %ENV, bash's), so a longer LD_PRELOAD is more bytes allocated.  valgrind
    sets LD_PRELOAD to its two libraries, then ours if any; the shim's run
    gets the shim padded with empty entries (':', which ld.so skips) to the
    same length, or the other way round.  The capture path has %p, so the
    shim sets no variable of its own (RCGC_CAPTURE_OWNER), and the value is
    the same string for valgrind.  valgrind.bin, not Debian's valgrind
    wrapper script, which adds variables."""

    def __init__(self, args, work):
        home = os.path.join(work, "run", "home")
        self.base = dict(FIXED_ENV, PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=home,
                         RCGC_CAPTURE=os.path.join(work, "rcgc-%p.cap"))
        self.valgrind = shutil.which("valgrind.bin") or "valgrind"
        vg = len(VG_PRELOAD)
        width = max(len(args.preload), vg + 2)
        self.shim = dict(self.base, LD_PRELOAD=args.preload.ljust(width, ":"))
        self.memcheck = dict(self.base, LD_PRELOAD=":" * (width - vg - 1))
        self.massif = self.memcheck


def number(s):
    return int(s.replace(",", ""))


def memcheck(argv, work, env):
    log = os.path.join(work, "memcheck.%p.log")
    pid = run([env.valgrind] + MEMCHECK + ["--log-file=" + log] + argv, work,
              os.path.join(work, "memcheck.out"), env.memcheck)
    path = log.replace("%p", str(pid))
    with open(path) as f:
        text = f.read()
    r = {}
    m = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", text)
    if not m:
        raise SystemExit(f"{path}: no HEAP SUMMARY")
    r["live_bytes"], r["live_blocks"] = number(m[1]), number(m[2])
    m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes", text)
    r["allocations"], r["allocated_bytes"] = number(m[1]), number(m[3])
    for kind, key in (("definitely lost", "definite"), ("indirectly lost", "indirect"),
                      ("possibly lost", "possible"), ("still reachable", "reachable")):
        m = re.search(kind + r": ([\d,]+) bytes in ([\d,]+) blocks", text)
        # no LEAK SUMMARY at all: nothing was in use at exit
        r[key] = (number(m[1]), number(m[2])) if m else (0, 0)
    return r


def massif_peak(argv, work, env):
    out = os.path.join(work, "massif.%p.out")
    pid = run([env.valgrind] + MASSIF + ["--massif-out-file=" + out] + argv, work,
              os.path.join(work, "massif.log"), env.massif)
    with open(out.replace("%p", str(pid))) as f:
        return max(int(v) for v in re.findall(r"^mem_heap_B=(\d+)$", f.read(), re.M))


def rcgc_json(args, *words):
    p = subprocess.run([args.rcgc, *words], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"rcgc {' '.join(words)}: exit {p.returncode}\n{p.stderr}")
    return json.loads(p.stdout)


def rcgc(args, argv, work, env):
    """The shim's figures for one run (the first process's capture)."""
    pid = run(argv, work, os.path.join(work, "rcgc.log"), env.shim)
    capture = env.base["RCGC_CAPTURE"].replace("%p", str(pid))
    s = rcgc_json(args, "summary", "--json", capture)
    s = s[0] if isinstance(s, list) else s
    # `leaks` must add up to the summary, category by category
    for row in rcgc_json(args, "leaks", "--all", "-n", "1000000", "--json", capture):
        key = row["category"]
        s[key + "_sum"] = [a + b for a, b in zip(s.get(key + "_sum", (0, 0)),
                                                  (row["bytes"], row["blocks"]))]
    for key in ("definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"):
        if s.get(key + "_sum", [0, 0]) != [s.get(key + "_bytes", 0), s.get(key + "_blocks", 0)]:
            raise SystemExit(f"{capture}: rcgc leaks gives {key} {s.get(key + '_sum')}, "
                             f"rcgc summary {s.get(key + '_bytes')} B, {s.get(key + '_blocks')}")
    pair = lambda k: (s.get(k + "_bytes", 0), s.get(k + "_blocks", 0))
    return {"live_bytes": s["live_bytes_at_exit"], "live_blocks": s["live_blocks_at_exit"],
            "allocations": s["allocations"], "allocated_bytes": s["total_allocated_bytes"],
            "definite": pair("definitely_lost"), "indirect": pair("indirectly_lost"),
            "possible": pair("possibly_lost"), "reachable": pair("still_reachable"),
            "peak": s["peak_bytes"], "leak_scan": s.get("leak_scan")}


def moved(ours, theirs, size):
    """Blocks of `size` bytes counted possibly lost by one side and still
    reachable by the other, as many each way: how many, else None."""
    dp = [a - b for a, b in zip(ours["possible"], theirs["possible"])]
    dr = [a - b for a, b in zip(ours["reachable"], theirs["reachable"])]
    if not size or dp != [-x for x in dr] or dp[0] != dp[1] * size:
        return None
    return dp[1]


def layout_blocks(ours, theirs, size):
    """How many more live blocks of `size` bytes rcgc's run holds than
    valgrind's, when that is all that differs in the totals (1 to 4: the
    address regions the program's pages span); else 0."""
    d = [ours[k] - theirs[k] for k in ("allocations", "allocated_bytes",
                                        "live_bytes", "live_blocks")]
    n = d[0]
    return n if size > 0 and 1 <= n <= 4 and d == [n, n * size, n * size, n] else 0


def compare(ours, theirs, peak, again, interior=0, layout=0):
    """check -> (matches, what each side said).  interior: the size of
    blocks whose one pointer may be a start pointer in one process and an
    interior one in the other; layout: the size of a block the program
    makes or not depending on where mmap put its pages (see cases.ini)."""
    tot = ("allocations", "allocated_bytes", "live_bytes", "live_blocks")
    res = {"totals": (all(ours[k] == theirs[k] for k in tot),
                      " ".join(f"{k} {ours[k]}/{theirs[k]}" for k in tot))}
    extra = layout_blocks(ours, theirs, layout)
    note = f" ({extra} block(s) of {layout} B more, made or not by the memory layout)"
    if extra:
        res["totals"] = (True, res["totals"][1] + note)
    shifted = moved(ours, theirs, interior)
    for k in ("definite", "indirect", "possible", "reachable"):
        res[k] = (ours[k] == theirs[k], f"{ours[k][0]} B in {ours[k][1]} / "
                                        f"{theirs[k][0]} B in {theirs[k][1]}")
        if shifted and k in ("possible", "reachable"):
            res[k] = (True, res[k][1] + f" ({abs(shifted)} block(s) of {interior} B "
                                        "reached through an address-dependent pointer)")
    for k in ("reachable",):
        if extra and [a - b for a, b in zip(ours[k], theirs[k])] == [extra * layout, extra]:
            res[k] = (True, res[k][1] + note)
    mine = ours["peak"] - extra * layout
    off = abs(mine - peak) / peak if peak else float(mine != 0)
    res["peak"] = (off <= PEAK_TOLERANCE, f"{ours['peak']}/{peak} ({off * 100:+.2f}%)"
                   + (note if extra else ""))
    keys = ("definite", "indirect", "possible", "reachable", "peak", "live_bytes")
    # the same address-dependent blocks may move between our own two runs
    rerun_shift = moved(ours, again, interior)
    differ = [k for k in keys if ours[k] != again[k]
              and not (rerun_shift and k in ("possible", "reachable"))]
    res["stable"] = (not differ, "; ".join(f"{k} {ours[k]} then {again[k]}" for k in differ)
                     or "same" + (f" ({abs(rerun_shift)} block(s) of {interior} B moved)"
                                  if rerun_shift else ""))
    return res


def missing(argv):
    if not shutil.which("valgrind"):
        return "valgrind"
    return None if shutil.which(argv[0]) or os.access(argv[0], os.X_OK) else argv[0]


def run_case(args, name, case):
    """Returns (failures, rows): rows are (check, verdict, detail)."""
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    argv = command(case, make_inputs(os.path.join(work, "run")))
    env = Env(args, work)
    ours, again = rcgc(args, argv, work, env), rcgc(args, argv, work, env)
    interior = int(case.get("interior", "0").split(":")[0])
    layout = int(case.get("layout", "0").split(":")[0])
    res = compare(ours, memcheck(argv, work, env), massif_peak(argv, work, env), again,
                  interior, layout)
    failures, rows = [], []
    for check in CHECKS:
        ok, detail = res[check]
        gap = case.get("gap." + check)
        if ok and gap:
            verdict = "MATCHES (known gap gone: remove gap." + check + ")"
            failures.append(check)
        elif ok:
            verdict = "match"
        elif gap:
            verdict = "differs (known gap: " + gap + ")"
        else:
            verdict = "DIFFERS"
            failures.append(check)
        rows.append((check, verdict, detail))
    return failures, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--preload", required=True, help="librcgc_preload.so")
    ap.add_argument("--cases", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--table", action="store_true",
                    help="run every case, print a Markdown table (rcgc / valgrind)")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    args.rcgc = os.path.abspath(args.rcgc)
    args.preload = os.path.abspath(args.preload)
    cases = configparser.ConfigParser(interpolation=None)
    cases.read(args.cases)
    names = cases.sections() if args.table else args.names
    bad = [n for n in names if n not in cases]
    if bad or not names:
        raise SystemExit(f"unknown case {bad[0]!r}" if bad else "no case named")
    status, table = 0, []
    for name in names:
        case = cases[name]
        absent = missing(command(case, {"@CC1PLUS@": cc1plus()}))
        if absent:
            print(f"{name}: {absent} is not installed")
            if os.environ.get("CI") == "true":
                return 1
            status = status or SKIP
            continue
        print(f"{name}: {case['cmd']}")
        failures, rows = run_case(args, name, case)
        for check, verdict, detail in rows:
            print(f"  {check:<9} {verdict}: {detail}")
        table.append((name, rows))
        if failures:
            print(f"{name}: FAILED ({', '.join(failures)})")
            status = 1
    if args.table:
        print("\n| program | " + " | ".join(CHECKS) + " |")
        print("|---" * (len(CHECKS) + 1) + "|")
        for name, rows in table:
            cells = [("ok" if v.startswith("match") else "**" + v.split(" ")[0] + "**")
                     + ("" if v.startswith("match") else ": " + d) for _, v, d in rows]
            print(f"| {name} | " + " | ".join(cells) + " |")
    return status


if __name__ == "__main__":
    sys.exit(main())
