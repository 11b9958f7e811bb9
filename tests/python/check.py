#!/usr/bin/env python3
"""check.py — `rcgc run` on CPython programs: Python frames and pymalloc.

    check.py --rcgc RCGC --pysites PYSITES --python INTERPRETER CASE

CASE:
  sites      sites.py: the top allocation sites' file:line and function
             (a function, a class's __init__, a comprehension, a generator,
             four threads, json, sqlite3's native allocations under the
             calling line, the stack interleaving native and Python frames)
  peak       peak.py: the mem and obj domains' peak within 1% of
             tracemalloc's, both counted from the script's start
             (tracemalloc.start() there; rcgc: the peak less the live bytes
             at the first allocation of the line after it).  -X tracemalloc starts at
             another moment of startup than rcgc attaches: 0.7 MB apart.
             tracemalloc also counts the raw domain, rcgc counts it as malloc)
  coroutines coroutines.py: asyncio's coroutines (the line as a site) and a
             subinterpreter where there are (3.8-3.13 have them): unharmed
  profiled   profiled.py (sys.setprofile, sys.settrace): same output
  modes      RCGC_PYTHON=frames (no domains recorded), =off (no Python at all)
  leaks      the leak scan with the domains recorded gives malloc's blocks
             (pymalloc's larger blocks are malloc's too) the reachability
             they have without (as memcheck sees them: tests/real), a ctypes
             malloc leak definitely lost, and no Python block of pymalloc's
             own definitely lost
  nosite     nosite.py under -I -S (few mallocs after start-up): attached
             all the same: the Python record, the marked line a site of
             pymalloc's, the census with the script's 50 objects
  walkthrough  examples/app.py, docs/PYTHON.md's walk-through: what the
             walk-through shows stays true: the same output, `top`'s first
             site the PEAK line, `diff --at` after the peak: the growth
             led by the LEAK line, the census's str and tuple over the cache's 30,000, no
             leak (in memcheck's sense) under those lines, a report naming both
  native     a program that is not Python: no Python record, no K record
  census     census.py: the census at exit (rcgc summary --json) has the
             script's own objects as gc.get_objects() counts them, named
             module.qualname, their bytes as sys.getsizeof says, at least
             its dicts and lists (at most the lists gc knows: dead ones on
             the free list are not counted), the interpreter's modules,
             functions, types, dicts and strs as the script's own walk of
             gc.get_objects() and gc.get_referents counts them, and
             gc.garbage's items by type; the same with RCGC_PYTHON=frames
             and with RCGC_SAMPLE_BYTES (64 KiB, and 1 GiB: nearly nothing
             sampled); the text summary names them
  census_frozen  census_frozen.py: objects gc.freeze() moved to the
             permanent generation (which gc.get_objects() leaves out) are
             counted, and what only they lead to; the modules, all frozen,
             as sys.modules has them; the frozen garbage cycle's __del__
             runs neither with nor without rcgc (the census changes nothing)
  census_interned  census_interned.py: 3000 strings that sys.intern's
             table alone holds (interned immortal, dropped) are counted:
             the census's str with them less the str without is 3000
             (within 10: two runs may differ by a str or two)
  census_hazards  census_hazards.py: daemon threads running, a fork
             child ending normally (its own census), a subinterpreter:
             exit 0 and a census in both captures

An interpreter that is not installed skips the case (exit 77), except
/usr/bin/python3 under CI=true.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def record(args, argv, env=None, out=None, since=None):
    """Run argv under rcgc run; the capture's pysites lines."""
    cap = os.path.join(args.work, "run.cap")
    run_env = dict(os.environ, **(env or {}))
    p = subprocess.run([args.rcgc, "run", "-o", cap, "--"] + argv, capture_output=True,
                       text=True, env=run_env, cwd=args.work)
    if p.returncode != 0:
        fail(f"{argv}: exit {p.returncode}\n{p.stderr}")
    if out is not None:
        out.append(p.stdout)
    q = subprocess.run([args.pysites, cap, "-n", "40"] + (["-s", "sites.py:34"] if "sites.py" in
                                                           " ".join(argv) else []) +
                       (["-f", since] if since else []), capture_output=True, text=True)
    if q.returncode != 0:
        fail(f"pysites: {q.stderr}")
    return q.stdout


def parse(text):
    res = {"sites": [], "stack": None}
    for line in text.splitlines():
        w = line.split(" ")
        if w[0] == "python":
            res["version"] = int(w[1], 16)
        elif w[0] == "domains":
            res["total"], res["peak"], res["blocks"] = map(int, w[1:4])
        elif w[0] == "site":
            res["sites"].append({"bytes": int(w[1]), "at": w[3], "function": w[4],
                                 "module": w[5]})
        elif w[0] == "frames":
            res["codes"] = int(w[1])
        elif w[0] == "leaks":
            res.setdefault("leaks", {})[w[1]] = [int(x) for x in w[2:6]]
        elif w[0] == "stack":
            res["stack"] = w[1:]
    return res


def marked_lines(path, mark=r"# SITE (\w+)"):
    """name -> line number, from the script's comments (the mark's group)."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.search(mark, line)
            if m:
                out[m.group(1)] = n
    return out


def find(res, line, function=None, module=None):
    for s in res["sites"]:
        if s["at"].endswith(f"sites.py:{line}") and \
                (function is None or s["function"].split(".")[-1] == function or
                 s["function"] == function) and \
                (module is None or s["module"].startswith(module)):
            return s
    return None


def case_sites(args):
    script = os.path.join(HERE, "sites.py")
    marks = marked_lines(script)
    res = parse(record(args, [args.python, script]))
    if not res.get("version"):
        fail("no Python record")
    # (mark, the function as 3.12+ names it, as 3.11 does, as 3.8-3.10 do)
    want = [("init", "__init__"), ("comprehension", ("squares", "<listcomp>")),
            ("generator", "chunks"), ("thread", ("worker", "<listcomp>")),
            ("json", ("encode", "<dictcomp>"))]
    for mark, funcs in want:
        funcs = funcs if isinstance(funcs, tuple) else (funcs,)
        if not any(find(res, marks[mark], f) for f in funcs):
            fail(f"no site at sites.py:{marks[mark]} ({mark}, {funcs}) in:\n" +
                 "\n".join(f"{s['at']} {s['function']} {s['bytes']}" for s in res["sites"]))
    if not find(res, marks["sqlite"], "database", "libsqlite3"):
        fail(f"no sqlite3 allocation under sites.py:{marks['sqlite']}")
    if not any("json/encoder.py" in s["at"] and "iterencode" in s["function"]
               for s in res["sites"]):
        fail("no allocation in json's encoder")
    stack = res["stack"] or []
    # innermost first: sqlite's frames, the line that called it, main's call
    i_sql = next((i for i, f in enumerate(stack) if f.startswith("[libsqlite3")), None)
    i_line = next((i for i, f in enumerate(stack) if f.endswith(f"sites.py:{marks['sqlite']}")),
                  None)
    i_main = next((i for i, f in enumerate(stack) if re.search(r"sites\.py:5[0-9]$", f)), None)
    if None in (i_sql, i_line, i_main) or not i_sql < i_line < i_main:
        fail(f"sqlite3's stack is not interleaved as expected: {stack}")
    print("sites: ok;", " ".join(f"{k}={v}" for k, v in marks.items()))


def case_peak(args):
    script = os.path.join(HERE, "peak.py")
    p = subprocess.run([args.python, script, "tracemalloc"], capture_output=True,
                       text=True, check=True)
    _, current, peak = p.stdout.split()
    res = parse(record(args, [args.python, script], since=f"peak.py:{marked_lines(script)['start']}"))
    off = abs(res["peak"] - int(peak)) / int(peak)
    print(f"peak: rcgc {res['peak']}, tracemalloc {peak} ({off * 100:+.1f}%)")
    if off > 0.01:
        fail("the domains' peak differs from tracemalloc's by more than 1%")


def case_coroutines(args):
    script = os.path.join(HERE, "coroutines.py")
    out = []
    res = parse(record(args, [args.python, script], out=out))
    line = marked_lines(script)["coroutine"]
    if out[0].strip() != "done 20":
        fail(f"output: {out[0]!r}")
    if not any(s["at"].endswith(f"coroutines.py:{line}") for s in res["sites"]):
        fail(f"no site at coroutines.py:{line}")
    print("coroutines: ok")


def case_profiled(args):
    script = os.path.join(HERE, "profiled.py")
    base = subprocess.run([args.python, script], capture_output=True, text=True,
                          check=True).stdout
    out = []
    res = parse(record(args, [args.python, script], out=out))
    if out[0] != base:
        fail(f"output changed under rcgc run: {out[0]!r} vs {base!r}")
    if not res.get("version") or not res["codes"]:
        fail("no Python frames")
    print("profiled: ok,", base.strip()[-40:])


def case_modes(args):
    script = os.path.join(HERE, "peak.py")
    frames = parse(record(args, [args.python, script], {"RCGC_PYTHON": "frames"}))
    if not frames.get("version") or frames["blocks"] or not frames["codes"]:
        fail(f"RCGC_PYTHON=frames: {frames}")
    off = parse(record(args, [args.python, script], {"RCGC_PYTHON": "off"}))
    if off.get("version") or off["blocks"] or off["codes"]:
        fail(f"RCGC_PYTHON=off: {off}")
    print("modes: ok")


LEAKY = ("import json, sqlite3, decimal, ctypes; sqlite3.connect(':memory:'); "
         "ctypes.CDLL(None).malloc(4000)")


def case_leaks(args):
    # the same environment's length in both runs (Python copies it)
    plain = parse(record(args, [args.python, "-c", LEAKY], {"RCGC_PYTHON": "frames"}))
    full = parse(record(args, [args.python, "-c", LEAKY], {"RCGC_PYTHON": "all___"}))
    seen = [a + b for a, b in zip(full["leaks"]["malloc"], full["leaks"]["python_big"])]
    before = plain["leaks"]["malloc"]
    print("leaks (reachable, indirect, definite, possible): malloc", before,
          "then malloc + pymalloc's large", seen, "pymalloc's own", full["leaks"]["python"])
    if plain["leaks"]["python"] != [0, 0, 0, 0] or plain["leaks"]["python_big"] != [0, 0, 0, 0]:
        fail("RCGC_PYTHON=frames recorded the domains")
    if before[2] < 4000 or seen[1:3] != before[1:3]:
        fail("indirectly or definitely lost differ with the domains recorded")
    if abs((seen[0] + seen[3]) - (before[0] + before[3])) > 64:
        fail("reachable and possibly lost differ with the domains recorded")
    if full["leaks"]["python"][2]:
        fail("pymalloc blocks definitely lost in a program that loses none")


def case_nosite(args):
    script = os.path.join(HERE, "nosite.py")
    cap = os.path.join(args.work, "run.cap")
    res = parse(record(args, [args.python, "-I", "-S", script]))
    line = marked_lines(script)["few"]
    if not res.get("version") or not res["blocks"]:
        fail(f"-I -S: not attached (no Python record or no pymalloc block): {res}")
    if not any(s["at"].endswith(f"nosite.py:{line}") for s in res["sites"]):
        fail(f"no site at nosite.py:{line}: {res['sites']}")
    live = {t["type"]: t["objects"] for t in census_of(args, cap)["live"]["types"]}
    if live.get("__main__.Few") != 50:
        fail(f"census: __main__.Few {live.get('__main__.Few')}, the script keeps 50")
    print("nosite: ok")


def rcgc_json(args, *argv):
    q = subprocess.run([args.rcgc] + list(argv) + ["--json"], capture_output=True, text=True)
    if q.returncode != 0:
        fail(f"rcgc {argv}: exit {q.returncode}\n{q.stderr}")
    return json.loads(q.stdout)


def case_walkthrough(args):
    script = os.path.join(HERE, "..", "..", "examples", "app.py")
    marks = marked_lines(script, r"# (LEAK|PEAK)")
    cap = os.path.join(args.work, "app.cap")
    plain = subprocess.run([args.python, script], capture_output=True, text=True).stdout
    p = subprocess.run([args.rcgc, "run", "-o", cap, "--", args.python, script],
                       capture_output=True, text=True, cwd=args.work)
    if p.returncode != 0 or p.stdout != plain or not plain.startswith("served"):
        fail(f"app.py: exit {p.returncode}, {p.stdout!r} (without rcgc {plain!r})\n{p.stderr}")
    top = rcgc_json(args, "top", "-n", "3", cap)["rows"]
    if (os.path.basename(top[0]["file"]), top[0]["line"]) != ("app.py", marks["PEAK"]):
        fail(f"top's first site is not app.py:{marks['PEAK']}: {top}")
    summary = rcgc_json(args, "summary", cap)
    # after the peak (the report's list is freed) and before main returns:
    # serve()'s second half, the cache growing
    t_peak, t_end = summary["peak_time_s"], summary["duration_s"]
    at = [f"{t_peak + k * (t_end - t_peak):.3f}" for k in (0.25, 0.75)]
    growth = [r for r in rcgc_json(args, "diff", "-n", "5", "--at", at[0], "--at", at[1],
                                   cap)["rows"] if r["bytes_diff"] > 0]
    if not growth or (os.path.basename(growth[0]["file"]), growth[0]["line"]) != \
            ("app.py", marks["LEAK"]):
        fail(f"diff --at {at}: the first row is not app.py:{marks['LEAK']}: {growth}")
    live = {t["type"]: t["objects"] for t in summary["python_objects"]["live"]["types"]}
    if live.get("str", 0) < 30000 or live.get("tuple", 0) < 30000:
        fail(f"census: str {live.get('str')}, tuple {live.get('tuple')}: the cache keeps 30000")
    for leak in rcgc_json(args, "leaks", cap):  # (the interpreter's own: at `import json`)
        if any((f.get("file") or "").endswith("app.py") and f["line"] in marks.values()
               for f in leak["stack"]):
            fail(f"a leak under the LEAK or PEAK line (the cache is freed at finalization): {leak}")
    report = os.path.join(args.work, "report.html")
    subprocess.run([args.rcgc, "flamegraph", "-o", report, cap], check=True, capture_output=True)
    with open(report) as f:
        html = f.read()
    if "monthly_report" not in html or "render" not in html:
        fail("the report does not name monthly_report and render")
    print(f"walkthrough: ok; top app.py:{top[0]['line']}, growth {at}: "
          f"app.py:{growth[0]['line']} +{growth[0]['bytes_diff']} B, census str {live['str']}, "
          f"tuple {live['tuple']}")


def case_native(args):
    res = parse(record(args, ["/bin/sh", "-c", "echo hi | sort > /dev/null"]))
    if res.get("version") or res["codes"] or res["blocks"]:
        fail(f"a program that is not Python has Python records: {res}")
    print("native: ok")


def census_of(args, cap):
    q = subprocess.run([args.rcgc, "summary", "--json", cap], capture_output=True, text=True)
    census = json.loads(q.stdout)["python_objects"]
    if not census:
        fail(f"no census in {cap}")
    return census


# The census's count of these types against the script's own walk of
# gc.get_objects() and gc.get_referents (made a little before the census:
# its own functions and a few objects differ): within 10 or 2%.
INTERPRETER_TYPES = ("module", "function", "type", "builtin_function_or_method", "dict")


def case_census(args):
    script = os.path.join(HERE, "census.py")
    expected_path = os.path.join(args.work, "expected.json")
    cap = os.path.join(args.work, "census.cap")
    # a sample per 1 GiB: almost nothing sampled, and the census is there all
    # the same (attaching to CPython must not wait for a sampled allocation)
    for env in ({}, {"RCGC_PYTHON": "frames"}, {"RCGC_SAMPLE_BYTES": "65536"},
                {"RCGC_SAMPLE_BYTES": str(1 << 30)}):
        p = subprocess.run([args.rcgc, "run", "-o", cap, "--", args.python, script,
                            expected_path], capture_output=True, text=True,
                           env=dict(os.environ, **env))
        if p.returncode != 0:
            fail(f"census.py {env}: exit {p.returncode}\n{p.stderr}")
        with open(expected_path) as f:
            want = json.load(f)
        census = census_of(args, cap)
        live = {t["type"]: (t["objects"], t["bytes"]) for t in census["live"]["types"]}
        for name, (objects, size) in want["own"].items():
            if tuple(live.get(name, (0, 0))) != (objects, size):
                fail(f"{env} {name}: census {live.get(name)}, gc.get_objects and "
                     f"sys.getsizeof {objects}, {size}")
        for name, least in want["at_least"].items():
            if live.get(name, (0, 0))[0] < least:
                fail(f"{env} {name}: census {live.get(name)}, the script keeps {least}")
        for name, most in want["at_most"].items():
            if live.get(name, (0, 0))[0] > most:
                fail(f"{env} {name}: census {live.get(name)}, gc knows {most}: dead ones counted")
        ref = want["interpreter"]
        for name in INTERPRETER_TYPES:
            want_n = ref.get(name, 0)
            if abs(live.get(name, (0, 0))[0] - want_n) > max(10, want_n // 50):
                fail(f"{env} {name}: census {live.get(name)}, the script's walk {ref.get(name)}")
        if live.get("str", (0, 0))[0] < ref.get("str", 0) * 0.95:
            fail(f"{env} str: census {live.get('str')}, the script's walk {ref.get('str')}")
        garbage = {t["type"]: t["objects"] for t in census["garbage"]["types"]}
        if garbage != want["garbage"]:
            fail(f"{env} gc.garbage: census {garbage}, the script's {want['garbage']}")
    text = subprocess.run([args.rcgc, "summary", cap], capture_output=True, text=True).stdout
    if not re.search(r"gc\.garbage +%d objects: .*__main__\.Cycle \(10\)" %
                     sum(garbage.values()), text) or \
            not re.search(r"Python objects +\d+ live at exit", text):
        fail(f"the summary's census lines:\n{text}")
    print("census: ok;", {k: live.get(k) for k in want["own"]}, "garbage", garbage,
          {k: (live.get(k, (0,))[0], ref.get(k)) for k in INTERPRETER_TYPES + ("str",)})


def case_census_frozen(args):
    script = os.path.join(HERE, "census_frozen.py")
    expected_path = os.path.join(args.work, "expected.json")
    cap = os.path.join(args.work, "frozen.cap")
    plain = subprocess.run([args.python, script, expected_path], capture_output=True,
                           text=True).stdout
    p = subprocess.run([args.rcgc, "run", "-o", cap, "--", args.python, script, expected_path],
                       capture_output=True, text=True)
    if p.returncode != 0 or p.stdout != plain or plain != "done True\n":
        fail(f"census_frozen.py: exit {p.returncode}, {p.stdout!r} (without rcgc {plain!r})\n"
             f"{p.stderr}")
    with open(expected_path) as f:
        want = json.load(f)
    live = {t["type"]: t["objects"] for t in census_of(args, cap)["live"]["types"]}
    for name, n in want["own"].items():
        if live.get(name) != n:
            fail(f"{name}: census {live.get(name)}, the script keeps {n}")
    if abs(live.get("module", 0) - want["modules"]) > 2:
        fail(f"modules: census {live.get('module')}, sys.modules {want['modules']}")
    print("census_frozen: ok;", {k: live.get(k) for k in want["own"]}, "modules",
          live.get("module"), "of", want["modules"], "frozen", want["frozen"])


def case_census_interned(args):
    script = os.path.join(HERE, "census_interned.py")
    cap = os.path.join(args.work, "interned.cap")
    strs = []
    for n in (0, 3000):
        p = subprocess.run([args.rcgc, "run", "-o", cap, "--", args.python, script, str(n)],
                           capture_output=True, text=True)
        if p.returncode != 0 or p.stdout != "done\n":
            fail(f"census_interned.py {n}: exit {p.returncode}, {p.stdout!r}\n{p.stderr}")
        live = {t["type"]: t["objects"] for t in census_of(args, cap)["live"]["types"]}
        strs.append(live.get("str", 0))
    if abs(strs[1] - strs[0] - 3000) > 10:  # (a run or two differ by a str or two)
        fail(f"str: {strs[0]} without, {strs[1]} with 3000 held by the interned table alone")
    print("census_interned: ok; str", strs)


def case_census_hazards(args):
    script = os.path.join(HERE, "census_hazards.py")
    cap = os.path.join(args.work, "hazards.%p.cap")
    p = subprocess.run([args.rcgc, "run", "-o", cap, "--", args.python, script],
                       capture_output=True, text=True)
    if p.returncode != 0 or p.stdout != "done 0\n":
        fail(f"census_hazards.py: exit {p.returncode}, {p.stdout!r}\n{p.stderr}")
    caps = [os.path.join(args.work, f) for f in os.listdir(args.work) if f.startswith("hazards.")]
    if len(caps) != 2:
        fail(f"captures: {caps}")
    seen = []
    for c in caps:
        live = {t["type"]: t["objects"] for t in census_of(args, c)["live"]["types"]}
        if live.get("__main__.PySized") != 20 or live.get("OddModule") != 30:
            fail(f"{c}: {live}")
        seen.append(live.get("__main__.ChildOnly"))
    if sorted(seen, key=str) != [50, None]:
        fail(f"the fork child's objects: {seen}")
    print("census_hazards: ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--pysites", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    if not os.access(args.python, os.X_OK):
        if os.environ.get("CI") == "true" and args.python == "/usr/bin/python3":
            fail(f"{args.python} is missing")
        print(f"skipped: {args.python} is not installed")
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory() as work:
        args.work = work
        globals()["case_" + args.case](args)


if __name__ == "__main__":
    main()
