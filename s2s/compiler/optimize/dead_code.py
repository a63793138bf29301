"""Dead code: assignments to names the pipeline made that nothing reads go, until none is
left (a removal may leave another name unread). User code always stays.

    dy_sum = dout * 2.0             (gone: nothing reads dy_sum)
    dx = dout * np.cos(x)    ->     dx = dout * np.cos(x)
    return dx                       return dx
"""
from __future__ import annotations

import ast
from typing import Dict, List, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context


def remove_dead(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Drop assignments to pipeline names that nothing reads afterwards (loops: anywhere)."""
    fn.body = _remove_dead(fn.body, ctx.generated)


def _remove_dead(body: List[ast.AST], removable: Set[str]) -> List[ast.AST]:
    reads = _reads(body)
    assignments: Dict[str, List[ast.AST]] = {}      # name -> the statements that go with it
    _index_assignments(body, assignments)
    # a removed assignment no longer reads its operands: they may die in turn
    dead: Set[str] = set()
    unread = [n for n in removable if not reads.get(n)]
    while unread:
        n = unread.pop()
        if n in dead:
            continue
        dead.add(n)
        for stmt in assignments.get(n, ()):
            for m, count in _reads(stmt).items():
                reads[m] -= count
                if not reads[m] and m in removable:
                    unread.append(m)
    return _drop_assignments(body, dead)[0] if dead else body


def _reads(stmts) -> Dict[str, int]:
    """How often ``stmts`` (a statement or a list of them) read each name, where ``x += v``
    reads ``x`` and an assignment ``steps = steps + 1`` does not read ``steps`` (only to
    compute steps again)."""
    reads: Dict[str, int] = {}
    self_reads: Set[int] = set()
    # statement by statement: a walk of one statement's nodes, close together in memory, is
    # faster than one walk of all, and counts do not depend on the order
    for stmt in stmts if isinstance(stmts, list) else [stmts]:
        for node in syntax.walk(stmt):
            kind = type(node)
            if kind is gast.Name:
                if isinstance(node.ctx, gast.Load) and id(node) not in self_reads:
                    reads[node.id] = reads.get(node.id, 0) + 1
            elif kind is gast.AugAssign:
                if isinstance(node.target, gast.Name):
                    reads[node.target.id] = reads.get(node.target.id, 0) + 1
            elif kind is gast.Assign and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name):
                own: List[ast.AST] = []
                if _arithmetic(node.value, node.targets[0].id, own):
                    self_reads.update(id(n) for n in own)
    return reads


def _index_assignments(body, assignments: Dict[str, List[ast.AST]]) -> None:
    """The statements ``_drop_assignments`` would drop, by the name that dooms them."""
    for stmt in body:
        if _is_assignment(stmt):
            assignments.setdefault(_assigned(stmt), []).append(stmt)
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                _index_assignments(inner, assignments)


def _is_assignment(stmt) -> bool:
    """``name = value``, or ``name[index] += value``."""
    return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)
            or isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Subscript)
            and isinstance(stmt.target.value, gast.Name))


def _assigned(stmt) -> str:
    return stmt.targets[0].id if isinstance(stmt, gast.Assign) else stmt.target.value.id


def _arithmetic(value, target: str, own: List[ast.AST]) -> bool:
    """Names and numbers combined by operators: no call, no side effect. Puts the reads
    of ``target`` on ``own``."""
    kind = type(value)
    if kind is gast.BinOp:
        return _arithmetic(value.left, target, own) and _arithmetic(value.right, target, own)
    if kind is gast.UnaryOp:
        return _arithmetic(value.operand, target, own)
    if kind is gast.Name:
        if value.id == target:
            own.append(value)
        return isinstance(value.ctx, gast.Load)
    return kind is gast.Constant


def _drop_assignments(body, dead):
    removed = False
    out = []
    for stmt in body:
        if _is_assignment(stmt) and _assigned(stmt) in dead:
            removed = True
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                new_inner, r = _drop_assignments(inner, dead)
                removed |= r
                setattr(stmt, field, new_inner or ([gast.Pass()] if field == "body" else []))
        out.append(stmt)
    return out, removed
