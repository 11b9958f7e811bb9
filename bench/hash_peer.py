"""hash_peer.py — the CPython side of bench_hash: hashing fresh bytes
objects, and loading 16-byte str keys into a dict, timed with
time.thread_time_ns (CPU time, as the C side: the machine is shared).

bench_hash runs it once per timed run and reads the one line it prints:

    python3 -I -S hash_peer.py hash LEN N
        result hash_ns=<ns per hash()> call_ns=<ns per id()>
      N distinct bytes objects of LEN bytes, made untimed, hashed once
      each (CPython caches a bytes hash: only the first hash() computes
      it) through map(hash, ...); call_ns times map(id, ...) over the
      same objects just before (after one untimed pass that brings them
      into cache), the cost of the call machinery alone.
    python3 -I -S hash_peer.py load FILE
        result n=<keys> ns=<ns per key>
      FILE holds 16-byte ASCII keys back to back; each becomes a str
      (untimed), then d[key] = i for all of them (timed).
    python3 -I -S hash_peer.py version
        version=<x.y.z> impl=<name> exe=<path>
"""
import collections
import sys
import time


def time_map(fn, objs):
    t0 = time.thread_time_ns()
    collections.deque(map(fn, objs), 0)
    return time.thread_time_ns() - t0


def hash_fresh(length, n):
    pad = b"x" * max(0, length - 12)
    fresh = [b"%012d" % i + pad for i in range(n)]
    time_map(id, fresh)  # touch every object first, as the C side does
    call_ns = time_map(id, fresh)
    hash_ns = time_map(hash, fresh)
    print(f"result hash_ns={hash_ns / n:.2f} call_ns={call_ns / n:.2f}")


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    keys = [raw[i:i + 16].decode("ascii") for i in range(0, len(raw), 16)]
    d = {}
    t0 = time.thread_time_ns()
    for i, k in enumerate(keys):
        d[k] = i
    t1 = time.thread_time_ns()
    if len(d) != len(keys):
        sys.exit("duplicate keys")
    print(f"result n={len(keys)} ns={(t1 - t0) / len(keys):.2f}")


def main():
    args = sys.argv[1:]
    if args == ["version"]:
        import platform
        print(f"version={platform.python_version()} "
              f"impl={platform.python_implementation()} exe={sys.executable}")
    elif len(args) == 3 and args[0] == "hash":
        hash_fresh(int(args[1]), int(args[2]))
    elif len(args) == 2 and args[0] == "load":
        load(args[1])
    else:
        sys.exit("usage: hash_peer.py hash LEN N | load FILE | version")


if __name__ == "__main__":
    main()
