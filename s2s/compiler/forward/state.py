"""The state of the forward builder at one point of the function: which primal names have a
tangent, which of those are real variables, which the builder may update in place.

A tangent that is not a real variable is a *symbolic zero*. ``TangentState`` reads it as
``ZERO`` and writes it out (``zeros_like``) only where a real variable is needed:

    y = x * 2.0        x live          operand_tangent(x) -> dx
    c = 3.0            c not live      operand_tangent(c) -> ZERO
                                       dense_tangent(c)   -> 0.0
    buf[i] = y         buf shared      own('buf') -> dbuf = own(dbuf, buf)

``FlowState`` is the part that control flow saves and joins (see ``flow``); the rest holds for the
whole function: the names of tangents, the names the builder made, the objects it injected.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

import gast

from s2s import runtime
from s2s.compiler.forward.scope import Scope
from s2s.compiler.forward.zeros import is_zero, symbolic_zero
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.parse import Source
from s2s.compiler.syntax import assign, const, name


@dataclass
class FlowState:
    """What holds at the current statement, and changes from one statement to the next.

    ``varied``: names that depend on a differentiated input (they need a tangent).
    ``live``: primal names whose tangent variable is set (the others' tangents are zero).
    ``owned``: live tangents private to the builder (safe to update in place).
    ``defined``: names bound by earlier statements.
    ``numbers``: names last bound to a number constant (their zero tangent is ``0.0``).
    ``depth``: inside how many if/for/while blocks.
    ``select``: which item of a returned tuple carries the tangent (None: all of it).
    """
    varied: Set[str] = field(default_factory=set)
    live: Set[str] = field(default_factory=set)
    owned: Set[str] = field(default_factory=set)
    defined: Set[str] = field(default_factory=set)
    numbers: Set[str] = field(default_factory=set)
    depth: int = 0
    select: Optional[int] = None


@dataclass
class TangentState:
    """Everything the forward builder knows while it writes one jvp function.

    ``callee_jvp(fn, wrt)`` gives the compiled jvp function of a user function it calls;
    ``call_jvp`` is the run-time dispatch that generated code calls where the callee is
    only known at run time.
    """
    source: Source
    namer: Namer
    scope: Scope
    callee_jvp: Callable
    call_jvp: Callable
    flow: FlowState = field(default_factory=FlowState)
    tangents: Dict[str, str] = field(default_factory=dict)    # primal name -> tangent name
    primal_of: Dict[str, str] = field(default_factory=dict)   # tangent name -> primal name
    temps: Set[str] = field(default_factory=set)        # rule locals and helpers' results
    # name -> gast.List or gast.Tuple, for names bound to a list or tuple (``+`` joins items)
    sequences: Dict[str, type] = field(default_factory=dict)
    # local function -> (its parameters, those with a default)
    local_params: Dict[str, Tuple[List[str], Set[str]]] = field(default_factory=dict)
    # local functions that close over no value with a tangent where they are defined
    constant_functions: Set[str] = field(default_factory=set)
    holomorphic: bool = False       # refuse functions that are not holomorphic (abs, conj...)
    # where the code pastes a rule written for NumPy arrays only (rules.numpy_only), as
    # (primitive, filename, line, column, function): a call with Dask or CuPy arrays is
    # refused there
    numpy_only: List[tuple] = field(default_factory=list)

    # -- names ----------------------------------------------------------------------------
    def tangent(self, primal: str) -> str:
        """The name of ``primal``'s tangent variable (made on first use): ``x`` -> ``dx``."""
        d = self.tangents.get(primal)
        if d is None:
            d = self.tangents[primal] = self.namer.fresh("d" + primal)
            self.primal_of[d] = primal
        return d

    def fresh_temp(self, base: str) -> str:
        """A fresh name for a rule local or a helper's result."""
        fresh = self.namer.fresh(base)
        self.temps.add(fresh)
        return fresh

    # -- zeros --------------------------------------------------------------------------------
    def zeros(self, var: str, value: Optional[ast.AST] = None) -> ast.AST:
        """A zero tangent for ``var``: ``0.0`` for a number constant, else ``zeros_like``."""
        if (isinstance(value, gast.Constant) and type(value.value) in (int, float, bool)
                or value is None and var in self.flow.numbers):
            return const(0.0)
        return self.scope.helper("zeros_like", runtime.zeros_like, [name(var)])

    def set_zero(self, target: str, value: Optional[ast.AST] = None) -> List[ast.AST]:
        """``target`` now has a zero tangent: symbolic, or materialized inside control flow.

            (top level)  y = 3.0   ->  []                 y is no longer live
            (in a loop)  y = 3.0   ->  [dy = 0.0]
        """
        flow = self.flow
        if flow.depth == 0:
            flow.live.discard(target)
            flow.owned.discard(target)
            return []
        flow.live.add(target)
        flow.owned.add(target)
        return [assign(self.tangent(target), self.zeros(target, value))]

    def materialize(self, names: Set[str]) -> List[ast.AST]:
        """Real zero tangents for ``names`` that are bound but have a symbolic zero tangent:
        ``[ds = zeros_like(s)]`` before a loop that adds to ``s``."""
        flow = self.flow
        out = []
        for var in sorted(names & flow.varied & flow.defined - flow.live):
            out.append(assign(self.tangent(var), self.zeros(var)))
            flow.live.add(var)
            flow.owned.add(var)
        return out

    def own(self, var: str) -> List[ast.AST]:
        """Make ``var``'s tangent a private, real array before it is updated in place:
        ``[dbuf = own(dbuf, buf)]``, ``[dbuf = zeros_like(buf)]`` or nothing."""
        flow = self.flow
        if var not in flow.live:
            flow.live.add(var)
            flow.owned.add(var)
            return [assign(self.tangent(var), self.zeros(var))]
        if var in flow.owned:
            return []
        flow.owned.add(var)
        d = self.tangent(var)
        return [assign(d, self.scope.helper("own", runtime.own, [name(d), name(var)]))]

    # -- tangents of operands -------------------------------------------------------------
    def operand_tangent(self, node: Optional[ast.AST]) -> ast.AST:
        """The tangent of an operand (a name, constant or literal), or the symbolic zero.

            x (live)        ->  dx
            (x, c)          ->  (dx, 0.0)   c a number, not live
            c               ->  ZERO
        """
        if isinstance(node, gast.Name):
            return name(self.tangent(node.id)) if node.id in self.flow.live else symbolic_zero()
        if isinstance(node, (gast.Tuple, gast.List)):
            elts = [self.operand_tangent(e) for e in node.elts]
            if all(is_zero(e) for e in elts):
                return symbolic_zero()
            dense = [self.dense_tangent(e) if is_zero(t) else t
                     for e, t in zip(node.elts, elts)]
            return type(node)(elts=dense, ctx=gast.Load())
        if isinstance(node, gast.Dict) and None not in node.keys:
            values = [self.operand_tangent(v) for v in node.values]
            if all(is_zero(v) for v in values):
                return symbolic_zero()
            return gast.Dict(keys=copy.deepcopy(node.keys),
                             values=[self.dense_tangent(v) if is_zero(t) else t
                                     for v, t in zip(node.values, values)])
        if isinstance(node, gast.Starred):
            raise self.source.error(node, "a starred argument", "pass the arguments one by one")
        return symbolic_zero()

    def dense_tangent(self, node: ast.AST) -> ast.AST:
        """The tangent of an operand as a real value (zeros where it is symbolic)."""
        t = self.operand_tangent(node)
        if not is_zero(t):
            return t
        if isinstance(node, gast.Name):
            return self.zeros(node.id)
        if isinstance(node, gast.Constant) and type(node.value) in (int, float, bool):
            return const(0.0)
        if isinstance(node, gast.Call) and self.scope.resolver.resolve(node.func) is slice:
            return const(None)      # np.r_[x, 1:4]: a range of constants, not a number
        return self.scope.helper("zeros_like", runtime.zeros_like, [copy.deepcopy(node)])

    def has_tangent(self, node: ast.AST) -> bool:
        """Is the tangent of ``node`` more than a symbolic zero?"""
        return not is_zero(self.operand_tangent(node))

