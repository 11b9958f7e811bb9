# String formatting: f-strings, str.format, %-formatting and join.
rows = []
for i in range(600000):
    rows.append(f"{i:>8} {i / 7:10.3f} {hex(i)}")
    if i % 3 == 0:
        rows.append("{}-{:04d}-{!r}".format("id", i % 10000, str(i)))
    if i % 5 == 0:
        rows.append("%s=%d (%.2f%%)" % ("k", i, i / 3000))
text = "\n".join(rows)
assert len(text) > 1000000
