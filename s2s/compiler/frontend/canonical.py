"""Stage 3b: structured control flow, so the adjoint can retrace it.

In: a normalized function body.  Out: the same program where

- there is exactly one ``return``, the last statement; other returns assign the result
  and the code after them moves into the branch that did not return;
- ``continue`` is gone and ``break`` only ends a path: whatever followed a statement that
  may break or continue moves into the branch that falls through;
- ``for ... else`` and ``while ... else`` are spelled with a flag.

    for x in xs:                        for x in xs:
        if x > 3:                           if x > 3:
            break                               break
        s = s + x                           else:
    return s                   ->              s = s + x
                                        return s

After this pass every loop iteration is one path through its body, chosen by the ``if``
tests along the way, so reversing an iteration only needs the outcome of those tests.
"""
from __future__ import annotations

import ast
import copy
from typing import List

import gast

from s2s.compiler.frontend.names import Namer
from s2s.compiler.syntax import assign, const, name


def _contains(stmts, kinds, into_loops: bool) -> bool:
    for stmt in stmts:
        if isinstance(stmt, kinds):
            return True
        if isinstance(stmt, (gast.FunctionDef, gast.ClassDef, gast.Lambda)):
            continue
        if isinstance(stmt, (gast.For, gast.While)) and not into_loops:
            # a break inside an inner loop belongs to that loop, but returns escape it
            if kinds == (gast.Return,) and _contains(stmt.body + stmt.orelse, kinds, True):
                return True
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and _contains(inner, kinds, into_loops):
                return True
    return False


def _always_exits(stmts, kinds) -> bool:
    """Does every path through ``stmts`` end in one of ``kinds``?"""
    for stmt in stmts:
        if isinstance(stmt, kinds):
            return True
        if isinstance(stmt, gast.If) and stmt.orelse:
            if _always_exits(stmt.body, kinds) and _always_exits(stmt.orelse, kinds):
                return True
    return False


class Canonicalizer:
    def __init__(self, namer: Namer):
        self.namer = namer

    # -- returns ------------------------------------------------------------------------
    def function(self, fn: gast.FunctionDef) -> gast.FunctionDef:
        returns = [n for n in _walk_own(fn.body) if isinstance(n, gast.Return)]
        single_final = (len(returns) == 1 and fn.body and fn.body[-1] is returns[0])
        if not single_final:
            fn.body = self._single_exit(fn.body, returns, fn)
        fn.body = self.loops(fn.body)
        return fn

    def _single_exit(self, body, returns, fn):
        tuple_len = None
        if returns and all(isinstance(r.value, gast.Tuple) for r in returns):
            lengths = {len(r.value.elts) for r in returns}
            if len(lengths) == 1:
                tuple_len = lengths.pop()
        if tuple_len:
            self.out_names = [self.namer.fresh(f"out_{i}") for i in range(tuple_len)]
            final = gast.Tuple(elts=[name(n) for n in self.out_names], ctx=gast.Load())
        else:
            self.out_names = [self.namer.fresh("result")]
            final = name(self.out_names[0])
        self.returned = None
        needs_flag = _returns_inside_loops(body)
        if needs_flag:
            self.returned = self.namer.fresh("returned")
        new_body = self._block(body)
        if needs_flag:
            new_body.insert(0, assign(self.returned, const(False)))
        if not returns:
            new_body.append(assign(self.out_names[0], const(None)))
        ret = gast.Return(value=final)
        ast.copy_location(ret, returns[-1] if returns else fn)
        return new_body + [ret]

    def _assign_result(self, ret: gast.Return) -> List[ast.AST]:
        value = ret.value if ret.value is not None else const(None)
        if len(self.out_names) > 1:
            return [ast.copy_location(assign(n, e), ret)
                    for n, e in zip(self.out_names, value.elts)]
        return [ast.copy_location(assign(self.out_names[0], value), ret)]

    def _block(self, stmts, in_loop: bool = False) -> List[ast.AST]:
        """Rewrite returns in ``stmts``; code after a partial return moves into a branch."""
        out: List[ast.AST] = []
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(stmt, gast.Return):
                out += self._assign_result(stmt)
                if in_loop:
                    out += [assign(self.returned, const(True)), gast.Break()]
                return out
            if not _contains([stmt], (gast.Return,), True):
                out.append(stmt)
                continue
            if isinstance(stmt, gast.If):
                if in_loop:
                    # returns became breaks; loops() moves what follows into the else
                    stmt.body = self._block(stmt.body, True) or [gast.Pass()]
                    stmt.orelse = self._block(stmt.orelse, True)
                    out.append(stmt)
                    continue
                body_exits = _always_exits(stmt.body, (gast.Return,))
                else_exits = _always_exits(stmt.orelse, (gast.Return,))
                tail = rest if not body_exits else []
                stmt.body = self._block(stmt.body + copy.deepcopy(tail)) or [gast.Pass()]
                stmt.orelse = self._block(stmt.orelse + ([] if else_exits else rest))
                out.append(stmt)
                return out
            if isinstance(stmt, (gast.For, gast.While)):
                stmt.body = self._block(stmt.body, True)
                out.append(stmt)
                if in_loop:
                    out.append(gast.If(test=name(self.returned), body=[gast.Break()],
                                       orelse=[]))
                    continue
                after = self._block(rest, False)
                if after:
                    out.append(gast.If(test=gast.UnaryOp(op=gast.Not(),
                                                         operand=name(self.returned)),
                                       body=after, orelse=[]))
                return out
            out.append(stmt)
        return out

    # -- break and continue -------------------------------------------------------------
    def loops(self, stmts: List[ast.AST]) -> List[ast.AST]:
        out = []
        for stmt in stmts:
            if isinstance(stmt, (gast.For, gast.While)):
                out += self._loop(stmt)
            elif isinstance(stmt, gast.If):
                stmt.body = self.loops(stmt.body) or [gast.Pass()]
                stmt.orelse = self.loops(stmt.orelse)
                out.append(stmt)
            else:
                out.append(stmt)
        return out

    def _loop(self, loop) -> List[ast.AST]:
        loop.body = self.loops(loop.body)
        before, after = [], []
        if loop.orelse:
            if _contains(loop.body, (gast.Break,), False):
                broke = self.namer.fresh("broke")
                before.append(assign(broke, const(False)))
                _flag_breaks(loop.body, broke)
                after.append(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=name(broke)),
                                     body=self.loops(loop.orelse), orelse=[]))
            else:
                after = self.loops(loop.orelse)
            loop.orelse = []
        loop.body = _tail_jumps(loop.body) or [gast.Pass()]
        return before + [loop] + after


def _flag_breaks(stmts, flag):
    for i, stmt in enumerate(list(stmts)):
        if isinstance(stmt, gast.Break):
            idx = stmts.index(stmt)
            stmts.insert(idx, assign(flag, const(True)))
        elif isinstance(stmt, gast.If):
            _flag_breaks(stmt.body, flag)
            _flag_breaks(stmt.orelse, flag)


def _tail_jumps(stmts) -> List[ast.AST]:
    """Move code after a possible break/continue into the fall-through branches; drop continue."""
    out: List[ast.AST] = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, gast.Continue):
            return out
        if isinstance(stmt, gast.Break):
            out.append(stmt)
            return out
        if isinstance(stmt, gast.If) and _contains([stmt], (gast.Break, gast.Continue), False):
            rest = stmts[i + 1:]
            body_exits = _always_exits(stmt.body, (gast.Break, gast.Continue))
            else_exits = _always_exits(stmt.orelse, (gast.Break, gast.Continue))
            stmt.body = _tail_jumps(stmt.body + ([] if body_exits else copy.deepcopy(rest)))
            stmt.orelse = _tail_jumps(stmt.orelse + ([] if else_exits else rest))
            if not stmt.body:
                stmt.body = [gast.Pass()]
            out.append(stmt)
            return out
        out.append(stmt)
    return out


def _returns_inside_loops(stmts) -> bool:
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While)):
            if _contains(stmt.body, (gast.Return,), True):
                return True
        elif isinstance(stmt, gast.If):
            if _returns_inside_loops(stmt.body) or _returns_inside_loops(stmt.orelse):
                return True
    return False


def _walk_own(stmts):
    """Every node in ``stmts``, not descending into nested functions or classes."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (gast.FunctionDef, gast.ClassDef, gast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def canonicalize(fn: gast.FunctionDef, namer: Namer) -> gast.FunctionDef:
    return Canonicalizer(namer).function(fn)
