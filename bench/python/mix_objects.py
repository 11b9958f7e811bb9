# pyperformance's deltablue/richards flavour: a class-heavy object graph,
# built, walked through methods and attributes, dropped.
class Node:
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = []
        self.weight = 1

    def add(self, child):
        self.children.append(child)
        return child

    def total(self):
        return self.weight + sum(c.total() for c in self.children)


class Leaf(Node):
    __slots__ = ()


for _ in range(15):
    root = Node("root")
    for i in range(200):
        branch = root.add(Node(f"b{i}", root))
        for j in range(100):
            branch.add(Leaf(f"l{j}", branch) if j % 2 else Node(f"n{j}", branch))
    assert root.total() == 1 + 200 * 101
