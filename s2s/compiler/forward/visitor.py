"""The statement dispatch of forward mode: one ``visit_<Node>`` per statement kind.

``TangentVisitor.block`` walks a normalized block in order and replaces each statement by
itself and its tangent statements; the kind of statement decides who writes them
(``statements``, ``calls`` through ``statements``, ``flow``, ``closures``). All it reads and
updates is the explicit ``TangentState``.

    y = np.sin(x)          ->   y = np.sin(x)           visit_Assign
                                dy = dx * np.cos(x)
    for v in vs:           ->   for v, dv in zip(vs, dvs):   visit_For
        ...                         ...
    return y               ->   return (y, dy)          visit_Return
"""
from __future__ import annotations

import ast
from typing import List

import gast

from s2s.compiler.forward import closures, flow, statements
from s2s.compiler.forward.nodes import container_of, bound_names
from s2s.compiler.forward.state import TangentState
from s2s.compiler import syntax

# statements whose blocks the visitor goes through statement by statement (lines stay)
_COMPOUND = (gast.If, gast.For, gast.While, gast.FunctionDef, gast.With, gast.Try)


class TangentVisitor:
    """Writes the tangent statements of a function's blocks, over ``state``."""

    def __init__(self, state: TangentState):
        self.state = state

    def block(self, stmts: List[ast.AST]) -> List[ast.AST]:
        """The statements of a block, each followed by its tangent statements.

        After each statement, the names it binds are ``defined``; a name bound to a number
        constant joins ``numbers`` (its zero tangent is ``0.0``, not ``zeros_like``), and one
        bound to a list or tuple joins ``sequences``.
        """
        out: List[ast.AST] = []
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, gast.FunctionDef):
                closures.check_closure(self.state, stmt, stmts[i + 1:])
            written = self.visit(stmt)
            line = getattr(stmt, "lineno", None)
            if line is not None:
                # the user's line each statement comes from (for the notes on errors); the
                # statements a rule's template wrote for a simple statement stand for it too
                simple = not isinstance(stmt, _COMPOUND)
                for made in (syntax.walk_statements(written) if simple else written):
                    if isinstance(made, gast.stmt) and (
                            simple or getattr(made, "lineno", None) is None):
                        made.lineno, made.col_offset = line, getattr(stmt, "col_offset", 0)
            out.extend(written)
            bound = bound_names([stmt])
            current = self.state.flow
            current.defined |= bound
            current.numbers -= bound
            if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                    and isinstance(stmt.value, gast.Constant)
                    and type(stmt.value.value) in (int, float)):
                current.numbers.add(stmt.targets[0].id)
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                kind = statements.sequence_kind(stmt.value, self.state.sequences)
                if kind is not None:
                    self.state.sequences[stmt.targets[0].id] = kind
        return out

    def visit(self, stmt: ast.AST) -> List[ast.AST]:
        """The statements that replace ``stmt``: dispatch on its kind."""
        method = getattr(self, "visit_" + type(stmt).__name__, self.generic_visit)
        return method(stmt)

    def generic_visit(self, stmt: ast.AST) -> List[ast.AST]:
        """A statement with no tangent (``pass``, ``nonlocal``, ``raise``...) stays as it is."""
        return [stmt]

    def visit_Assign(self, stmt: gast.Assign) -> List[ast.AST]:
        """``y = f(x)`` gets ``dy``; ``x[i] = v`` gets ``dx[i] = dv``; any other target
        (unpacking, attributes) is refused where it touches a differentiated value.

            y = x * w      ->  y = x * w
                               dy = dx * w
            buf[i] = y     ->  buf[i] = y
                               dbuf[i] = dy
        """
        target = stmt.targets[0]
        if len(stmt.targets) == 1 and isinstance(target, gast.Name):
            return statements.assign_to_name(self.state, target.id, stmt.value, stmt)
        if len(stmt.targets) == 1 and isinstance(target, gast.Subscript):
            return statements.subscript_store(self.state, target, stmt)
        return statements.reject_if_varied(self.state, stmt,
                                           bound_names([stmt]) | container_of(target),
                                           "this assignment")

    def visit_AugAssign(self, stmt: gast.AugAssign) -> List[ast.AST]:
        """What normalization leaves of ``+=`` (an attribute: ``obj.n += 1``) stays as it is,
        and is refused where it updates a differentiated value."""
        return statements.reject_if_varied(self.state, stmt, container_of(stmt.target),
                                           "this augmented assignment")

    def visit_If(self, stmt: gast.If) -> List[ast.AST]:
        """Both branches keep their tangents beside their primals (``flow.branch``)."""
        return flow.branch(self.state, stmt, self.block)

    def visit_For(self, stmt: gast.For) -> List[ast.AST]:
        """The loop iterates over tangents beside the values (``flow.loop``).

            for v in vs:     ->  for v, dv in zip(vs, dvs):
                s = s + v            s = s + v
                                     ds = ds + dv
        """
        return flow.loop(self.state, stmt, self.block)

    def visit_While(self, stmt: gast.While) -> List[ast.AST]:
        """The body keeps its tangents; tangents it updates are real before it (``flow.loop``)."""
        return flow.loop(self.state, stmt, self.block)

    def visit_Return(self, stmt: gast.Return) -> List[ast.AST]:
        """``return y`` -> ``return (y, dy)``."""
        return [statements.return_pair(self.state, stmt)]

    def visit_Expr(self, stmt: gast.Expr) -> List[ast.AST]:
        """A call for its effect: ``lst.append(v)`` also appends ``dv`` to ``dlst``."""
        if isinstance(stmt.value, gast.Call):
            return statements.call_statement(self.state, stmt)
        return [stmt]

    def visit_FunctionDef(self, stmt: gast.FunctionDef) -> List[ast.AST]:
        """``def h(a): ...`` is followed by its tangent closure ``def dh(a, da): ...``."""
        return closures.nested_function(self.state, stmt, self.block)
