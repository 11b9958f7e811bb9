"""census_frozen.py — objects frozen by gc.freeze() in rcgc's census.

    census_frozen.py EXPECTED.json

Freezes instances of a class, a list of objects that are not GC objects
(an int subclass with empty __slots__: reached only through the frozen
list) and a garbage cycle whose __del__ prints (frozen garbage is never
collected, so it never prints: the census must not change that), then
makes instances of another class; writes the counts the census must give
and the modules in sys.modules (all frozen: imported before the freeze).
"""
import gc
import json
import sys

N_BEFORE, N_ATOMS, N_AFTER = 400, 300, 200


class Before:
    pass


class After:
    pass


class Atom(int):
    __slots__ = ()


class Finalized:
    def __del__(self):
        print("finalized")


before = [Before() for _ in range(N_BEFORE)]
atoms = [Atom(i) for i in range(N_ATOMS)]
a, b = Finalized(), Finalized()
a.other, b.other = b, a
del a, b
gc.disable()  # the cycle stays garbage until the freeze
gc.freeze()
gc.enable()
after = [After() for _ in range(N_AFTER)]
frozen = gc.get_freeze_count()
modules = len({id(m) for m in sys.modules.values()})
with open(sys.argv[1], "w") as f:
    json.dump({"own": {"__main__.Before": N_BEFORE, "__main__.Atom": N_ATOMS,
                       "__main__.After": N_AFTER, "__main__.Finalized": 2},
               "frozen": frozen, "modules": modules}, f)
print("done", frozen > N_BEFORE)
