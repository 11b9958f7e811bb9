#!/usr/bin/env python3
"""test_names.py — the names rcgc shows, on a C++ program run under `rcgc run`.

    test_names.py --rcgc PATH --prog PATH --work DIR

names_prog allocates through operator new and xmalloc, and through a wrapper
of its own (app::pool_get).  By default the wrappers fold into their callers
and C++ names are demangled; --no-fold shows the wrappers; --alloc-fn folds
one more; a stripped copy's frames are named module+0xoffset, never "??".
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

ARGS = None


def rcgc(*args):
    p = subprocess.run([ARGS.rcgc, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"rcgc {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p.stdout


def top_functions(capture, *options):
    rows = json.loads(rcgc("top", "--json", "--by", "peak", "-n", "50", *options,
                           capture))["rows"]
    return {r["function"]: r["blocks"] for r in rows}


def record(prog, name, unwind="libunwind"):
    path = os.path.join(ARGS.work, name)
    # a DWARF walk: libstdc++'s operator new keeps no frame pointer
    options = ["--unwind", unwind] if unwind else []
    p = subprocess.run([ARGS.rcgc, "run", *options, "-o", path, "--", prog],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or not os.path.exists(path):
        raise AssertionError(f"rcgc run {prog}: exit {p.returncode}\n{p.stderr}")
    return path


class Names(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.capture = record(ARGS.prog, "names.cap")

    def test_demangled_and_folded(self):
        f = top_functions(self.capture)
        self.assertEqual(f.get("app::make_widget()"), 1000, f)
        self.assertEqual(f.get("app::pool_get(unsigned long)"), 100, f)
        for name in f:
            self.assertFalse(name.startswith(("operator new", "xmalloc", "malloc", "_Z")), f)

    def test_default_walk_finds_the_caller_of_operator_new(self):
        # the default walk (call-frame information) goes through libstdc++'s
        # operator new, which has no frame pointer, to the function that
        # called it
        capture = record(ARGS.prog, "names_default.cap", unwind=None)
        f = top_functions(capture)
        self.assertEqual(f.get("app::make_widget()"), 1000, f)
        self.assertEqual(f.get("app::pool_get(unsigned long)"), 100, f)

    def test_no_fold_shows_the_wrappers(self):
        f = top_functions(self.capture, "--no-fold")
        # the widgets and the vector's storage
        self.assertEqual(f.get("operator new(unsigned long)"), 1001, f)
        self.assertEqual(f.get("xmalloc"), 100, f)

    def test_alloc_fn_folds_one_more(self):
        f = top_functions(self.capture, "--alloc-fn", "app::pool_get")
        self.assertEqual(f.get("fill_table()"), 100, f)
        self.assertNotIn("app::pool_get(unsigned long)", f)
        # a pattern with '*'
        f = top_functions(self.capture, "--alloc-fn", "app::pool*")
        self.assertEqual(f.get("fill_table()"), 100, f)

    def test_leaks_and_flamegraph_fold_too(self):
        leaks = json.loads(rcgc("leaks", "--json", "--all", self.capture))
        widget = [l for l in leaks if l["blocks"] == 1000]
        self.assertTrue(widget, leaks)
        self.assertEqual(widget[0]["stack"][0]["function"], "app::make_widget()")
        collapsed = os.path.join(ARGS.work, "names.folded")
        rcgc("flamegraph", "--collapsed", "-o", collapsed, "--by", "total", self.capture)
        with open(collapsed) as fh:
            text = fh.read()
        self.assertIn("app::make_widget()", text)
        self.assertNotIn("operator new", text)

    def test_bad_alloc_fn(self):
        p = subprocess.run([ARGS.rcgc, "top", "--alloc-fn", "", self.capture],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--alloc-fn takes a function name", p.stderr)

    def test_stripped_frames_are_named_by_place(self):
        strip = shutil.which("strip")
        if not strip:
            self.skipTest("strip is not installed")
        stripped = os.path.join(ARGS.work, "names_prog_stripped")
        shutil.copy(ARGS.prog, stripped)
        subprocess.run([strip, "--strip-all", stripped], check=True)
        capture = record(stripped, "names_stripped.cap")
        text = rcgc("top", "-n", "50", capture)
        self.assertNotIn("??", text)
        self.assertRegex(text, r"names_prog_stripped\+0x[0-9a-f]+")
        # operator new still folds: it is named by libstdc++'s own symbols
        self.assertNotIn("operator new", text)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--work", required=True)
    ARGS, rest = ap.parse_known_args()
    os.makedirs(ARGS.work, exist_ok=True)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
