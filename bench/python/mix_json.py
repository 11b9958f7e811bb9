# pyperformance's json_dumps/json_loads: a nested document to text and back.
import json

doc = {"users": [{"id": i, "name": f"user{i}", "tags": ["a", "b", str(i % 7)],
                  "score": i * 0.5, "active": i % 2 == 0} for i in range(2000)]}
for _ in range(80):
    text = json.dumps(doc)
    back = json.loads(text)
assert back == doc
