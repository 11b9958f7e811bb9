"""app.py — a small service with a leak and a peak, for the walk-through of
docs/PYTHON.md (`rcgc run -- python3 app.py`; tests/python's `walkthrough`
case runs it and checks what the walk-through shows).

- The leak: render() memoizes every page it renders in a module-level dict
  that nothing ever empties, so memory grows with every new request.
- The peak: monthly_report() loads a month of orders as a list of dicts
  before summing them; the list is freed at once, but for a moment it is
  the biggest thing in the process.
"""
import json

_pages = {}  # (user, page) -> rendered HTML; never emptied


class Order:
    __slots__ = ("id", "customer", "total")

    def __init__(self, i):
        self.id = i
        self.customer = f"customer {i % 5000}"
        self.total = i * 0.25


def render(user, page):
    key = (user, page)
    html = _pages.get(key)
    if html is None:
        items = "".join(f"<li>item {user}-{page}-{i}</li>" for i in range(8))
        html = _pages[key] = f"<ul>{items}</ul>"  # LEAK: every page rendered stays
    return html


def monthly_report(orders):
    rows = [{"id": o.id, "customer": o.customer, "total": o.total} for o in orders]  # PEAK
    return json.dumps({"orders": len(rows), "total": sum(r["total"] for r in rows)})


def serve(first, count):
    return sum(len(render(user, user % 3)) for user in range(first, first + count))


def main():
    orders = [Order(i) for i in range(20000)]  # the month's orders, kept
    served = serve(0, 15000)
    report = monthly_report(orders * 10)
    served += serve(15000, 15000)
    print(f"served {served} bytes; report {report}")


if __name__ == "__main__":
    main()
