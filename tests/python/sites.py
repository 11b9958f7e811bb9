# Allocation sites at known lines for tests/python/check.py: each line that
# allocates much is marked "SITE name"; the check finds the lines here.
import json
import sqlite3
import sys
import threading


class Point:
    def __init__(self, i):
        self.coords = [i, i + 1, i + 2] * 8  # SITE init


def squares(n):
    return [str(i * i) * 4 for i in range(n)]  # SITE comprehension


def chunks(n):
    for i in range(n):
        yield bytearray(300 + i % 7)  # SITE generator


def worker(out, n):
    out.append([("w%d" % i) * 5 for i in range(n)])  # SITE thread


def encode(n):
    return json.dumps({str(i): [i] * 3 for i in range(n)})  # SITE json


def database(n):
    db = sqlite3.connect(":memory:")
    db.execute("create table t (a integer, b text)")
    db.executemany("insert into t values (?, ?)", ((i, "x" * 50) for i in range(n)))  # SITE sqlite
    db.execute("create index ti on t (b, a)")
    return db


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    points = [Point(i) for i in range(n)]
    sq = squares(n)
    gen = list(chunks(n))
    out = []
    threads = [threading.Thread(target=worker, args=(out, n)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text = encode(n)
    db = database(n)
    return points, sq, gen, out, text, db


if __name__ == "__main__":
    keep = main()
