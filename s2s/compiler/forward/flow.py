"""Forward mode through control flow: each tangent stays beside its primal, in the same block.

Branches and loops keep their shape. A tangent that is a symbolic zero before a branch or
loop that may update it becomes a real variable first, and a loop over values iterates over
their tangents beside them:

    s = 0.0                             s = 0.0
                                        ds = 0.0
    for v in vs:               ->       for v, dv in zip(vs, dvs):
        s = s + v                           s = s + v
                                            ds = ds + dv

The static tangent state (which tangents are real variables, which are private arrays that
may be updated in place) is joined at the end of a branch. Before a loop, every tangent the
loop updates is made real, and private if it is updated in place, so that one state holds
for every iteration.
"""
from __future__ import annotations

import ast
import builtins
from typing import List, Set

import gast

from s2s.compiler.forward.nodes import _bound_names, _rebound_names, _stored
from s2s.compiler.forward.zeros import _is_zero
from s2s.compiler.frontend.normalize import assign, name


class ControlFlow:
    """Mixin of ``ForwardBuilder``: the tangents of if/for/while statements."""

    def branch(self, stmt: gast.If) -> List[ast.AST]:
        before = self.materialize(_bound_names([stmt]))
        saved = set(self.live), set(self.owned), set(self.defined), set(self.numbers)
        self.depth += 1
        stmt.body = self.block(stmt.body) or [gast.Pass()]
        after_body = self.live, self.owned, self.defined
        self.live, self.owned, self.defined, self.numbers = saved
        stmt.orelse = self.block(stmt.orelse)
        self.depth -= 1
        self.live |= after_body[0]
        self.owned &= after_body[1]
        self.defined |= after_body[2]
        return before + [stmt]

    def loop(self, stmt) -> List[ast.AST]:
        assigned = _bound_names([stmt])
        rebound = _rebound_names([stmt])
        before = self.materialize(assigned)
        for var in sorted((assigned - rebound) & self.varied & self.defined):
            before += self.own(var)     # updated in place: one private copy for all iterations
        self.live |= assigned & self.varied
        self.owned -= rebound
        owned = set(self.owned)
        self.depth += 1
        start = self.loop_target(stmt) if isinstance(stmt, gast.For) else []
        stmt.body = start + self.block(stmt.body) or [gast.Pass()]
        self.owned &= owned
        stmt.orelse = self.block(stmt.orelse)
        self.depth -= 1
        self.owned &= owned
        return before + [stmt]

    def loop_target(self, stmt: gast.For) -> List[ast.AST]:
        """Iterate over tangents beside the primal items; zero tangents for the rest."""
        kind, args = self._iteration(stmt)
        target = stmt.target
        carried: Set[str] = set()
        if kind == "plain" and self._has_tangent(args[0]):
            stmt.target = gast.Tuple(elts=[target, self._tangent_target(target)],
                                     ctx=gast.Store())
            stmt.iter = self._helper("zip", builtins.zip, [args[0], self.operand_tangent(args[0])])
            carried = _stored(target)
        elif kind == "enumerate" and self._has_tangent(args[0]):
            index, item = target.elts
            pair = gast.Tuple(elts=[item, self._tangent_target(item)], ctx=gast.Store())
            stmt.target = gast.Tuple(elts=[index, pair], ctx=gast.Store())
            stmt.iter.args = [self._helper("zip", builtins.zip,
                                           [args[0], self.operand_tangent(args[0])])]
            carried = _stored(item)
        elif kind == "zip":
            pairs = [(t, a) for t, a in zip(target.elts, args) if self._has_tangent(a)]
            if pairs:
                target.elts = target.elts + [self._tangent_target(t) for t, _ in pairs]
                stmt.iter.args = list(args) + [self.operand_tangent(a) for _, a in pairs]
                for t, _ in pairs:
                    carried |= _stored(t)
        for var in carried:
            self.owned.discard(var)
        zero = sorted(_stored(target) & self.varied - carried)
        return [assign(self.tangent(v), self.zeros(v)) for v in zero]

    def _has_tangent(self, node) -> bool:
        return not _is_zero(self.operand_tangent(node))

    def _tangent_target(self, target):
        if isinstance(target, gast.Name):
            return name(self.tangent(target.id), gast.Store())
        if isinstance(target, (gast.Tuple, gast.List)):
            return gast.Tuple(elts=[self._tangent_target(e) for e in target.elts],
                              ctx=gast.Store())
        raise self.source.error(target, "this loop target",
                                "loop over plain names: for x in xs, for i, x in enumerate(xs)")
