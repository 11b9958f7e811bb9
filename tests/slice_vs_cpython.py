#!/usr/bin/env python3
"""Differential test of rcgc's slices against CPython's.

Generates random slice operations (fixed seed) on lists, tuples and strs
(ASCII and not), has tests/test_slice_calc run them with rcgc, and
compares each answer with Python's own.
Usage: slice_vs_cpython.py PATH/TO/test_slice_calc [COUNT]
"""
import random
import subprocess
import sys

ALPHABET = "ab\u00e9\u20ac\U0001d11ezx"  # 1, 2, 3 and 4 bytes of UTF-8


def index(rng, n):
    """A slice field: None, near the ends, or far outside."""
    k = rng.random()
    if k < 0.2:
        return None
    if k < 0.9:
        return rng.randint(-n - 3, n + 3)
    return rng.choice([-(2**62), 2**62, -(2**63) + 1, 2**63 - 1])


def step(rng):
    k = rng.random()
    if k < 0.25:
        return None
    if k < 0.3:
        return 0
    if k < 0.35:
        return rng.choice([2**62, -(2**62), -(2**63) + 1])
    return rng.choice([1, 1, 2, 3, -1, -1, -2, -3, 5, -7])


def field(v):
    return "N" if v is None else str(v)


def hexed(s):
    h = s.encode().hex()
    return h if h else ""


def answer_hex(s):
    return s.encode().hex() or "-"


def case(rng):
    """(the line for test_slice_calc, the answer CPython gives)"""
    op = rng.choice("ILTADSCFX")
    n = rng.randint(0, 12)
    sl = slice(index(rng, n), index(rng, n), step(rng))
    fields = " ".join(field(v) for v in (sl.start, sl.stop, sl.step))
    if op == "I":
        try:
            a, b, c = sl.indices(n)
            return f"I {n} {fields}", f"{a} {b} {c} {len(range(a, b, c))}"
        except ValueError:
            return f"I {n} {fields}", "ValueError"
    if op == "X":  # list.index takes ints only (None is a TypeError)
        x = [i % 5 for i in range(n)]
        v, a, b = rng.randint(0, 5), rng.randint(-n - 2, n + 2), rng.randint(-n - 2, n + 2)
        try:
            ans = str(x.index(v, a, b))
        except ValueError:
            ans = "ValueError"
        return f"X {n} {v} {a} {b}", ans
    if op in "LTAD":
        x = list(range(n))
        m = rng.randint(0, 5)
        if op == "A" and rng.random() < 0.5 and sl.step not in (None, 0):
            m = len(range(*sl.indices(n)))  # extended slices need the size
        try:
            if op == "L":
                out = x[sl]
            elif op == "T":
                out = list(tuple(x)[sl])
            elif op == "A":
                x[sl] = range(100, 100 + m)
                out = x
            else:
                del x[sl]
                out = x
            ans = str(out)
        except ValueError:
            ans = "ValueError"
        line = f"{op} {n} {fields}" + (f" {m}" if op == "A" else "")
        return line, ans
    text = "".join(rng.choice(ALPHABET[:2] if rng.random() < 0.3 else ALPHABET)
                   for _ in range(n))
    if op == "S":
        try:
            r = text[sl]
            return f"S {hexed(text) or '-'} {fields}", f"{answer_hex(r)} {len(r)}"
        except ValueError:
            return f"S {hexed(text) or '-'} {fields}", "ValueError"
    if op == "C":
        i = rng.randint(-n - 2, n + 2)
        try:
            return f"C {hexed(text) or '-'} {i}", answer_hex(text[i])
        except IndexError:
            return f"C {hexed(text) or '-'} {i}", "IndexError"
    a, b = index(rng, n), index(rng, n)
    sub = text[rng.randint(0, n):][: rng.randint(0, 2)] if rng.random() < 0.8 else "z"
    return (f"F {hexed(text) or '-'} {hexed(sub) or '-'} {field(a)} {field(b)}",
            str(text.find(sub, a, b)))


def main():
    calc = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    rng = random.Random(17)
    cases = [case(rng) for _ in range(count)]
    run = subprocess.run([calc], input="".join(c[0] + "\n" for c in cases),
                         capture_output=True, text=True, check=False)
    got = run.stdout.splitlines()
    if run.returncode != 0 or len(got) != len(cases):
        sys.exit(f"{calc} exited {run.returncode} after {len(got)} of "
                 f"{len(cases)} answers:\n{run.stderr}")
    bad = [(line, want, have) for (line, want), have in zip(cases, got) if want != have]
    for line, want, have in bad[:10]:
        print(f"{line}: CPython {want!r}, rcgc {have!r}")
    if bad:
        sys.exit(f"{len(bad)} of {len(cases)} answers differ")
    print(f"{len(cases)} slice operations agree with CPython {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
