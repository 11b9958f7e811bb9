"""census_hazards.py — what the census at exit must survive.

Daemon threads still changing objects at exit, a fork child that ends
normally (its own census, with its own objects), a subinterpreter left
alive where the interpreter allows it (3.13), a class with a Python __sizeof__
and one whose __module__ is not a str.  check.py wants the output, exit
0, and a census in the parent's and the child's capture.
"""
import os
import sys
import threading
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # 3.12's: fork with threads running


class Churn:
    pass


class PySized:
    def __sizeof__(self):  # not run by the census (no Python code runs)
        raise RuntimeError("called")


class OddModule:
    __module__ = 5


def churn():
    mine = []
    while True:  # a daemon: still running when the census walks
        mine.append({str(len(mine)): Churn()})
        if len(mine) > 500:
            mine.clear()


for _ in range(4):
    threading.Thread(target=churn, daemon=True).start()
sized = [PySized() for _ in range(20)]
odd = [OddModule() for _ in range(30)]

pid = os.fork()
if pid == 0:
    class ChildOnly:
        pass
    child = [ChildOnly() for _ in range(50)]
    sys.exit(0)  # atexit runs: the child's census
_, status = os.waitpid(pid, 0)


def subinterpreters():
    """The module that makes subinterpreters (3.8-3.12, 3.13), or None."""
    for name in ("_xxsubinterpreters", "_interpreters"):
        try:
            return __import__(name)
        except ImportError:
            pass
    return None


interpreters = subinterpreters()
if interpreters:
    sub = interpreters.create()
    interpreters.run_string(sub, "keep = [str(i) for i in range(1000)]")
    if sys.version_info < (3, 13):  # these end with a fatal error if one is left
        interpreters.destroy(sub)
print("done", status)
