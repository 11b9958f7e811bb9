# A program with its own profile hook (sys.setprofile) and a trace of its
# own lines (sys.settrace): what it counts must not change under rcgc run.
import sys

calls = {}
lines = [0]


def profile(frame, event, arg):
    if event == "call":
        calls[frame.f_code.co_name] = calls.get(frame.f_code.co_name, 0) + 1


def trace(frame, event, arg):
    if event == "line":
        lines[0] += 1
    return trace


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


sys.setprofile(profile)
fib(15)
sys.setprofile(None)
sys.settrace(trace)
fib(10)
sys.settrace(None)
print(sorted(calls.items()), lines[0])
