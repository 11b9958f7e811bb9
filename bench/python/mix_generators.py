# pyperformance's generators/comprehensions: pipelines of generators,
# list, dict and set comprehensions.
def numbers(n):
    for i in range(n):
        yield i


def pairs(seq):
    it = iter(seq)
    for a in it:
        yield a, next(it, 0)


total = 0
for _ in range(25):
    squares = [x * x for x in numbers(100000)]
    evens = {x: x // 2 for x in squares if x % 2 == 0}
    seen = {x % 1000 for x in evens.values()}
    total += sum(a - b for a, b in pairs(squares)) + len(seen)
assert total
