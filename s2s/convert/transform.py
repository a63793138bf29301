"""Run the engine on functions read statically, and on the functions they call.

``StaticTransformer.transform(f, positions)`` builds ``grad_f`` (reverse mode: it returns what
``s2s.grad(f)`` returns), ``value_and_grad_f`` (reverse mode with ``with_value``: what
``s2s.value_and_grad(f)`` returns) or ``jvp_f`` (forward mode) as a tree, the way ``s2s.grad``
would, but without compiling anything: where
the generated code calls another user function, the builders' callee hooks build that
callee's ``vjp_g`` (or ``jvp_g``) too, and the generated code refers to it. Each built
function is a ``Generated`` unit: its tree and the objects its free names stand for, which
``s2s.convert.writer`` turns into a module.

    def f(x):                    Generated(grad f): def grad_f(x): ... vjp_g(x) ...
        return g(x) * 2    ->    Generated(vjp g):  def vjp_g(x): ...
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

import gast
import numpy as np

from s2s import rules
from s2s.compiler.analysis.shapes import FLOAT
from s2s.compiler import pipeline
from s2s.compiler.forward.builder import ForwardBuilder
from s2s.compiler.frontend.parse import Source, parse_function
from s2s.compiler.reverse.builder import ReverseBuilder
from s2s.compiler.reverse.nodes import parameter_names
from s2s.convert.comments import mark_adjoint_lines
from s2s.convert.examples import is_tree
from s2s.convert.static import check_reads
from s2s.errors import S2SError

Positions = Union[int, Tuple[int, ...]]


@dataclass
class Options:
    """What to generate: ``mode`` 'reverse' or 'forward', ``runtime`` 'standalone' or
    'import'; ``with_value``: reverse mode returns (value, gradients), not the gradients;
    ``target`` 'python', or 'numba': the Numba dialect, each function under ``numba.njit``
    (with ``runtime`` 'import': the Numba versions of the helpers come from s2s)."""

    mode: str = "reverse"
    runtime: str = "standalone"
    with_value: bool = False
    target: str = "python"


class Generated:
    """One function s2s generates: the user function, and once built, its tree and the
    objects its free names stand for."""

    def __init__(self, fn: types.FunctionType, kind: str, wrt: Tuple[str, ...],
                 single: bool = True):
        self.fn = fn
        # 'grad', 'value_and_grad' or 'jvp' (asked for), 'vjp' or 'jvp_callee' (callees)
        self.kind = kind
        self.wrt = wrt
        self.single = single
        self.node = None
        self.injected: Dict[str, Any] = {}
        self.source: Optional[Source] = None
        self.tangents: Tuple[str, ...] = ()
        self.trees: Tuple[str, ...] = ()    # differentiated parameters that are pytrees
        # what the code is specialized for: {parameter: shape tuple, or FLOAT}
        self.shapes: Dict[str, Any] = {}

    @property
    def public(self) -> bool:
        return self.kind in ("grad", "value_and_grad", "jvp")

    @property
    def wanted_name(self) -> str:
        prefix = {"grad": "grad_", "value_and_grad": "value_and_grad_", "jvp": "jvp_",
                  "vjp": "vjp_", "jvp_callee": "jvp_"}
        return prefix[self.kind] + self.fn.__name__.strip("_<>")


# the reverse builder's mode for each kind of generated function
_REVERSE_MODES = {"grad": "grad_only", "value_and_grad": "grad", "vjp": "vjp"}


class StaticTransformer:
    """Runs the engine on statically read functions; the functions they call are built the
    same way, through the builders' callee hooks, and kept as ``Generated`` units."""

    def __init__(self, options: Options):
        self.options = options
        self.units: Dict[tuple, Generated] = {}

    def transform(self, fn: types.FunctionType, positions: Positions,
                  example: Optional[Dict[str, dict]] = None) -> Generated:
        """``grad_f`` (reverse) or ``jvp_f`` (forward) of ``fn`` for ``positions``;
        ``example``: the specs of ``--example`` (``s2s.convert.examples``), which say which
        differentiated arguments are pytrees."""
        rules.load_builtin_rules()
        source = parse_function(fn)
        params = parameter_names(source.node)
        single = isinstance(positions, int)
        wanted = (positions,) if single else tuple(positions)
        for p in wanted:
            if not -len(params) <= p < len(params):
                raise source.error(
                    source.node, f"grad position {p}", f"'{fn.__name__}' takes "
                    f"{len(params)} argument(s); give positions with --grad-position",
                    message=f"grad position {p} is out of range for '{fn.__name__}'")
        wrt = tuple(params[p] for p in wanted)
        if self.options.mode == "forward":
            kind = "jvp"
        else:
            kind = "value_and_grad" if self.options.with_value else "grad"
        unit = Generated(fn, kind, wrt, single)
        unit.trees = _tree_params(source, wrt, example or {})
        if kind != "jvp":
            unit.shapes = _shapes(params, example or {})
        if unit.trees and kind == "jvp":
            raise source.error(
                source.node, "pytree argument", f"convert '{fn.__name__}' in reverse mode, or "
                f"pass the arrays of {', '.join(unit.trees)} as arguments of their own",
                message=f"s2s convert --mode forward does not take pytree arguments "
                        f"({', '.join(unit.trees)} of '{fn.__name__}')")
        self._build(unit, source)
        return unit

    def _callee(self, kind: str, fn, wrt, weights: bool = False, trees=()) -> Generated:
        if weights:
            raise S2SError("gradients of weights are not supported by s2s convert",
                           hint="pass the weights as arguments")
        key = (kind, fn, tuple(wrt), tuple(trees))
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = Generated(fn, kind, tuple(wrt), single=False)
            unit.trees = tuple(trees)
            try:
                self._build(unit, parse_function(fn))
            except BaseException:
                del self.units[key]
                raise
        return unit

    def _build(self, unit: Generated, source: Source) -> None:
        check_reads(unit.fn, source.node)
        if unit.kind in _REVERSE_MODES:
            builder = ReverseBuilder(
                source, unit.wrt, single=unit.single, mode=_REVERSE_MODES[unit.kind],
                tree_params=unit.trees, shapes=dict(unit.shapes),
                callee_vjp=lambda fn, wrt, weights=False, tree_params=(): self._callee(
                    "vjp", fn, wrt, weights, tree_params),
                call_vjp=pipeline.call_vjp, on_adjoint_block=mark_adjoint_lines)
        else:
            builder = ForwardBuilder(source, unit.wrt,
                                     callee_jvp=lambda fn, wrt: self._callee("jvp_callee", fn,
                                                                             wrt),
                                     call_jvp=pipeline.call_jvp)
        unit.node = builder.build()
        unit.injected = dict(builder.injected)
        unit.source = source
        if unit.kind in ("jvp", "jvp_callee"):
            unit.tangents = tuple(builder.tangents[p] for p in unit.wrt)


def _tree_params(source: Source, wrt: Tuple[str, ...], example: Dict[str, dict]
                 ) -> Tuple[str, ...]:
    """The differentiated parameters that are pytrees: the example shows a tuple, list or
    dict, or the function indexes them with a string (``params["w1"]``: a dict)."""
    keyed = {node.value.id for node in gast.walk(source.node)
             if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
             and isinstance(node.slice, gast.Constant) and isinstance(node.slice.value, str)}
    return tuple(p for p in wrt if p in keyed or p in example and is_tree(example[p]))


def _shapes(params, example: Dict[str, dict]) -> Dict[str, Any]:
    """The shapes ``--example`` gives: ``{"x": (5, 3), "t": FLOAT}`` (arrays by their shape,
    floats as FLOAT); the code is then specialized for them, as ``s2s.grad`` specializes it
    for the shapes of a call."""
    shapes: Dict[str, Any] = {}
    for p in params:
        spec = example.get(p, {})
        if "shape" in spec:
            shapes[p] = tuple(spec["shape"]) if spec["shape"] else FLOAT
        elif "array" in spec:
            shapes[p] = np.asarray(spec["array"]).shape
        elif type(spec.get("value")) is float:
            shapes[p] = FLOAT
    return shapes
