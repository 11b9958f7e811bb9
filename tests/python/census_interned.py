"""census_interned.py N — N strings held by sys.intern's table alone.

Each is interned immortal (PyUnicode_InternImmortal, through ctypes: the
C API every version 3.8-3.13 exports) and dropped: no object refers to it,
only the table does (as the interpreter's own names kept by C arrays,
and in 3.12 every string interned).  rcgc's census must count them: its
str count with N strings exceeds the count without by N.
"""
import ctypes
import sys

intern_immortal = ctypes.pythonapi.PyUnicode_InternImmortal
intern_immortal.argtypes = [ctypes.POINTER(ctypes.py_object)]
intern_immortal.restype = None


def fresh(n):
    yield "warm-up"  # the first call may import what ctypes needs: both runs make it
    for i in range(n):
        yield "held by the interned table alone %d" % i


for name in fresh(int(sys.argv[1])):
    s = ctypes.py_object(name)
    intern_immortal(ctypes.byref(s))
    del s, name
print("done")
