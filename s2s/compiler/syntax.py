"""Small functions over syntax trees that every stage of the compiler shares.

``walk`` yields every node in ``ast.walk``'s order, at less cost: the transform walks its trees
many times over (activity, shape classes, dead code), and ``ast.walk`` spends most of its time
in generators; this one keeps one list. ``copy_tree`` is ``copy.deepcopy`` for syntax trees. ``names_in``, ``loaded_names`` and ``rename_loads``
are the questions and the rewrite that the passes ask of names. ``name``, ``const`` and
``assign`` build the nodes every pass writes (``assign("y", name("x"))`` is ``y = x``);
``dotted`` reads ``np.linalg.norm`` back as a string.
"""
import ast
from ast import AST
from typing import Dict, Iterator, Optional, Set

import gast


def walk(root: AST) -> Iterator[AST]:
    """Yield ``root`` and all nodes below it, breadth first, like ``ast.walk``."""
    todo = [root]
    append = todo.append
    for node in todo:           # the list grows while it is read: that is the queue
        yield node
        attrs = node.__dict__   # a field never set reads as None, as getattr's default
        for field in node._fields:
            value = attrs.get(field)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        append(item)
            elif isinstance(value, AST):
                append(value)


def copy_tree(node: AST) -> AST:
    """A deep copy of ``node``, attributes and positions included, as ``copy.deepcopy``
    makes it, several times faster (the transform copies whole function bodies)."""
    cls = node.__class__
    new = cls.__new__(cls)
    attrs = new.__dict__
    for key, value in node.__dict__.items():
        if type(value) is list:
            value = [copy_tree(item) if isinstance(item, AST) else item for item in value]
        elif isinstance(value, AST):
            value = copy_tree(value)
        attrs[key] = value
    return new


def names_in(node: AST) -> Set[str]:
    """Every name that occurs in ``node``, read or written."""
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def loaded_names(node: AST) -> Set[str]:
    """The names ``node`` reads."""
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def rename_loads(node: AST, mapping: Dict[str, str]) -> AST:
    """Rename the names ``node`` reads, in place: ``{"x": "x_prev"}`` makes ``x + 1`` read
    ``x_prev + 1`` (assignments to ``x`` keep their name). Returns ``node``."""
    if mapping:
        for n in walk(node):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in mapping:
                n.id = mapping[n.id]
    return node


def name(id_: str, ctx=None) -> gast.Name:
    """The name ``id_``, read (or stored, with ``ctx=gast.Store()``)."""
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def const(value) -> gast.Constant:
    """The literal ``value``."""
    return gast.Constant(value=value, kind=None)


def assign(target: str, value: ast.AST, like: Optional[ast.AST] = None) -> gast.Assign:
    """``target = value``, at the position of ``like`` when given."""
    stmt = gast.Assign(targets=[name(target, gast.Store())], value=value, type_comment=None)
    if like is not None:
        ast.copy_location(stmt, like)
    return stmt


def dotted(node: ast.AST) -> Optional[str]:
    """``np.linalg.norm`` for an attribute chain rooted at a name, else None."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
