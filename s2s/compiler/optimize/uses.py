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


def assign_counts(body: List[ast.AST]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def load_counts(body) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def mutated_in_place(body) -> Set[str]:
    """Names whose array some statement changes in place: ``x[i] = v``, ``x[i] += v``, the
    item helpers (``add_at``, ``clear_item``, ``restore_item``). A copy ``a = x`` of such a
    name, or ``1.0 * x`` folded to ``x``, would see those changes."""
    names = set()
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, (gast.AugAssign, gast.Assign)):
            for target in (node.targets if isinstance(node, gast.Assign) else [node.target]):
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    names.add(target.value.id)
        elif isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name):
            func = node.func
            if isinstance(func, gast.Name) and func.id.startswith(
                    ("add_at", "clear_item", "restore_item")):
                names.add(node.args[0].id)
    return names


def updated_in_place(body) -> Set[str]:
    """Names changed in place (see ``mutated_in_place``) or updated with ``x += v``."""
    names = mutated_in_place(body)
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            names.add(node.target.id)
    return names


def maybe_written_through(body, ctx) -> Set[str]:
    """Names whose value some statement may change in place: ``x[i] = v``, ``x += v``,
    ``x.append(v)``, or passing ``x`` to a function that is not an elementwise operation."""
    names = set()
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        target = None
        if isinstance(node, (gast.Subscript, gast.Attribute)) \
                and isinstance(node.ctx, gast.Store):
            target = node.value
        elif isinstance(node, gast.AugAssign):
            target = node.target.value if isinstance(node.target, gast.Subscript) \
                else node.target
        elif isinstance(node, gast.Call):
            if isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name):
                names.add(node.func.value.id)
            if not (ctx.elementwise(node) or ctx.reduction(node)):
                names.update(a.id for a in node.args if isinstance(a, gast.Name))
                names.update(k.value.id for k in node.keywords
                             if isinstance(k.value, gast.Name))
        if isinstance(target, gast.Name):
            names.add(target.id)
    return names


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
    for depth, node in out:     # the list grows while it is read
        for child in ast.iter_child_nodes(node):
            out.append((depth + 1, child))
    return out


def expression_depth(root) -> int:
    return max(d for d, _ in nodes_with_depth(root))
