"""The explicit state of one reverse-mode transformation, shared by every reverse module.

One ``ReverseState`` is made per gradient built. It holds what was asked for (the
differentiated names, the mode), the scope (the namer, and the objects the generated code
is given by name), what the analysis of the primal found (active names, containers, shape
classes), the plan for saving overwritten values, and the cotangent bookkeeping of the
adjoint sweep: which cotangents may be nonzero, and which are private arrays that may be
updated in place. The reverse modules are functions of this state; none keeps its own.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import gast
import numpy as np

from s2s.compiler import bindings
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import Resolver
from s2s.compiler.syntax import name


@dataclass
class Loop:
    """How one primal loop is reversed."""
    kind: str                                   # 'range' or 'counter'
    steps: Optional[str] = None                 # iteration counter (counter loops)
    rng: Optional[str] = None                   # the saved range object (range loops)
    sources: List[Tuple[str, str, str]] = field(default_factory=list)
    # (target name, iterable name, 'forward' | 'reversed'): target = iterable[index]
    targets: List[str] = field(default_factory=list)
    # targets that may hold a value before the loop: saved before it, restored after its
    # reversed loop (the reversed loop leaves them at their first iteration's value)
    rebound: List[str] = field(default_factory=list)
    # int temporaries of a range loop recomputed from its counter instead of saved
    recompute: List[ast.AST] = field(default_factory=list)


@dataclass(eq=False)
class ReverseState:
    """What one reverse-mode transformation knows, in one place (see the module docstring)."""
    # -- what was asked for
    source: Source
    wrt: List[str]
    has_aux: bool = False
    sens_param: bool = False
    tree_params: Set[str] = field(default_factory=set)
    single: bool = True
    mode: str = "grad"                          # 'grad', 'grad_only' or 'vjp'
    weights: bool = False
    holomorphic: bool = False       # refuse functions that are not holomorphic (abs, conj...)
    shapes: Dict[str, Any] = field(default_factory=dict)
    callee_vjp: Any = None          # (fn, wrt, weights=, tree_params=) -> a callee's forward sweep
    call_vjp: Any = None            # the run-time dispatch generated code calls

    # -- the scope: generated names and the objects they stand for
    namer: Namer = None
    locals: Set[str] = field(default_factory=set)
    resolver: Resolver = None
    injected: Dict[str, Any] = field(default_factory=dict)    # generated name -> object
    # where the code pastes a rule written for NumPy arrays only (rules.numpy_only), as
    # (primitive, filename, line, column, function): a call with Dask or CuPy arrays is
    # refused there
    numpy_only: List[tuple] = field(default_factory=list)
    _sens_name: Optional[str] = None

    # -- what the primal is (set while it is prepared)
    params: Set[str] = field(default_factory=set)
    primal_temps: Set[str] = field(default_factory=set)  # temporaries normalization made
    active: Set[str] = field(default_factory=set)
    trees: Set[str] = field(default_factory=set)         # names that may hold containers
    sequences: Set[str] = field(default_factory=set)     # names that surely hold a list/tuple
    dicts: Set[str] = field(default_factory=set)         # names that surely hold a dict
    mutated: Set[str] = field(default_factory=set)       # active names updated in place
    assign_count: Dict[str, int] = field(default_factory=dict)
    assigned_anywhere: Set[str] = field(default_factory=set)
    local_functions: Dict[str, Set[str]] = field(default_factory=dict)
    classes: Dict[str, Any] = field(default_factory=dict)     # name -> shape class
    calls: Dict[int, Tuple[str, list]] = field(default_factory=dict)  # id(stmt) -> pullback

    # -- loops and saves: values the primal overwrites that the adjoint reads
    loops: Dict[int, Loop] = field(default_factory=dict)      # id(loop) -> how to reverse it
    loop_names: Dict[Any, str] = field(default_factory=dict)
    no_save: Set[int] = field(default_factory=set)      # statements that never need a save
    recomputed: Set[int] = field(default_factory=set)   # statements the reverse recomputes
    overwrites: Set[Tuple[int, str]] = field(default_factory=set)
    maybe_unbound: Set[str] = field(default_factory=set)
    branch_resets: Set[str] = field(default_factory=set)  # cotangents reset in one branch
    restores: Set[str] = field(default_factory=set)     # names saved and restored
    shape_only: Set[str] = field(default_factory=set)   # saved for their shape only
    stacks: Dict[str, str] = field(default_factory=dict)      # saved name -> its stack

    # -- the adjoint sweep
    cotangent_names: Dict[str, str] = field(default_factory=dict)
    _named: Dict[str, List[str]] = field(default_factory=dict)  # cotangent -> primals ever given it
    nonzero: Set[str] = field(default_factory=set)  # primal names whose cotangent may be nonzero
    owned: Set[str] = field(default_factory=set)    # cotangents private to us (update in place)
    temps: Set[str] = field(default_factory=set)    # names of rule locals (dead-code candidates)
    read_alias: Dict[str, str] = field(default_factory=dict)  # primal -> where its old value is

    # -- names ----------------------------------------------------------------------------
    def cotangent(self, primal: str) -> str:
        """The name of ``primal``'s cotangent (``dx`` for ``x``), made on first use."""
        d = self.cotangent_names.get(primal)
        if d is None:
            d = self.cotangent_names[primal] = self.namer.adjoint(primal)
            self._named.setdefault(d, []).append(primal)
        return d

    def primal_of(self, d: str) -> Optional[str]:
        """The primal whose cotangent is named ``d`` now (None: ``d`` is no cotangent).
        A rollback may give a name back, so each primal ever given ``d`` is checked."""
        return next((p for p in self._named.get(d, ()) if self.cotangent_names.get(p) == d),
                    None)

    @property
    def sens_name(self) -> str:
        """The parameter that receives the output's cotangent (``sens_param``)."""
        if self._sens_name is None:
            self._sens_name = self.namer.fresh("sens")
        return self._sens_name

    def fresh_temp(self, base: str) -> str:
        """A fresh name for a rule local, which dead-code elimination may drop."""
        fresh = self.namer.fresh(base)
        self.temps.add(fresh)
        return fresh

    def bind_free(self, wanted: str, obj: Any) -> str:
        """A name for ``obj`` in the generated code: the user's own if it means the same."""
        return bindings.bind_free(self.source, self.locals, self.injected, self.namer, wanted,
                                  obj, same_stem=True)

    def name_of(self, obj: Any) -> Optional[str]:
        """The name ``obj`` already has in the generated code, if any."""
        return bindings.name_of(self.source, self.injected, obj)

    def call_helper(self, wanted: str, obj: Any, args: List[ast.AST]) -> gast.Call:
        """``helper(*args)``, with ``obj`` bound to a name (see ``bind_free``)."""
        return gast.Call(func=name(self.bind_free(wanted, obj)), args=args, keywords=[])

    def numpy(self, attr: str) -> ast.AST:
        """``np.<attr>``, with NumPy bound to a name."""
        return gast.Attribute(value=name(self.bind_free("np", np)), attr=attr, ctx=gast.Load())

    def callee(self, call: gast.Call) -> Any:
        """The object ``call`` calls, if it is known at transform time (else UNRESOLVED)."""
        if isinstance(call.func, gast.Name) and call.func.id in self.injected:
            return self.injected[call.func.id]
        return self.resolver.resolve(call.func)

    # -- the cotangent state ---------------------------------------------------------------
    def kill(self, var: str) -> None:
        """``var`` is being defined: the cotangent of its earlier value starts at zero."""
        self.nonzero.discard(var)
        self.owned.discard(var)

    def checkpoint(self):
        """A copy of everything a trial sweep changes, for ``rollback``."""
        return (set(self.nonzero), set(self.owned), set(self.namer.taken), set(self.namer.made),
                dict(self.cotangent_names), set(self.temps), dict(self.injected),
                dict(self.stacks), dict(self.loop_names))

    def rollback(self, cp) -> None:
        """Forget a trial sweep: back to the ``checkpoint`` ``cp``."""
        (self.nonzero, self.owned, self.namer.taken, self.namer.made, self.cotangent_names,
         self.temps, self.injected, stacks, loop_names) = (
            set(cp[0]), set(cp[1]), set(cp[2]), set(cp[3]), dict(cp[4]), set(cp[5]),
            dict(cp[6]), cp[7], cp[8])
        self.stacks = dict(stacks)
        # the names of reversed loops' indexes go with the namer: one kept while the namer
        # forgot it would be made again for another loop, and an inner loop's index would
        # overwrite its outer loop's
        self.loop_names = dict(loop_names)
