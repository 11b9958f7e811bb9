# pyperformance's regex_v8/regex_effbot: search, findall and sub over text.
import re

words = [f"word{i} {i * 37 % 1000}@host{i % 13}.example.org" for i in range(20000)]
text = "\n".join(words)
mail = re.compile(r"(\d+)@host(\d+)\.example\.org")
for _ in range(12):
    found = mail.findall(text)
    swapped = re.sub(r"word(\d+)", r"<\1>", text)
    hits = sum(1 for line in words if re.search(r"host1[0-2]", line))
assert len(found) == 20000 and hits
