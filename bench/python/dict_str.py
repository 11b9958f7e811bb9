# Allocation-heavy: a million str keys and one-item lists (issue 15's case).
d = {}
for i in range(10**6):
    d[str(i)] = [i]
