#!/usr/bin/env python3
"""The evaluator of examples/evaluator.c, in Python: the same language, the
same program, the same data structures (an environment is a dict of
variables and a parent; a closure holds its parameters, body and
environment; memo is a weakref.WeakValueDictionary).  Prints the same
results and the same report, timing the collector with gc.callbacks.

Usage: evaluator.py [N [T0]]   (T0: gc.set_threshold(T0))
"""
import gc
import re
import resource
import sys
import time
import weakref

PROGRAM = """(define (make-adder n)
  (define (add k) (if (< 0 k) (add (- k 1)) (+ n k)))
  add)
(define (fact n) (if (< n 2) 1 (* n (fact (- n 1)))))
(define (loop i acc)
  (if (= i 0) acc
      (loop (- i 1) (+ acc (+ ((make-adder (% i 97)) 3)
                              ((memo (% i 89) (lambda () (make-adder (% i 89)))) 1))))))
(loop N 0)
(fact 30)
"""


class Env:
    __slots__ = ("vars", "parent")

    def __init__(self, parent):
        self.vars = {}
        self.parent = parent


class Closure:
    """Points into the form that made it, as in the C version: parameters
    params[params_from:], body body[2:]."""
    __slots__ = ("params", "params_from", "body", "env", "__weakref__")

    def __init__(self, params, params_from, body, env):
        self.params, self.params_from, self.body, self.env = params, params_from, body, env


PRIMS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
         "%": lambda a, b: a % b, "<": lambda a, b: a < b, "=": lambda a, b: a == b}


def read(tokens):
    t = tokens.pop()
    if t == "(":
        out = []
        while tokens[-1] != ")":
            out.append(read(tokens))
        tokens.pop()
        return out
    return int(t) if re.fullmatch(r"-?\d+", t) else sys.intern(t)


class VM:
    def __init__(self):
        self.memo = weakref.WeakValueDictionary()

    def lookup(self, env, sym):
        while env is not None:
            if sym in env.vars:
                return env.vars[sym]
            env = env.parent
        raise NameError(sym)

    def bind(self, c, args):
        if len(c.params) - c.params_from != len(args):
            raise TypeError("wrong number of arguments")
        frame = Env(c.env)
        for i, a in enumerate(args):
            frame.vars[c.params[c.params_from + i]] = a
        return frame

    def call(self, f, args):
        if callable(f):
            return f(*args)
        frame = self.bind(f, args)
        result = None
        for i in range(2, len(f.body)):
            result = self.eval(f.body[i], frame)
        return result

    def eval(self, expr, env):
        while True:  # tail positions loop, as in the C version
            if isinstance(expr, str):
                return self.lookup(env, expr)
            if not isinstance(expr, list):
                return expr
            head = expr[0]
            if head == "define":
                target = expr[1]
                if isinstance(target, list):
                    env.vars[target[0]] = Closure(target, 1, expr, env)
                else:
                    env.vars[target] = self.eval(expr[2], env)
                return None
            if head == "lambda":
                return Closure(expr[1], 0, expr, env)
            if head == "if":
                c = self.eval(expr[1], env)
                expr = expr[2] if c is not False and c is not None and c != 0 else expr[3]
                continue
            if head == "begin":
                for e in expr[1:-1]:
                    self.eval(e, env)
                expr = expr[-1]
                continue
            if head == "memo":
                key = self.eval(expr[1], env)
                v = self.memo.get(key)
                if v is None:
                    v = self.call(self.eval(expr[2], env), [])
                    self.memo[key] = v
                return v
            items = [self.eval(e, env) for e in expr]
            f = items[0]
            if isinstance(f, Closure):
                frame = self.bind(f, items[1:])
                for i in range(2, len(f.body) - 1):
                    self.eval(f.body[i], frame)
                expr, env = f.body[-1], frame
                continue
            return self.call(f, items[1:])


def main():
    n = sys.argv[1] if len(sys.argv) > 1 else "200000"
    source = PROGRAM.replace("(loop N", f"(loop {n}")
    pauses, started = [], [0]

    def on_gc(phase, info):
        if phase == "start":
            started[0] = time.thread_time_ns()
        else:
            pauses.append(time.thread_time_ns() - started[0])

    gc.callbacks.append(on_gc)
    if len(sys.argv) > 2:
        gc.set_threshold(int(sys.argv[2]))
    vm = VM()
    glob = Env(None)
    glob.vars.update({sys.intern(k): v for k, v in PRIMS.items()})
    tokens = source.replace("(", " ( ").replace(")", " ) ").split()[::-1]
    t0 = time.process_time()
    while tokens:
        v = vm.eval(read(tokens), glob)
        if v is not None:
            print(repr(v))
    run = time.process_time() - t0
    total = sum(pauses)
    pauses.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"run_cpu_seconds {run:.4f}\ngc_collections {len(pauses)}\ngc_seconds {total / 1e9:.4f}\n"
          f"gc_share {100 * total / 1e9 / run:.1f}%\n"
          f"pause_max_us {pauses[-1] / 1e3 if pauses else 0:.1f}\n"
          f"pause_p99_us {pauses[(len(pauses) - 1) * 99 // 100] / 1e3 if pauses else 0:.1f}\n"
          f"peak_rss_kib {rss}")


sys.setrecursionlimit(10000)
main()
