"""``walk``: every node of a syntax tree, in ``ast.walk``'s order, at less cost.

The transform walks its trees many times over (activity, shape classes, dead code), and
``ast.walk`` spends most of its time in generators; this one keeps one list.
"""
from ast import AST
from typing import Iterator


def walk(root: AST) -> Iterator[AST]:
    """Yield ``root`` and all nodes below it, breadth first, like ``ast.walk``."""
    todo = [root]
    append = todo.append
    for node in todo:           # the list grows while it is read: that is the queue
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        append(item)
            elif isinstance(value, AST):
                append(value)
