#!/usr/bin/env python3
"""Differential test of rcgc's ints against CPython's.

Generates random int expressions (fixed seed), has tests/test_int_calc
evaluate them with rcgc, and compares each answer with Python's own:
arithmetic, bitwise operations and shifts, pow with and without a modulus,
true division and float(int) (floats compared exactly).
Usage: int_vs_cpython.py PATH/TO/test_int_calc [COUNT]
"""
import random
import subprocess
import sys

# "/" is //, "n" negation, "~" inversion, "<" and ">" shifts, "p" pow,
# "P" pow with a modulus; "t" (true division) and "f" (float) give floats,
# so they only appear at the top of an expression.
INT_OPS = ["+", "-", "*", "/", "%", "n", "&", "|", "^", "~", "<", ">", "p", "P"]
UNARY = {"n": lambda a: -a, "~": lambda a: ~a}
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a // b, "%": lambda a, b: a % b, "&": lambda a, b: a & b,
          "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, ">": lambda a, b: a >> b,
          "t": lambda a, b: a / b}
# Python's exception -> rcgc's error
ERRORS = {ZeroDivisionError: "RC_EVALUE", ValueError: "RC_EVALUE", OverflowError: "RC_EOVERFLOW"}
MAX_BITS = 12000  # keeps every answer under the 4300-digit limit of str()


class TooBig(Exception):
    pass


def leaf(rng):
    kind = rng.random()
    if kind < 0.25:
        v = rng.randint(-300, 1100)  # around the small-int cache
    elif kind < 0.5:  # around the edges of int64 and uint64
        v = rng.choice([2**63, 2**64, 2**32, 2**31, 2**95]) + rng.randint(-2, 2)
    else:
        v = rng.getrandbits(rng.randint(1, 600))
    return -v if rng.random() < 0.5 else v


def count(rng):
    """A shift count or an exponent: small, sometimes negative or huge."""
    k = rng.random()
    if k < 0.05:
        return -rng.randint(1, 3)
    if k < 0.1:
        return 2**70 + rng.randint(0, 5)
    return rng.randint(0, 70)


def pow2(a, b):
    """Python's a ** b, refused as rcgc does past 2**31 bits (CPython
    would try to compute it)."""
    if b >= 0 and a.bit_length() > 1 and (a.bit_length() - 1) * b >= 2**31:
        raise OverflowError
    if b >= 0 and a.bit_length() * b > MAX_BITS:
        raise TooBig
    return pow(a, b)


def lshift(a, b):
    if b >= 2**31 and a and b >= 0:
        raise OverflowError  # rcgc refuses a result past 2**31 bits
    return a << b


def evaluate(fn, *args):
    """fn's value, or the name of rcgc's error for Python's exception."""
    if any(isinstance(a, str) for a in args):
        return next(a for a in args if isinstance(a, str))
    try:
        v = fn(*args)
    except tuple(ERRORS) as e:
        return ERRORS[type(e)]
    if isinstance(v, int) and v.bit_length() > MAX_BITS:
        raise TooBig
    return v


def expression(rng, depth):
    """(tokens in postfix order, value or rcgc's error name)"""
    if depth == 0 or rng.random() < 0.3:
        v = leaf(rng)
        return [str(v)], v
    op = rng.choice(INT_OPS)
    ta, a = expression(rng, depth - 1)
    if op in UNARY:
        return ta + [op], evaluate(UNARY[op], a)
    if op in "<>p":
        b = count(rng)
        if op == "p" and b < 0:
            b = -b  # a negative power is a float: only at the top
        if op == "p" and rng.random() < 0.1:  # a huge power of 0, 1 or -1
            a, b = rng.choice([0, 1, -1]), 2**70 + rng.randint(0, 5)
            ta = [str(a)]
        fn = {"<": lshift, ">": BINARY[">"], "p": pow2}[op]
        return ta + [str(b), op], evaluate(fn, a, b)
    tb, b = expression(rng, depth - 1)
    if rng.random() < 0.05:
        tb, b = ["0"], 0
    if op == "P":
        if rng.random() < 0.3:
            m = rng.choice([0, 1, -1, 7, -7, 2**64 + 13])
            tm = [str(m)]
        else:
            tm, m = expression(rng, depth - 1)
        return ta + tb + tm + ["P"], evaluate(pow, a, b, m)
    return ta + tb + [op], evaluate(BINARY[op], a, b)


def float_leaf(rng):
    """An int for true division and float(): wide, near ties and limits."""
    kind = rng.random()
    if kind < 0.3:  # a tie or near tie at 53 bits, scaled
        v = ((2**53 + rng.choice([1, 3, 2**52 + 1])) << rng.randint(0, 1100)) + rng.randint(-1, 1)
    elif kind < 0.5:  # around the largest double
        v = (2**1024 - 2**970) + rng.randint(-2**969, 2**969)
    else:
        v = rng.getrandbits(rng.randint(1, 1200))
    return -v if rng.random() < 0.5 else v


def float_line(rng):
    """A float-valued question: (tokens, value or error name)."""
    kind = rng.random()
    if kind < 0.3:
        a = float_leaf(rng)
        return [str(a), "f"], evaluate(float, a)
    if kind < 0.5:
        ta, a = expression(rng, 2)
        b = -rng.randint(1, 5) if rng.random() < 0.9 else -(2**70)
        return ta + [str(b), "p"], evaluate(pow, a, b)
    if kind < 0.65:  # quotients among the subnormals, some of them ties
        a = rng.getrandbits(rng.randint(1, 200)) | 1
        bits = a.bit_length() + rng.randint(1015, 1080)
        b = 1 << bits if rng.random() < 0.3 else 1 << bits | rng.getrandbits(bits)
        a, b = (-a if rng.random() < 0.5 else a), (-b if rng.random() < 0.5 else b)
        return [str(a), str(b), "t"], evaluate(BINARY["t"], a, b)
    a, b = (float_leaf(rng) if rng.random() < 0.5 else leaf(rng) for _ in range(2))
    if rng.random() < 0.05:
        b = 0
    return [str(a), str(b), "t"], evaluate(BINARY["t"], a, b)


def answer(v):
    if isinstance(v, str):
        return "error " + v
    return "float " + repr(v) if isinstance(v, float) else str(v)


def main():
    calc = sys.argv[1]
    count_ = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    rng = random.Random(17)
    lines, expected = [], []
    while len(lines) < count_:
        if rng.random() < 0.15:
            a, b = leaf(rng), leaf(rng)
            if rng.random() < 0.2:
                b = a
            lines.append(f"c {a} {b}")
            expected.append(str((a > b) - (a < b)))
            continue
        try:
            tokens, v = float_line(rng) if rng.random() < 0.25 else expression(rng, 4)
        except TooBig:
            continue
        lines.append("e " + " ".join(tokens))
        expected.append(answer(v))
    out = subprocess.run([calc], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    if len(out) != len(expected):
        sys.exit(f"int_vs_cpython: {len(out)} answers for {len(expected)} questions")
    # rcgc prints a float's exact bits (%a): compare it as the float it is
    out = ["float " + repr(float.fromhex(o[6:])) if o.startswith("float ") else o for o in out]
    bad = [(l, e, o) for l, e, o in zip(lines, expected, out) if e != o]
    for l, e, o in bad[:5]:
        print(f"MISMATCH: {l[:300]}\n  python: {e[:300]}\n  rcgc:   {o[:300]}")
    if bad:
        sys.exit(f"int_vs_cpython: {len(bad)} of {len(lines)} differ")
    kinds = sum(1 for e in expected if e.startswith("float")), sum(1 for e in expected if e.startswith("error"))
    print(f"int_vs_cpython: {len(lines)} questions ({kinds[0]} floats, {kinds[1]} errors) "
          f"agree with CPython {sys.version.split()[0]}")


main()
