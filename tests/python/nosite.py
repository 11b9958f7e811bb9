"""nosite.py — run with -I -S (check.py's nosite case): no site module, so
after start-up the interpreter makes only a few mallocs (pymalloc serves the
rest); the shim must attach to it all the same."""


class Few:
    pass


keep = [Few() for _ in range(50)]  # SITE few
