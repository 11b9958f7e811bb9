"""trace_peer.py — the CPython side of bench_trace: the same allocation
loop shape as rcgc's, 20 Python frames deep, timed without tracing and
under tracemalloc.

bench_trace runs it once per timed run, in a fresh interpreter:

    python3 -I -S [-X tracemalloc=N] trace_peer.py loop ITERS

and reads the one line it prints:

    result iters=<ITERS> ns=<timed ns> tracing=<0|1> frames=<limit>

The loop (bottom(), under 19 frames of chain()): each iteration creates a
small object (a class with three slots, like rcgc's 24-byte "record") and
a 64-byte bytes object (rcgc: rc_mem_alloc(h, 64)) and drops both, except
that every 16th pair survives in a ring of 4096 (replacing the pair
there).  A warm-up of ITERS/10 iterations fills the ring first; the timed
part is the thread's CPU time (time.thread_time_ns), as in bench_trace.

    version  the interpreter: version=<x.y.z> exe=<path>

Exit status 1 on a wrong result.
"""
import sys
import time

DEPTH = 20        # frames of the chain, bottom() included
RING = 4096       # survivors kept
KEEP_EVERY = 16   # one object in KEEP_EVERY survives


class Item:
    __slots__ = ("next", "id", "value")


def bottom(n, ring, blocks):
    check = 0
    for i in range(n):
        r = Item()
        buf = bytes(64)
        r.id = i
        check += len(buf)
        if i % KEEP_EVERY == 0:
            k = (i // KEEP_EVERY) % RING
            ring[k] = r
            blocks[k] = buf
    return check


def chain(depth, n, ring, blocks):
    if depth == 1:
        return bottom(n, ring, blocks)
    return chain(depth - 1, n, ring, blocks)  # CPython never makes this a jump


def loop(n):
    ring, blocks = [None] * RING, [None] * RING
    chain(DEPTH, max(n // 10, 1), ring, blocks)  # warm-up
    t0 = time.thread_time_ns()
    check = chain(DEPTH, n, ring, blocks)
    t1 = time.thread_time_ns()
    if check != 64 * n:
        sys.exit(f"trace_peer: check {check}, want {64 * n}")
    try:
        import tracemalloc
        tracing, frames = int(tracemalloc.is_tracing()), tracemalloc.get_traceback_limit()
    except ImportError:
        tracing, frames = 0, 0
    print(f"result iters={n} ns={t1 - t0} tracing={tracing} frames={frames}")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "version":
        import platform
        print(f"version={platform.python_version()} exe={sys.executable}")
    elif what == "loop" and len(sys.argv) == 3:
        loop(int(sys.argv[2]))
    else:
        sys.exit("usage: trace_peer.py loop ITERS | version")


if __name__ == "__main__":
    main()
