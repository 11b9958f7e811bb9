"""types_peer.py — the CPython side of bench_types: the same built-in-type
workloads as bench_types.c, built from Python's own int, float, str, list
and dict, timed with time.perf_counter_ns.

bench_types runs it once per timed run and once for memory
(python3 -I -S types_peer.py WORKLOAD N MODE) and reads the one line it
prints:

    time:  result items=<count> build_ns=<ns> drop_ns=<ns>
    mem:   result items=<count> traced=<bytes> blocks=<bytes>
    churn: result ns=<ns>                (MODE is list or dict)

Workloads (N is a number of items; the C side builds the same values):
  ints    [i for i in range(10**6, 10**6 + N)]: N distinct ints outside
          every small-int cache, held in a list
  floats  [i * 0.5 for i in range(N)]: N floats in a list
  small   [i % 1000 for i in range(N)]: N references to ints below 1000
          (CPython caches only -5..256: the rest are objects of their own)
  dict    {f"key{i}": i for i in range(N)}: N str keys to int values
  doc     a JSON-like tree of about N nodes (doc() below; the C generator
          is the same, node for node)
  churn   N times: make a list and append 3 ints, drop it (MODE list); or
          make a dict and set 2 str keys, drop it (MODE dict)
  version the interpreter: version=<x.y.z> impl=<name> exe=<path>

The forms are the idiomatic fast ones (comprehensions, constant keys), so
the interpreter is not charged for avoidable bytecode.  Building and
dropping run with automatic collection on, as rcgc's do.

Memory (MODE mem) runs in its own process, tracemalloc started before the
build, so that tracing never slows a timed run:
  traced  tracemalloc.get_traced_memory() delta of the build: the bytes
          the interpreter asked for (PyObject_Malloc requests);
  blocks  the same traces rounded to what the allocator really hands out:
          pymalloc's 16-byte classes up to 512 B, glibc's 16-byte chunks
          with an 8-byte header above that.  rcgc's live bytes count
          blocks too, so this is the like-for-like figure.
Exit status 1 on a wrong count.

For bench_hash (thread CPU time, time.thread_time_ns, as its C side):
  hash LEN N   N distinct bytes objects of LEN bytes, made untimed, hashed
               once each through map(hash, ...) (CPython caches a bytes
               hash: only the first hash() computes it); call_ns times
               map(id, ...) over the same objects just before (after one
               untimed pass that brings them into cache): the call
               machinery alone.  Prints: result hash_ns=<ns> call_ns=<ns>
  load FILE    FILE holds 16-byte ASCII keys back to back; each becomes a
               str (untimed), then d[key] = i for all of them (timed).
               Prints: result n=<keys> ns=<ns per key>
"""
import collections
import gc
import itertools
import sys
import time

INT_BASE = 10**6
TAGS = ("red", "green", "blue", "admin", "guest")
FANOUT = (4, 3, 0)  # children of a record at depth 0, 1, 2


def ints(n):
    return [i for i in range(INT_BASE, INT_BASE + n)]


def floats(n):
    return [i * 0.5 for i in range(n)]


def small(n):
    return [i % 1000 for i in range(n)]


def str_dict(n):
    return {f"key{i}": i for i in range(n)}


def doc_nodes_per_top():
    """JSON nodes under one top-level record: each record is a dict (1),
    five scalars, a tags list with 2 strings (3) and a children list (1)."""
    records, width = 0, 1
    for depth in range(len(FANOUT)):
        records += width
        width *= FANOUT[depth]
    return 10 * records


def doc(n):
    """{"version": 1, "records": [...]}: top-level records (each with 4
    children of 3 children each) until the tree has at least n nodes."""
    nxt = itertools.count().__next__

    def record(depth):
        i = nxt()
        return {"id": i, "name": f"node{i}", "score": (i % 1000) * 0.25,
                "active": i % 2, "rank": i % 1000,
                "tags": [TAGS[i % 5], TAGS[i // 5 % 5]],
                "children": [record(depth + 1) for _ in range(FANOUT[depth])]}

    per_top = doc_nodes_per_top()
    tops = max(0, -(-(n - 3) // per_top))
    return {"version": 1, "records": [record(0) for _ in range(tops)]}


def doc_items(n):
    return 3 + max(0, -(-(n - 3) // doc_nodes_per_top())) * doc_nodes_per_top()


BUILD = {"ints": ints, "floats": floats, "small": small, "dict": str_dict,
         "doc": doc}


def items_of(what, n, obj):
    if what == "doc":
        if len(obj["records"]) * doc_nodes_per_top() + 3 != doc_items(n):
            sys.exit("types_peer: doc: wrong shape")
        return doc_items(n)
    if len(obj) != n:
        sys.exit(f"types_peer: {what}: {len(obj)} items, want {n}")
    return n


def timed(what, n):
    build = BUILD[what]
    gc.collect()
    t0 = time.perf_counter_ns()
    obj = build(n)
    t1 = time.perf_counter_ns()
    items = items_of(what, n, obj)
    t2 = time.perf_counter_ns()
    del obj
    t3 = time.perf_counter_ns()
    print(f"result items={items} build_ns={t1 - t0} drop_ns={t3 - t2}")


def block_bytes(size):
    if size <= 512:
        return (size + 15) & ~15
    return max(32, (size + 8 + 15) & ~15)


def traced_blocks(tracemalloc):
    """Sum of block_bytes over every live trace (the snapshot's own
    objects are made after its copy of the traces: not counted)."""
    traces = tracemalloc.take_snapshot().traces
    raw = getattr(traces, "_traces", None)
    sizes = (t[1] for t in raw) if raw is not None else (t.size for t in traces)
    return sum(block_bytes(s) for s in sizes)


def memory(what, n):
    import tracemalloc  # here: its imports would slow every timed run's start
    build = BUILD[what]
    gc.collect()
    tracemalloc.start()
    blocks0 = traced_blocks(tracemalloc)
    gc.collect()
    traced0 = tracemalloc.get_traced_memory()[0]
    obj = build(n)
    traced1 = tracemalloc.get_traced_memory()[0]
    items = items_of(what, n, obj)
    blocks1 = traced_blocks(tracemalloc)
    tracemalloc.stop()
    print(f"result items={items} traced={traced1 - traced0} "
          f"blocks={blocks1 - blocks0}")


def churn_list(n):
    for _ in itertools.repeat(None, n):
        lst = []
        lst.append(1)
        lst.append(2)
        lst.append(3)
        del lst


def churn_dict(n):
    for _ in itertools.repeat(None, n):
        d = {}
        d["a"] = 1
        d["b"] = 2
        del d


def churn(mode, n):
    fn = churn_list if mode == "list" else churn_dict
    t0 = time.perf_counter_ns()
    fn(n)
    t1 = time.perf_counter_ns()
    print(f"result ns={t1 - t0}")


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
    elif len(args) == 3 and args[0] in BUILD and args[2] in ("time", "mem"):
        (timed if args[2] == "time" else memory)(args[0], int(args[1]))
    elif len(args) == 3 and args[0] == "churn" and args[2] in ("list", "dict"):
        churn(args[2], int(args[1]))
    elif len(args) == 3 and args[0] == "hash":
        hash_fresh(int(args[1]), int(args[2]))
    elif len(args) == 2 and args[0] == "load":
        load(args[1])
    else:
        sys.exit("usage: types_peer.py ints|floats|small|dict|doc N time|mem"
                 " | churn N list|dict | hash LEN N | load FILE | version")


if __name__ == "__main__":
    main()
