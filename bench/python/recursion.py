# Call-heavy: recursion that allocates little (a tuple per leaf).
def walk(n):
    if n < 2:
        return (n,)
    return walk(n - 1) + walk(n - 2)[:0]


for _ in range(10):
    walk(24)
