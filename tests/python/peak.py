# A peak made in the mem and obj domains, for check.py's comparison with
# tracemalloc: with an argument, tracemalloc traces from here and its
# figures are printed.
import sys
import tracemalloc

if len(sys.argv) > 1:
    tracemalloc.start()
keep = [str(i) * 3 for i in range(100000)]  # SITE start
table = {i: [i, str(i)] for i in range(100000)}
del keep
buffers = [bytearray(100) for i in range(20000)]
if len(sys.argv) > 1:
    current, peak = tracemalloc.get_traced_memory()
    print("tracemalloc", current, peak)
