"""What the passes ask about names, and the one rewrite several of them share.

How often each name is read and bound, which arrays some statement changes in place,
where the adjoint sweep starts, and ``substitute``: an expression put where its one
reader read the name that held it,

    t = a * b                   (gone)
    y = t + c           ->      y = a * b + c

Fusing statements makes expressions deeper; ``MAX_DEPTH`` bounds that, so that no later
stage (nor Python's compiler) recurses as deep as a long function is long.
"""
from __future__ import annotations

import ast
import copy
from typing import Any, Dict, List, Set

import gast

from s2s.compiler import syntax

MAX_DEPTH = 24      # deepest expression the passes make by fusing statements


def is_marker(stmt) -> bool:
    """Is ``stmt`` the string that marks where the adjoint sweep starts?"""
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith("s2s:"))


class NameUses:
    """One walk over ``body``: how often each name is read and bound, and which names'
    values statements change in place.

    ``mutated``: arrays changed through ``x[i] = v``, ``x[i] += v`` or the item helpers
    (``add_at``, ``clear_item``, ``restore_item``): a copy ``a = x``, or ``1.0 * x`` folded
    to ``x``, would see those changes. ``updated``: those and names updated with ``x += v``.
    With ``ctx``, ``written_through``: names whose value some statement may change in
    place: ``x[i] = v``, ``x += v``, ``x.append(v)``, or passing ``x`` to a function that is
    not elementwise.
    """

    def __init__(self, body: List[ast.AST], ctx=None):
        self.loads: Dict[str, int] = {}
        self.binds: Dict[str, int] = {}
        self.mutated: Set[str] = set()
        self.updated: Set[str] = set()
        self.written_through: Set[str] = set()
        loads, binds, mutated, written = self.loads, self.binds, self.mutated, \
            self.written_through
        augmented = set()
        for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
            kind = type(node)
            if kind is gast.Name:
                if isinstance(node.ctx, gast.Load):
                    loads[node.id] = loads.get(node.id, 0) + 1
                elif isinstance(node.ctx, gast.Store):
                    binds[node.id] = binds.get(node.id, 0) + 1
            elif kind is gast.Assign or kind is gast.AugAssign:
                for target in (node.targets if kind is gast.Assign else [node.target]):
                    if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                        mutated.add(target.value.id)
                if kind is gast.AugAssign:
                    if isinstance(node.target, gast.Name):
                        augmented.add(node.target.id)
                    if ctx is not None:
                        target = node.target.value if isinstance(node.target, gast.Subscript) \
                            else node.target
                        if isinstance(target, gast.Name):
                            written.add(target.id)
            elif kind is gast.Call:
                if node.args and isinstance(node.args[0], gast.Name) \
                        and isinstance(node.func, gast.Name) and node.func.id.startswith(
                            ("add_at", "clear_item", "restore_item")):
                    mutated.add(node.args[0].id)
                if ctx is not None:
                    if isinstance(node.func, gast.Attribute) \
                            and isinstance(node.func.value, gast.Name):
                        written.add(node.func.value.id)
                    if not (ctx.elementwise(node) or ctx.reduction(node)):
                        written.update(a.id for a in node.args if isinstance(a, gast.Name))
                        written.update(k.value.id for k in node.keywords
                                       if isinstance(k.value, gast.Name))
            elif (kind is gast.Subscript or kind is gast.Attribute) and ctx is not None \
                    and isinstance(node.ctx, gast.Store) and isinstance(node.value, gast.Name):
                written.add(node.value.id)
        self.updated = mutated | augmented


def is_plain_number(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def is_number(node, value) -> bool:
    return (isinstance(node, gast.Constant) and type(node.value) in (int, float)
            and node.value == value)


def substitute(stmt, target, value):
    """``stmt`` reads ``value`` where it read ``target``, its one read: ``value`` moves
    there, uncopied (ast.unparse adds the parentheses precedence needs)."""
    stmt.value = replace_reads(stmt.value, target, value, move=True)
    return stmt


def replace_reads(root, name, value, move=False):
    """``root`` with a copy of ``value`` wherever it reads ``name`` (the copies are not
    searched again); with ``move``, the first read gets ``value`` itself."""
    if is_load_of(root, name):
        return value if move else copy.deepcopy(value)
    found = []
    for node in syntax.walk(root):
        for field, child in ast.iter_fields(node):
            if is_load_of(child, name):
                found.append((node, field, False))
            elif isinstance(child, list):
                found.extend((child, j, True) for j, item in enumerate(child)
                             if is_load_of(item, name))
    for holder, key, in_list in found:
        new = value if move else copy.deepcopy(value)
        move = False
        if in_list:
            holder[key] = new
        else:
            setattr(holder, key, new)
    return root


def is_load_of(node, name) -> bool:
    return isinstance(node, gast.Name) and node.id == name and isinstance(node.ctx, gast.Load)


def nodes_with_depth(root) -> List[Any]:
    """``(depth, node)`` for ``root`` (depth 0) and every node below it, without recursion."""
    out = [(0, root)]
    append = out.append
    for depth, node in out:     # the list grows while it is read
        below = depth + 1
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        append((below, item))
            elif isinstance(value, ast.AST):
                append((below, value))
    return out


def expression_depth(root) -> int:
    return max(d for d, _ in nodes_with_depth(root))
