"""gc_peer.py — the CPython side of bench_gc: the same object-graph shapes,
built from a class with two slots, timed with time.perf_counter_ns
(time.thread_time_ns with `cpu`).

bench_gc runs it once per timed run (python3 -I -S gc_peer.py WORKLOAD N,
with a third argument `cpu` under bench_gc --cpu: then the clock is
time.thread_time_ns) and reads the one line it prints:

    result objects=<count> ns=<timed ns> first_ns=<ns or -1> own=<count>

Workloads (N is always a number of objects):
  live    a binary tree of N nodes in breadth-first (heap) order, built with
          automatic collection off; one full collection promotes it to the
          oldest generation (first_ns), then one more is timed (ns).
  cycles  N/2 unreachable two-node cycles (a.left = b; b.left = a), built
          with automatic collection off; one full collection is timed.
  churn   N times: create a node and drop it (refcount only, no cycles),
          in a function so that the loop uses a fast local.
  sizes   object sizes:  object=<getsizeof(object())> node=<getsizeof(Node())>
          node_basic=<Node.__basicsize__> tracked=<gc.is_tracked(Node())>
  version the interpreter: version=<x.y.z> impl=<name> exe=<path> (last)

own: tracked objects the interpreter itself holds when the workload starts
(every full collection examines them too).  Exit status 1 on a wrong count.
"""
import gc
import platform
import sys
import time

# The clock of the timed regions; main sets time.thread_time_ns for `cpu`.
clock_ns = time.perf_counter_ns


class Node:
    """Two reference slots and no __init__: slots start empty (like rcgc's
    zeroed payload) and creating one runs no Python code."""
    __slots__ = ("left", "right")


def build_tree(n):
    nodes = [Node() for _ in range(n)]
    for i in range(n):
        node = nodes[i]
        if 2 * i + 1 < n:
            node.left = nodes[2 * i + 1]
        if 2 * i + 2 < n:
            node.right = nodes[2 * i + 2]
    return nodes[0]


def live(n):
    gc.disable()
    root = build_tree(n)
    gc.enable()
    t0 = clock_ns()
    found = gc.collect()
    t1 = clock_ns()
    found += gc.collect()
    t2 = clock_ns()
    if found or root is None:
        sys.exit(f"gc_peer: live: {found} objects collected, want 0")
    return t2 - t1, t1 - t0


def make_cycles(pairs):
    for _ in range(pairs):
        a = Node()
        b = Node()
        a.left = b
        b.left = a


def cycles(n):
    gc.disable()
    make_cycles(n // 2)
    t0 = clock_ns()
    found = gc.collect()
    t1 = clock_ns()
    if found < n // 2 * 2:
        sys.exit(f"gc_peer: cycles: {found} objects collected, want {n}")
    return t1 - t0, -1


def churn(n):
    t0 = clock_ns()
    for _ in range(n):
        o = Node()
    t1 = clock_ns()
    del o
    return t1 - t0, -1


WORKLOADS = {"live": live, "cycles": cycles, "churn": churn}


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "version":
        print(f"version={platform.python_version()} "
              f"impl={platform.python_implementation()} exe={sys.executable}")
    elif what == "sizes":
        print(f"object={sys.getsizeof(object())} node={sys.getsizeof(Node())} "
              f"node_basic={Node.__basicsize__} "
              f"tracked={int(gc.is_tracked(Node()))}")
    elif what in WORKLOADS and (len(sys.argv) == 3 or sys.argv[3:] == ["cpu"]):
        n = int(sys.argv[2])
        if sys.argv[3:] == ["cpu"]:
            global clock_ns
            clock_ns = time.thread_time_ns
        gc.collect()
        own = len(gc.get_objects())
        ns, first = WORKLOADS[what](n)
        objects = n // 2 * 2 if what == "cycles" else n
        print(f"result objects={objects} ns={ns} first_ns={first} own={own}")
    else:
        sys.exit("usage: gc_peer.py live|cycles|churn N [cpu] | sizes | version")


if __name__ == "__main__":
    main()
