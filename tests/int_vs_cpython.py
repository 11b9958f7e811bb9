#!/usr/bin/env python3
"""Differential test of rcgc's ints against CPython's.

Generates random int expressions (fixed seed), has tests/test_int_calc
evaluate them with rcgc, and compares each answer with Python's own.
Usage: int_vs_cpython.py PATH/TO/test_int_calc [COUNT]
"""
import random
import subprocess
import sys

OPS = ["+", "-", "*", "/", "%", "n"]  # "/" is //, "n" is negation


def leaf(rng):
    kind = rng.random()
    if kind < 0.25:
        v = rng.randint(-300, 1100)  # around the small-int cache
    elif kind < 0.5:  # around the edges of int64 and uint64
        v = rng.choice([2**63, 2**64, 2**32, 2**31, 2**95]) + rng.randint(-2, 2)
    else:
        v = rng.getrandbits(rng.randint(1, 600))
    return -v if rng.random() < 0.5 else v


def expression(rng, depth):
    """(tokens in postfix order, value or the name of Python's exception)"""
    if depth == 0 or rng.random() < 0.3:
        v = leaf(rng)
        return [str(v)], v
    op = rng.choice(OPS)
    ta, a = expression(rng, depth - 1)
    if op == "n":
        return ta + ["n"], a if isinstance(a, str) else -a
    tb, b = expression(rng, depth - 1)
    if rng.random() < 0.05:
        tb, b = ["0"], 0
    if isinstance(a, str) or isinstance(b, str):
        return ta + tb + [op], a if isinstance(a, str) else b
    try:
        v = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
             "/": lambda: a // b, "%": lambda: a % b}[op]()
    except ZeroDivisionError:
        v = "ZeroDivisionError"
    return ta + tb + [op], v


def main():
    calc = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(17)
    lines, expected = [], []
    for _ in range(count):
        if rng.random() < 0.2:
            a, b = leaf(rng), leaf(rng)
            if rng.random() < 0.2:
                b = a
            lines.append(f"c {a} {b}")
            expected.append(str((a > b) - (a < b)))
            continue
        tokens, v = expression(rng, 4)
        lines.append("e " + " ".join(tokens))
        expected.append("error RC_EVALUE" if v == "ZeroDivisionError" else str(v))
    out = subprocess.run([calc], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    if len(out) != len(expected):
        sys.exit(f"int_vs_cpython: {len(out)} answers for {len(expected)} questions")
    bad = [(l, e, o) for l, e, o in zip(lines, expected, out) if e != o]
    for l, e, o in bad[:5]:
        print(f"MISMATCH: {l}\n  python: {e}\n  rcgc:   {o}")
    if bad:
        sys.exit(f"int_vs_cpython: {len(bad)} of {len(lines)} differ")
    print(f"int_vs_cpython: {len(lines)} expressions agree with CPython {sys.version.split()[0]}")


main()
