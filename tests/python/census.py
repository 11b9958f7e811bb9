"""census.py — known numbers of objects alive at exit, for rcgc's census.

    census.py EXPECTED.json

Keeps instances of its own classes (with a __dict__, with __slots__, a
tuple subclass whose objects are over pymalloc's 512 bytes), dicts and
lists, and puts a cycle of objects with __del__ into gc.garbage
(gc.DEBUG_SAVEALL); then writes what gc.get_objects() and sys.getsizeof
say about them, at the end of the script (the census is taken after it,
at exit, before finalization).
"""
import gc
import json
import sys

N_LEAF, N_SLOTTED, N_BIG, N_DICT, N_LIST, N_CYCLES = 1000, 700, 30, 3000, 2000, 5


class Leaf:
    def __init__(self, i):
        self.i = i


class Slotted:
    __slots__ = ("a", "b")


class BigTuple(tuple):
    pass


class Cycle:
    def __del__(self):
        pass


leaves = [Leaf(i) for i in range(N_LEAF)]
slotted = [Slotted() for _ in range(N_SLOTTED)]
big = [BigTuple(range(2000)) for _ in range(N_BIG)]
dicts = [{"k": i} for i in range(N_DICT)]
lists = [[i, i] for i in range(N_LIST)]

gc.set_debug(gc.DEBUG_SAVEALL)
for _ in range(N_CYCLES):
    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
del a, b
gc.collect()
gc.set_debug(0)


def block_size(o):
    """The bytes of o's block, as sys.getsizeof counts them (the GC header
    and 3.11+'s pre-header included), but for what it leaves out:
    PyType_GenericAlloc's extra item (a sentinel) in a variable-size heap
    type's object, and 3.13's inline attribute values, whose room depends
    on the class's shared keys when the object was made (None: a bound)."""
    if type(o).__flags__ & (1 << 2) and sys.version_info >= (3, 13):
        return None
    return sys.getsizeof(o) + type(o).__itemsize__ * (type(o).__base__ is not object)


def own(cls, n, sample):
    count = sum(type(o) is cls for o in objects)
    size = block_size(sample)
    return [count, n * size if size is not None else None, n * sys.getsizeof(sample)]


objects = gc.get_objects()
cycle = next(o for o in gc.garbage if type(o) is Cycle)
garbage = {}
for o in gc.garbage:
    garbage[type(o).__name__] = garbage.get(type(o).__name__, 0) + 1
expected = {
    "own": {
        # [objects, bytes exactly (None: unknown), bytes at least]
        "Leaf": own(Leaf, N_LEAF, leaves[0]),
        "Slotted": own(Slotted, N_SLOTTED, slotted[0]),
        "BigTuple": own(BigTuple, N_BIG, big[0]),
        "Cycle": own(Cycle, 2 * N_CYCLES, cycle),
    },
    "at_least": {"dict": N_DICT, "list": N_LIST},
    # lists made after gc.get_objects (its result, this dict's): a few more
    "at_most": {"list": sum(type(o) is list for o in objects) + 10},
    "garbage": garbage,
}
with open(sys.argv[1], "w") as f:
    json.dump(expected, f)
# last (gc.collect empties the free lists): lists freed onto the free
# list, dead at exit with their type intact, not to be counted
dead = [[i] for i in range(100)]
del dead
