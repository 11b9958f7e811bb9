#!/usr/bin/env python3
"""Write a JSON document for json_load and its benchmark: a list of records
like an API dump (ids, names with some non-ASCII text and escapes, floats,
booleans, null, nested lists and dicts, and now and then an int beyond
64 bits).  Deterministic for a given seed.

Usage: gen_json.py RECORDS [SEED] > doc.json
"""
import json
import random
import sys

WORDS = ["alpha", "beta", "gamma", "delta", "épsilon", "zeta", "ηta", "theta",
         "iota", "kappa", "lambda", "mu", "日本", "tab\there", "quote\"d", "emoji \U0001F600"]


def record(rng, i):
    r = {
        "id": i,
        "name": f"{rng.choice(WORDS)}-{rng.randint(0, 99999)}",
        "score": round(rng.uniform(-1000, 1000), rng.randint(0, 6)),
        "active": rng.random() < 0.5,
        "parent": None if rng.random() < 0.3 else rng.randint(0, i + 1),
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 4))],
        "pos": {"x": rng.random() * 1e6, "y": -rng.random(), "z": rng.randint(-2**31, 2**31)},
    }
    if rng.random() < 0.05:
        r["big"] = rng.choice([2**64, -2**70, 3**50, 10**30]) + rng.randint(0, 10**6)
    if rng.random() < 0.1:
        r["history"] = [{"t": rng.randint(0, 10**9), "v": rng.random()} for _ in range(rng.randint(1, 5))]
    return r


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    out = sys.stdout
    out.write("[\n")
    for i in range(n):
        out.write(json.dumps(record(rng, i), ensure_ascii=rng.random() < 0.5))
        out.write(",\n" if i + 1 < n else "\n")
    out.write("]\n")


main()
