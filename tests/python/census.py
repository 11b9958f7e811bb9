"""census.py — known numbers of objects alive at exit, for rcgc's census.

    census.py EXPECTED.json

Keeps instances of its own classes (with a __dict__, with __slots__, a
tuple subclass whose objects are over pymalloc's 512 bytes, two classes
named Node in two modules, a nested class, one whose __module__ is not a
str, one with a Python __sizeof__), dicts and lists, and puts a cycle of
objects with __del__ into gc.garbage (gc.DEBUG_SAVEALL); then writes what
gc.get_objects() and sys.getsizeof say about them, and about the whole
interpreter (gc.get_objects() and the untracked objects reachable from
them by gc.get_referents), at the end of the script (the census is taken
after it, at exit, before finalization).
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


class Node:
    pass


class Outer:
    class Inner:
        pass


class OddModule:
    __module__ = 5


class PySized:
    def __sizeof__(self):  # Python code: the census uses object.__sizeof__
        return 10 ** 6


class Plain:
    pass


OtherNode = {}
exec("class Node:\n    pass\n", {"__name__": "census_other"}, OtherNode)
OtherNode = OtherNode["Node"]

leaves = [Leaf(i) for i in range(N_LEAF)]
slotted = [Slotted() for _ in range(N_SLOTTED)]
big = [BigTuple(range(2000)) for _ in range(N_BIG)]
dicts = [{"k": i} for i in range(N_DICT)]
lists = [[i, i] for i in range(N_LIST)]
nodes = [Node() for _ in range(40)] + [OtherNode() for _ in range(60)]
inner = [Outer.Inner() for _ in range(10)]
odd = [OddModule() for _ in range(30)]
pysized = [PySized() for _ in range(20)]
plain = Plain()

gc.set_debug(gc.DEBUG_SAVEALL)
for _ in range(N_CYCLES):
    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
del a, b
gc.collect()
gc.set_debug(0)


def census_name(cls):
    """A type as the census names it: repr(cls)'s name."""
    if not cls.__flags__ & (1 << 9):  # a static type: tp_name
        return cls.__module__ + "." + cls.__name__ if cls.__module__ != "builtins" \
            else cls.__name__
    module = cls.__dict__.get("__module__")
    if isinstance(module, str) and module != "builtins":
        return module + "." + cls.__qualname__
    return cls.__qualname__


def interpreter():
    """Objects by type: gc.get_objects() and the untracked objects reachable
    from them (the census also follows non-GC objects' members: more str
    and tuple)."""
    objects = gc.get_objects()
    seen, stack, out = set(), list(objects), {}
    for o in objects:
        if o is not objects:
            out[census_name(type(o))] = out.get(census_name(type(o)), 0) + 1
    while stack:
        for r in gc.get_referents(stack.pop()):
            if not gc.is_tracked(r) and id(r) not in seen:
                seen.add(id(r))
                stack.append(r)
                out[census_name(type(r))] = out.get(census_name(type(r)), 0) + 1
    return out


def own(cls, n, sample, size=None):
    count = sum(type(o) is cls for o in objects)
    return [count, n * (size or sys.getsizeof(sample))]


objects = gc.get_objects()
cycle = next(o for o in gc.garbage if type(o) is Cycle)
garbage = {}
for o in gc.garbage:
    garbage[census_name(type(o))] = garbage.get(census_name(type(o)), 0) + 1
expected = {
    "own": {
        # [objects, bytes]
        "__main__.Leaf": own(Leaf, N_LEAF, leaves[0]),
        "__main__.Slotted": own(Slotted, N_SLOTTED, slotted[0]),
        "__main__.BigTuple": own(BigTuple, N_BIG, big[0]),
        "__main__.Cycle": own(Cycle, 2 * N_CYCLES, cycle),
        "__main__.Node": own(Node, 40, nodes[0]),
        "census_other.Node": own(OtherNode, 60, nodes[-1]),
        "__main__.Outer.Inner": own(Outer.Inner, 10, inner[0]),
        "OddModule": own(OddModule, 30, odd[0]),
        "__main__.PySized": own(PySized, 20, None, sys.getsizeof(plain)),
    },
    "at_least": {"dict": N_DICT, "list": N_LIST},
    # lists made after gc.get_objects (its result, this dict's): a few more
    "at_most": {"list": sum(type(o) is list for o in objects) + 10},
    "garbage": garbage,
}
del objects
expected["interpreter"] = interpreter()
with open(sys.argv[1], "w") as f:
    json.dump(expected, f)
# last (gc.collect empties the free lists): lists freed onto the free
# list, dead at exit with their type intact, not to be counted
dead = [[i] for i in range(100)]
del dead
