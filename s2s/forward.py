"""Forward mode: each statement is followed by its tangent, taken from tangent rule templates.

In: a user function and the names of the parameters to differentiate.
Out: ``jvp_f(x, ..., dx, ...) -> (value, tangent)``: the function itself, with one tangent
statement after every primal statement that computes with a differentiated value. Control
flow keeps its shape: a tangent sits next to its primal in the same if/for/while block, so
loop-carried tangents, ``break``, ``continue`` and early returns need nothing special.

    def f(x, w):                        def jvp_f(x, w, dx):
        y = np.sin(x) * w                   y_sin = np.sin(x)
        return np.sum(y)           ->       dy_sin = dx * np.cos(x)
                                            y = y_sin * w
                                            dy = dy_sin * w
                                            out = np.sum(y)
                                            dout = np.sum(dy)
                                            return (out, dout)

The tangent of a value that does not depend on a differentiated input is a *symbolic zero*:
it is never computed, a term it would contribute is dropped at transform time (``dx * w +
x * 0`` becomes ``dx * w``), and it is materialized (``dy = zeros_like(y)``) only where
control flow needs a real variable. Where a dropped term could have given the sum its shape,
``broadcast_like`` restores it, unless shape classes prove it unnecessary.

Calls to user functions get their own generated jvp function (cached, see ``jvp_of``).
A callee known only at run time (a function passed in, a method of a local object, a
callable object, a call with ``*args``) goes through ``call_jvp(f, args, tangents)``, which
finds the function behind the value and calls its jvp function. A lambda becomes a local
def with a tangent closure beside it; a list comprehension becomes a loop (normalize).
"""
from __future__ import annotations

import ast
import builtins
import copy
import inspect
import operator
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import gast
import numpy as np

from . import rules, runtime, syntax
from .activity import STATIC_ATTRIBUTES, differentiable_reads, names_in, varied_names
from .checks import UNSUPPORTED
from .codegen import compile_function
from .errors import MissingRuleError, UnsupportedSyntaxError
from .expand import bind_call, expand, template_of
from .names import Namer
from .normalize import assign, const, dotted, is_atom, name, normalize
from .optimize import Context, optimize, is_elementwise
from .shapes import class_of, shape_classes
from .parse import Source, parse_function
from .api import _resolved_still, cached_build
from .resolve import UNRESOLVED, Resolver, local_names, is_constant_call
from .reverse import parameter_names

BINARY_OPERATORS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.Mod: operator.mod, gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
}
UNARY_OPERATORS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
# list methods whose receiver's tangent is updated the same way
LIST_METHODS = {"append", "extend", "insert"}

ZERO = "__s2s_zero__"          # a symbolic zero tangent inside an expanded rule
RESULT = "__s2s_result__"      # the primal result while a rule is expanded
DRESULT = "__s2s_dresult__"    # the tangent being assigned while a rule is expanded


def broadcast_like(tangent, primal):
    """``tangent`` with ``primal``'s shape (a read-only view when it had to grow).

    Generated code calls it where a zero term dropped at transform time may have taken the
    shape of a sum with it: ``z = x + b`` with ``b`` constant has ``dz = dx``, smaller than
    ``z`` when ``b`` broadcast ``x``.
    """
    kind = type(primal)
    if kind is tuple or kind is list:
        return kind(broadcast_like(t, p) for t, p in zip(tangent, primal))
    if kind is dict:
        return {k: broadcast_like(tangent[k], p) for k, p in primal.items()}
    shape = np.shape(primal)
    if np.shape(tangent) == shape:
        return tangent
    return np.broadcast_to(tangent, shape)


def tangent_rule(fn: Any):
    """The forward-mode rule registered for ``fn``, or None."""
    rules.load_builtin_rules()
    try:
        return rules.TANGENT.get(getattr(fn, "__func__", fn))
    except TypeError:       # unhashable callables have no rule
        return None


def tangent_parameters(node: gast.FunctionDef, wrt: Sequence[str]) -> List[str]:
    """The names of the tangent parameters the generated jvp function of ``node`` takes.

    They are the first names the builder makes, so a caller can know them without building.
    """
    namer = Namer.for_tree(node)
    return [namer.fresh("d" + p) for p in wrt]


def _is_zero(node) -> bool:
    return isinstance(node, gast.Name) and node.id == ZERO


def _zero() -> gast.Name:
    return name(ZERO)


class ForwardBuilder:
    """Builds the jvp function of one user function.

    ``select``: when the function returns a tuple, return the tangent of that item only
    (``has_aux`` is ``select=0``; a generated gradient ``(value, grads)`` uses ``select=1``).
    """

    def __init__(self, source: Source, wrt: Sequence[str], select: Optional[int] = None,
                 callee_jvp: Optional[Callable] = None):
        self.source = source
        self.wrt = list(wrt)
        self.select = select
        self.callee_jvp = callee_jvp or jvp_of
        self.namer = Namer.for_tree(source.node)
        self.injected: Dict[str, Any] = {}
        self.tangents: Dict[str, str] = {}     # primal name -> tangent name
        self.temps: Set[str] = set()           # names of rule locals and helpers' results
        self.live: Set[str] = set()            # primal names whose tangent variable is set
        self.owned: Set[str] = set()           # tangents private to us (safe to update in place)
        self.defined: Set[str] = set()         # names bound by earlier statements
        self.depth = 0                         # inside how many if/for/while blocks
        self.numbers: Set[str] = set()         # names last bound to a number constant
        # local function -> (its parameters, those with a default)
        self.local_params: Dict[str, Tuple[List[str], Set[str]]] = {}

    # -- entry point ----------------------------------------------------------------------
    def build(self) -> gast.FunctionDef:
        fn = self.source.node
        check_supported(self.source, fn)
        params = parameter_names(fn)
        for p in self.wrt:
            if p not in params:
                raise TypeError(f"'{fn.name}' has no parameter '{p}'")
        tangent_params = [self.tangent(p) for p in self.wrt]
        self.resolver = Resolver(self.source, local_names(fn))
        prepared = Prepare(self).function(fn)
        normalized = normalize(self.source, prepared, self.namer)
        # normalization names new locals: the lists that list comprehensions become
        self.resolver.locals |= local_names(normalized)
        primal_temps = set(self.namer.made) - set(tangent_params)
        self.varied = varied_names(self._edges(normalized.body), self.wrt)
        self.live = set(self.wrt)
        self.defined = set(params)
        body = self.block(normalized.body)
        if not body or not isinstance(body[-1], gast.Return):
            body.append(gast.Return(value=gast.Tuple(elts=[const(None), const(None)],
                                                     ctx=gast.Load())))
        new = gast.FunctionDef(
            name=self.namer.fresh("jvp_" + fn.name.strip("_<>")),
            args=_with_parameters(fn.args, tangent_params), body=body, decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        ast.copy_location(new, fn)
        return self._optimize(new, primal_temps, tangent_params)

    def _optimize(self, new, primal_temps, tangent_params):
        cotangent_of = {d: p for p, d in self.tangents.items()}
        ctx = Context(generated=(set(self.tangents.values()) - set(tangent_params)) | self.temps,
                      primal_temps=primal_temps, cotangent_of=cotangent_of,
                      elementwise=self._is_elementwise_call, unbroadcast=None)
        classes = shape_classes(new, ctx)
        shapers = {self._name_of(broadcast_like), self._name_of(_unbroadcast())} - {None}
        _DropShaping(classes, ctx, shapers).visit(new)
        new = optimize(new, ctx)
        new = _SpliceStarred().visit(new)
        new.body = _drop_unused_functions(_drop_self_assignments(new.body))
        return new

    # -- names ----------------------------------------------------------------------------
    def tangent(self, primal: str) -> str:
        d = self.tangents.get(primal)
        if d is None:
            d = self.tangents[primal] = self.namer.fresh("d" + primal)
        return d

    def bind_free(self, wanted: str, obj: Any) -> str:
        """A name for ``obj`` in the generated code: the user's own if it means the same."""
        if wanted not in self.resolver.locals and self.source.lookup(wanted) is obj:
            return wanted
        for existing, value in self.injected.items():
            if value is obj:
                return existing
        fresh = self.namer.fresh(wanted)
        self.injected[fresh] = obj
        return fresh

    def _name_of(self, obj: Any) -> Optional[str]:
        for n, value in self.injected.items():
            if value is obj:
                return n
        wanted = getattr(obj, "__name__", "")
        if wanted and self.source.lookup(wanted) is obj:
            return wanted
        return None

    def _helper(self, wanted: str, obj: Any, args: List[ast.AST]) -> gast.Call:
        return gast.Call(func=name(self.bind_free(wanted, obj)), args=args, keywords=[])

    def _fresh_temp(self, base: str) -> str:
        fresh = self.namer.fresh(base)
        self.temps.add(fresh)
        return fresh

    def zeros(self, var: str, value: Optional[ast.AST] = None) -> ast.AST:
        """A zero tangent for ``var``: ``0.0`` for a number constant, else ``zeros_like``."""
        if (isinstance(value, gast.Constant) and type(value.value) in (int, float, bool)
                or value is None and var in self.numbers):
            return const(0.0)
        return self._helper("zeros_like", runtime.zeros_like, [name(var)])

    # -- analysis -------------------------------------------------------------------------
    def callee(self, call: gast.Call) -> Any:
        return self.resolver.resolve(call.func)

    def is_constant_call(self, call: gast.Call) -> bool:
        return is_constant_call(self.callee(call), call)

    def _reads(self, value) -> Set[str]:
        if isinstance(value, gast.Subscript) and not isinstance(value.value, gast.Name):
            value = value.value             # x.shape[0]: the attribute decides
        if isinstance(value, gast.Attribute) and value.attr in STATIC_ATTRIBUTES:
            return set()
        return differentiable_reads(value, self.is_constant_call)

    def _edges(self, body) -> List[Tuple[Set[str], Set[str]]]:
        """(names written, names they depend on) for every statement, nested ones included."""
        edges = []
        for stmt in _walk_statements(body):
            if isinstance(stmt, gast.Assign):
                reads = self._reads(stmt.value)
                for t in stmt.targets:
                    edges.append((_stored(t) | _base(t), reads | _base(t)))
            elif isinstance(stmt, gast.AugAssign):
                edges.append((_base(stmt.target), names_in(stmt.value) | _base(stmt.target)))
            elif isinstance(stmt, gast.For):
                edges += self._loop_edges(stmt)
            elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
                receiver, args = self._in_place_call(stmt.value)
                if receiver is not None:
                    edges.append(({receiver}, set().union(*map(names_in, args))))
            elif isinstance(stmt, gast.FunctionDef):
                # a closure depends on what it reads; so do the variables it rebinds
                edges.append((_bound_names([stmt]), names_in(stmt)))
        return edges

    def _loop_edges(self, stmt: gast.For):
        kind, args = self._iteration(stmt)
        if kind == "range":
            return []
        if kind == "enumerate":
            return [(_stored(stmt.target.elts[1]), names_in(args[0]))]
        if kind == "zip":
            return [(_stored(t), names_in(a)) for t, a in zip(stmt.target.elts, args)]
        return [(_stored(stmt.target), names_in(stmt.iter))]

    def _iteration(self, stmt: gast.For):
        """How a for loop iterates: ('range'|'enumerate'|'zip'|'plain', arguments)."""
        it = stmt.iter
        if isinstance(it, gast.Call) and not it.keywords:
            func = self.callee(it)
            if func is builtins.range:
                return "range", it.args
            target = stmt.target
            if (func is builtins.enumerate and len(it.args) == 1
                    and isinstance(target, gast.Tuple) and len(target.elts) == 2):
                return "enumerate", it.args
            if (func is builtins.zip and isinstance(target, gast.Tuple)
                    and len(target.elts) == len(it.args)
                    and not any(isinstance(a, gast.Starred) for a in it.args)):
                return "zip", it.args
        return "plain", [it]

    def _in_place_call(self, call: gast.Call):
        """(receiver name, operand nodes) of ``lst.append(v)`` or ``add_at(buf, k, v)``."""
        func = call.func
        if (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id in self.resolver.locals):
            return func.value.id, list(call.args)
        if (self.callee(call) is runtime.add_at and len(call.args) == 3
                and isinstance(call.args[0], gast.Name)):
            return call.args[0].id, [call.args[2]]
        return None, []

    def _is_elementwise_call(self, call: gast.Call) -> bool:
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.injected:
            return is_elementwise(self.injected[func.id])
        return is_elementwise(self.resolver.resolve(func))

    # -- statements -----------------------------------------------------------------------
    def block(self, stmts: List[ast.AST]) -> List[ast.AST]:
        out: List[ast.AST] = []
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, gast.FunctionDef):
                self._check_closure(stmt, stmts[i + 1:])
            out.extend(self.statement(stmt))
            bound = _bound_names([stmt])
            self.defined |= bound
            self.numbers -= bound
            if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                    and isinstance(stmt.value, gast.Constant)
                    and type(stmt.value.value) in (int, float)):
                self.numbers.add(stmt.targets[0].id)
        return out

    def statement(self, stmt: ast.AST) -> List[ast.AST]:
        if isinstance(stmt, gast.Assign):
            target = stmt.targets[0]
            if len(stmt.targets) == 1 and isinstance(target, gast.Name):
                return self.assign(target.id, stmt.value, stmt)
            if len(stmt.targets) == 1 and isinstance(target, gast.Subscript):
                return self.subscript_store(target, stmt)
            return self._reject_if_varied(stmt, _bound_names([stmt]) | _base(target),
                                          "this assignment")
        if isinstance(stmt, gast.AugAssign):
            return self._reject_if_varied(stmt, _base(stmt.target), "this augmented assignment")
        if isinstance(stmt, gast.If):
            return self.branch(stmt)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt)
        if isinstance(stmt, gast.Return):
            return [self.return_(stmt)]
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            return self.call_statement(stmt)
        if isinstance(stmt, gast.FunctionDef):
            return self.nested_function(stmt)
        return [stmt]

    def _reject_if_varied(self, stmt, touched: Set[str], what: str) -> List[ast.AST]:
        if touched & self.varied:
            raise self.source.error(stmt, f"{what} of a differentiated value",
                                    "assign to a plain name or an item (x[i] = v) instead")
        return [stmt]

    def assign(self, target: str, value: ast.AST, stmt: ast.AST) -> List[ast.AST]:
        if target not in self.varied:
            return [stmt]
        if isinstance(value, gast.Call):
            call = (self.user_call(target, value, stmt) or self.local_call(target, value, stmt)
                    or self.dynamic_call(target, value, stmt))
            if call is not None:
                return call
        tangent = self.tangent_statements(value, stmt)
        if tangent is None:
            return [stmt] + self.set_zero(target, value)
        result = target
        if target in _loaded_names(tangent):
            # the tangent reads the old value of the name this statement rebinds
            result = self._fresh_temp(target + "_new")
            stmt = assign(result, value, stmt)
        tangent = _rename(tangent, {RESULT: result, DRESULT: self.tangent(target)})
        out = [stmt] + tangent
        if result != target:
            out.append(assign(target, name(result)))
        self.live.add(target)
        last = tangent[-1]
        if isinstance(last, gast.Assign) and _creates_new(last.value):
            self.owned.add(target)
        else:
            self.owned.discard(target)
        return out

    def set_zero(self, target: str, value: Optional[ast.AST] = None) -> List[ast.AST]:
        """``target`` now has a zero tangent: symbolic, or materialized inside control flow."""
        if self.depth == 0:
            self.live.discard(target)
            self.owned.discard(target)
            return []
        self.live.add(target)
        self.owned.add(target)
        return [assign(self.tangent(target), self.zeros(target, value))]

    def materialize(self, names: Set[str]) -> List[ast.AST]:
        """Real zero tangents for ``names`` that are bound but have a symbolic zero tangent."""
        out = []
        for var in sorted(names & self.varied & self.defined - self.live):
            out.append(assign(self.tangent(var), self.zeros(var)))
            self.live.add(var)
            self.owned.add(var)
        return out

    def own(self, var: str) -> List[ast.AST]:
        """Make ``var``'s tangent a private, real array before it is updated in place."""
        if var not in self.live:
            self.live.add(var)
            self.owned.add(var)
            return [assign(self.tangent(var), self.zeros(var))]
        if var in self.owned:
            return []
        self.owned.add(var)
        d = self.tangent(var)
        return [assign(d, self._helper("own", runtime.own, [name(d), name(var)]))]

    def subscript_store(self, target: gast.Subscript, stmt) -> List[ast.AST]:
        """``x[i] = v`` also sets ``dx[i] = dv``."""
        base = target.value
        if not isinstance(base, gast.Name) or base.id not in self.varied:
            return self._reject_if_varied(stmt, _base(target), "this item assignment")
        value = self.operand_tangent(stmt.value)
        if _is_zero(value):
            if base.id not in self.live:
                return [stmt]
            value = (const(0.0) if isinstance(stmt.value, gast.Constant)
                     else self.zeros(stmt.value.id))
        out = self.own(base.id) + [stmt]
        store = gast.Subscript(value=name(self.tangent(base.id)),
                               slice=copy.deepcopy(target.slice), ctx=gast.Store())
        out.append(gast.Assign(targets=[store], value=value, type_comment=None))
        return out

    def call_statement(self, stmt: gast.Expr) -> List[ast.AST]:
        """``lst.append(v)`` also appends ``dv``; ``add_at(buf, k, v)`` also adds ``dv``."""
        call = stmt.value
        receiver, _ = self._in_place_call(call)
        if receiver is None or receiver not in self.varied:
            return [stmt]
        if isinstance(call.func, gast.Attribute):
            if call.func.attr not in LIST_METHODS:
                raise self.source.error(call, f"the method .{call.func.attr}() on a "
                                        "differentiated value",
                                        "build a new value instead of updating it in place")
            args = [a if (call.func.attr == "insert" and i == 0) else self._dense_tangent(a)
                    for i, a in enumerate(call.args)]
            method = gast.Attribute(value=name(self.tangent(receiver)), attr=call.func.attr,
                                    ctx=gast.Load())
            update = gast.Call(func=method, args=args, keywords=[])
        else:
            dvalue = self.operand_tangent(call.args[2])
            if _is_zero(dvalue):
                return [stmt]
            update = gast.Call(func=copy.deepcopy(call.func),
                               args=[name(self.tangent(receiver)), copy.deepcopy(call.args[1]),
                                     dvalue], keywords=[])
        return self.own(receiver) + [stmt, gast.Expr(value=update)]

    def local_call(self, target: str, call: gast.Call, stmt) -> Optional[List[ast.AST]]:
        """``y = lst.pop()`` pops the tangent too; ``y = h(a)`` for a function value ``h``
        with a tangent function ``dh`` becomes ``y, dy = dh(a, da)``."""
        func = call.func
        if (isinstance(func, gast.Attribute) and func.attr == "pop"
                and isinstance(func.value, gast.Name) and func.value.id in self.resolver.locals):
            receiver = func.value.id
            if receiver not in self.live:
                return [stmt] + self.set_zero(target)
            pop = gast.Call(func=gast.Attribute(value=name(self.tangent(receiver)), attr="pop",
                                                ctx=gast.Load()),
                            args=copy.deepcopy(call.args), keywords=[])
            self.live.add(target)
            self.owned.discard(target)
            return [stmt, assign(self.tangent(target), pop)]
        if not (isinstance(func, gast.Name) and func.id in self.resolver.locals
                and func.id in self.live):
            return None
        if _has_star(call):
            raise self.source.error(call, "a call of a local function with starred "
                                    "arguments", "pass the arguments one by one")
        params, defaulted = self.local_params.get(func.id, (None, set()))
        if not defaulted:
            if call.keywords:
                raise self.source.error(call, "a keyword argument to a function value",
                                        "pass the arguments by position")
            # the tangent function takes one tangent per parameter, after them
            tangents = [self._dense_tangent(a) for a in call.args]
            new_call = gast.Call(func=name(self.tangent(func.id)),
                                 args=list(call.args) + tangents, keywords=[])
        else:
            # a local function with defaults: its tangents are keyword-only, zero by default
            given = list(zip(params, call.args)) + [(k.arg, k.value) for k in call.keywords]
            unknown = [p for p, _ in given if p not in params]
            if unknown:
                raise self.source.error(call, f"an unknown keyword argument '{unknown[0]}'",
                                        f"the function takes {', '.join(params)}")
            tangents = [gast.keyword(arg=self.tangent(p), value=self._dense_tangent(v))
                        for p, v in given
                        if p not in defaulted or not _is_zero(self.operand_tangent(v))]
            new_call = gast.Call(func=name(self.tangent(func.id)), args=list(call.args),
                                 keywords=copy.deepcopy(call.keywords) + tangents)
        pair = gast.Tuple(elts=[name(target, gast.Store()),
                                name(self.tangent(target), gast.Store())], ctx=gast.Store())
        self.live.add(target)
        self.owned.discard(target)
        return [ast.copy_location(gast.Assign(targets=[pair], value=new_call, type_comment=None),
                                  stmt)]

    def dynamic_call(self, target: str, call: gast.Call, stmt, force: bool = False
                     ) -> Optional[List[ast.AST]]:
        """``y = f(a, b)`` where ``f`` is only known at run time (a function passed in, a
        method of a local object, a bound method or callable object) becomes
        ``y, dy = call_jvp(f, (a, b), (None, db))``."""
        if not (force or self._is_dynamic(call)):
            return None
        args, tangents = [], []
        for a in call.args:
            if isinstance(a, gast.Starred):
                args.append(a)
                t = self.operand_tangent(a.value)
                if _is_zero(t):
                    t = self._helper("zeros_like", runtime.zeros_like, [copy.deepcopy(a.value)])
                tangents.append(gast.Starred(value=t, ctx=gast.Load()))
            else:
                args.append(a)
                t = self.operand_tangent(a)
                tangents.append(const(None) if _is_zero(t) else t)
        keys, values, dvalues = [], [], []
        for kw in call.keywords:
            keys.append(None if kw.arg is None else const(kw.arg))
            values.append(kw.value)
            t = self.operand_tangent(kw.value)
            if kw.arg is None and _is_zero(t):
                t = self._helper("zeros_like", runtime.zeros_like, [copy.deepcopy(kw.value)])
            dvalues.append(const(None) if _is_zero(t) else t)
        if all(isinstance(t, gast.Constant) for t in tangents + dvalues):
            return [stmt] + self.set_zero(target, call)
        call_args = [copy.deepcopy(call.func), gast.Tuple(elts=args, ctx=gast.Load()),
                     gast.Tuple(elts=tangents, ctx=gast.Load())]
        if keys:
            call_args += [gast.Dict(keys=keys, values=values),
                          gast.Dict(keys=copy.deepcopy(keys), values=dvalues)]
        new_call = self._helper("call_jvp", call_jvp, call_args)
        pair = gast.Tuple(elts=[name(target, gast.Store()),
                                name(self.tangent(target), gast.Store())], ctx=gast.Store())
        self.live.add(target)
        self.owned.discard(target)
        return [ast.copy_location(gast.Assign(targets=[pair], value=new_call, type_comment=None),
                                  stmt)]

    def _is_dynamic(self, call: gast.Call) -> bool:
        """Is the callee a function value, bound method or callable object (not a
        primitive with a rule, an array method or a plain user function)?"""
        func = self.callee(call)
        if func is UNRESOLVED:
            node = call.func
            if isinstance(node, gast.Name):
                return node.id not in self.live
            if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name):
                # a method of a local object; array methods have rules
                return (node.value.id not in self.live
                        and getattr(np.ndarray, node.attr, None) is None)
            return False
        if tangent_rule(func) is not None or rules.is_nondifferentiable(func):
            return False
        if isinstance(func, type) or _is_user_function(func):
            return _is_user_function(func) and _has_star(call)
        target, _ = runtime._target(func)
        return _is_user_function(target)

    def nested_function(self, stmt: gast.FunctionDef) -> List[ast.AST]:
        """``def h(a): ...`` is kept, and followed by its tangent closure
        ``def dh(a, da): ... return (value, tangent)``, which reads the tangents of the
        variables ``h`` closes over (a pullback made by reverse mode is one such ``h``)."""
        if stmt.args.vararg or stmt.args.kwarg or stmt.args.kwonlyargs:
            raise self.source.error(stmt, "a local function with *args or keyword-only "
                                    "parameters", "give the local function plain parameters")
        node = normalize(self.source, Prepare(self).function(stmt), self.namer)
        self.resolver.locals |= local_names(node)
        params = parameter_names(node)
        defaulted = set(params[len(params) - len(node.args.defaults):]
                        if node.args.defaults else ())
        self.local_params[node.name] = (params, defaulted)
        nonlocals = {n for s in node.body if isinstance(s, gast.Nonlocal) for n in s.names}
        before = self.materialize(nonlocals)
        saved = (self.varied, self.live, self.owned, self.defined, self.depth, self.numbers,
                 self.select)
        self.varied = varied_names(self._edges(node.body), self.varied | set(params))
        self.live = self.live | set(params)
        self.owned = set()
        self.defined = self.defined | set(params)
        self.depth, self.numbers, self.select = 0, set(), None
        body = []
        for s in node.body:
            if isinstance(s, gast.Nonlocal):
                varied = [n for n in s.names if n in self.varied]
                body.append(gast.Nonlocal(names=list(s.names) + [self.tangent(n) for n in varied]))
        body += self.block([s for s in node.body if not isinstance(s, gast.Nonlocal)])
        (self.varied, self.live, self.owned, self.defined, self.depth, self.numbers,
         self.select) = saved
        args = _with_parameters(node.args, [self.tangent(p) for p in params])
        if defaulted:
            # a parameter left at its default has a zero tangent
            args.kw_defaults = [const(0.0) if p in defaulted else None for p in params]
        tangent_fn = gast.FunctionDef(
            name=self.tangent(node.name), args=args, body=body,
            decorator_list=[], returns=None, type_comment=None, type_params=[])
        self.live.add(node.name)
        self.varied.add(node.name)
        return before + [node, ast.copy_location(tangent_fn, stmt)]

    def _check_closure(self, stmt: gast.FunctionDef, following: List[ast.AST]) -> None:
        """A closure reads variables when it runs: none may change after its def."""
        later = _bound_names(following)
        read = {n.id for n in syntax.walk(stmt) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Load)}
        changed = sorted(read & later & self.varied)
        if changed:
            raise self.source.error(stmt, "a local function over variables that change after "
                                    "its def", f"'{changed[0]}' is rebound later; define the "
                                    "function after the last assignment it depends on")

    def _dense_tangent(self, node: ast.AST) -> ast.AST:
        """The tangent of an operand as a real value (zeros where it is symbolic)."""
        t = self.operand_tangent(node)
        if not _is_zero(t):
            return t
        if isinstance(node, gast.Name):
            return self.zeros(node.id)
        if isinstance(node, gast.Constant) and type(node.value) in (int, float, bool):
            return const(0.0)
        return self._helper("zeros_like", runtime.zeros_like, [copy.deepcopy(node)])

    def return_(self, stmt: gast.Return) -> gast.Return:
        value = stmt.value if stmt.value is not None else const(None)
        if self.select is not None:
            if not (isinstance(value, gast.Tuple) and len(value.elts) > self.select):
                raise self.source.error(
                    stmt, "a single return value where a tuple is expected",
                    "with has_aux=True the function must return a tuple (out, aux1, ...)")
            tangent = self._dense_tangent(value.elts[self.select])
        elif isinstance(value, gast.Tuple):
            tangent = gast.Tuple(elts=[self._dense_tangent(e) for e in value.elts],
                                 ctx=gast.Load())
        else:
            tangent = self._dense_tangent(value)
        new = gast.Return(value=gast.Tuple(elts=[value, tangent], ctx=gast.Load()))
        return ast.copy_location(new, stmt)

    # -- control flow ---------------------------------------------------------------------
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

    # -- tangents of right-hand sides -----------------------------------------------------
    def operand_tangent(self, node: Optional[ast.AST]) -> ast.AST:
        """The tangent of an operand (a name, constant or literal), or the symbolic zero."""
        if isinstance(node, gast.Name):
            return name(self.tangent(node.id)) if node.id in self.live else _zero()
        if isinstance(node, (gast.Tuple, gast.List)):
            elts = [self.operand_tangent(e) for e in node.elts]
            if all(_is_zero(e) for e in elts):
                return _zero()
            dense = [self._dense_tangent(e) if _is_zero(t) else t
                     for e, t in zip(node.elts, elts)]
            return type(node)(elts=dense, ctx=gast.Load())
        if isinstance(node, gast.Dict) and None not in node.keys:
            values = [self.operand_tangent(v) for v in node.values]
            if all(_is_zero(v) for v in values):
                return _zero()
            return gast.Dict(keys=copy.deepcopy(node.keys),
                             values=[self._dense_tangent(v) if _is_zero(t) else t
                                     for v, t in zip(node.values, values)])
        if isinstance(node, gast.Starred):
            raise self.source.error(node, "a starred argument", "pass the arguments one by one")
        return _zero()

    def tangent_statements(self, value: ast.AST, stmt) -> Optional[List[ast.AST]]:
        """Statements that assign ``DRESULT`` the tangent of ``value``, or None for zero."""
        if isinstance(value, gast.Name):
            return self._simple(self.operand_tangent(value))
        if isinstance(value, (gast.Constant, gast.Compare)):
            return None
        if isinstance(value, gast.BinOp):
            fn = BINARY_OPERATORS.get(type(value.op))
            if fn is None:          # //, bitwise operators: piecewise constant
                return None
            return self.apply_rule(fn, [value.left, value.right], {}, stmt)
        if isinstance(value, gast.UnaryOp):
            fn = UNARY_OPERATORS.get(type(value.op))
            if fn is None:
                return None
            return self.apply_rule(fn, [value.operand], {}, stmt)
        if isinstance(value, gast.Call):
            return self.call_tangent(value, stmt)
        if isinstance(value, gast.Attribute):
            if value.attr in STATIC_ATTRIBUTES:
                return None
            base = self.operand_tangent(value.value)
            if value.attr != "T":
                raise self.source.error(value, f"the attribute .{value.attr}",
                                        "only .T and data attributes (.shape, .ndim, .size, "
                                        ".dtype) of arrays are differentiable")
            return self._simple(base if _is_zero(base) else gast.Attribute(
                value=base, attr="T", ctx=gast.Load()))
        if isinstance(value, gast.Subscript):
            base = (self.operand_tangent(value.value) if isinstance(value.value, gast.Name)
                    else _zero())
            return self._simple(base if _is_zero(base) else gast.Subscript(
                value=base, slice=copy.deepcopy(value.slice), ctx=gast.Load()))
        if isinstance(value, gast.Tuple):
            return self._simple(self.operand_tangent(value))
        if isinstance(value, gast.List):
            # a list may grow later (lst.append): its tangent is always a real list
            return self._simple(gast.List(elts=[self._dense_tangent(e) for e in value.elts],
                                          ctx=gast.Load()))
        if isinstance(value, gast.Dict):
            if any(k is None for k in value.keys):
                raise self.source.error(value, "a ** in a dict literal", "list the items")
            return self._simple(gast.Dict(keys=copy.deepcopy(value.keys),
                                          values=[self._dense_tangent(v) for v in value.values]))
        raise self.source.error(value, _describe(value),
                                "rewrite it with operations that s2s has rules for")

    def _simple(self, tangent: ast.AST) -> Optional[List[ast.AST]]:
        if _is_zero(tangent):
            return None
        return [assign(DRESULT, tangent)]

    def call_tangent(self, call: gast.Call, stmt) -> Optional[List[ast.AST]]:
        keywords = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise self.source.error(call, "a **kwargs call",
                                        "pass keyword arguments one by one")
            keywords[kw.arg] = kw.value
        if self.is_constant_call(call):
            return None
        func = self.callee(call)
        if (func is UNRESOLVED and isinstance(call.func, gast.Attribute)
                and isinstance(call.func.value, gast.Name)):
            method = getattr(np.ndarray, call.func.attr, None)
            if method is None or tangent_rule(method) is None:
                raise self.source.error(
                    call, f"the method .{call.func.attr}()",
                    "no tangent rule for this array method; call the NumPy function instead, "
                    "or register one with @s2s.tangent(np.ndarray." + call.func.attr + ")",
                    cls=MissingRuleError)
            return self.apply_rule(method, [call.func.value] + list(call.args), keywords, stmt)
        if func is UNRESOLVED:
            raise self.source.error(
                call, f"a call to '{_source_text(call.func)}'",
                "s2s resolves called functions at transform time; call a global or imported "
                "function (functions passed as arguments are not supported yet)")
        return self.apply_rule(func, list(call.args), keywords, stmt)

    def user_call(self, target: str, call: gast.Call, stmt) -> Optional[List[ast.AST]]:
        """``t = g(a, b)`` with a tangent for ``a`` becomes ``t, dt = jvp_g(a, b, da=da)``."""
        func = self.callee(call)
        if not _is_user_function(func):
            return None
        if _has_star(call):
            return self.dynamic_call(target, call, stmt, force=True)
        try:
            bound = inspect.signature(func).bind(
                *call.args, **{k.arg: k.value for k in call.keywords if k.arg})
        except TypeError as exc:
            raise self.source.error(call, f"this call of {func.__name__}", str(exc))
        wrt = []
        for param, node in bound.arguments.items():
            if isinstance(node, (tuple, dict)):     # *args, **kwargs
                if any(n.id in self.live for v in (node.values() if isinstance(node, dict)
                                                  else node)
                       for n in syntax.walk(v) if isinstance(n, gast.Name)):
                    # the tangent of a *args parameter is a tuple: call_jvp builds it
                    return self.dynamic_call(target, call, stmt, force=True)
                continue
            tangent = self.operand_tangent(node)
            if not _is_zero(tangent):
                wrt.append((param, tangent))
        if not wrt:
            return [stmt] + self.set_zero(target, call)
        names = tuple(p for p, _ in wrt)
        compiled = self.callee_jvp(func, names)
        jvp_name = self.bind_free("jvp_" + func.__name__.strip("_<>"), compiled)
        new_call = gast.Call(func=name(jvp_name), args=list(call.args),
                             keywords=list(call.keywords) + [
                                 gast.keyword(arg=tp, value=tangent)
                                 for tp, (_, tangent) in zip(_callee_tangents(func, names), wrt)])
        pair = gast.Tuple(elts=[name(target, gast.Store()),
                                name(self.tangent(target), gast.Store())], ctx=gast.Store())
        self.live.add(target)
        self.owned.discard(target)
        return [ast.copy_location(gast.Assign(targets=[pair], value=new_call, type_comment=None),
                                  stmt)]

    def apply_rule(self, fn: Any, args: List[ast.AST], keywords: Dict[str, ast.AST],
                   stmt) -> Optional[List[ast.AST]]:
        rule = tangent_rule(fn)
        label = getattr(fn, "__name__", str(fn))
        if rule is None:
            if _is_user_function(fn):
                raise self.source.error(stmt, f"the call of {label}",
                                        "only plain calls `y = f(x)` of user functions are "
                                        "differentiated", cls=UnsupportedSyntaxError)
            raise self.source.error(
                stmt, f"a call to {label}",
                f"register a tangent rule: @s2s.tangent({label}) above def {label}_jvp(...): "
                f"dresult = dx * ...", cls=MissingRuleError,
                message=f"s2s has no forward-mode rule for {label} "
                        f"({getattr(fn, '__module__', None) or 'builtin'}.{label})")
        template = template_of(rule)
        bound = bind_call(template, args, keywords)
        if bound is None:
            raise self.source.error(stmt, f"this call of {label}",
                                    f"the rule supports the arguments {template.signature}",
                                    cls=MissingRuleError)
        mapping = dict(bound)
        live = False
        for param in template.signature.parameters:
            t = self.operand_tangent(bound.get(param))
            mapping["d" + param] = t
            live = live or not _is_zero(t)
        if not live:
            return None
        expansion = expand(template, mapping, name(RESULT), name(DRESULT),
                           lambda base: DRESULT if base == "dresult" else self._fresh_temp(base),
                           self.bind_free)
        tangent_names = set(self.tangents.values()) | {DRESULT}
        operands = {n.id for node in bound.values() for n in syntax.walk(node)
                    if isinstance(n, gast.Name)}
        body, zero = Simplifier(self, tangent_names, operands).block(expansion.statements)
        return None if zero else body


class Simplifier:
    """Folds the symbolic zeros out of an expanded tangent rule.

    ``a * 0 -> 0``, ``a + 0 -> a``, ``0 - a -> -a``, ``f(0) -> 0`` for a call whose only
    tangent argument is zero (other zero arguments become ``0.0``). Where a zero left a sum,
    the tangent is wrapped in ``broadcast_like(t, result)`` to keep the result's shape.
    """

    def __init__(self, builder: ForwardBuilder, tangent_names: Set[str], operands: Set[str]):
        self.builder = builder
        self.tangent_names = tangent_names
        self.operands = operands                # the primitive's operand names
        self.zero_locals: Set[str] = set()
        # what each name stands for, in terms of operands: dx -> {x}, a rule local -> its reads
        self.meaning: Dict[str, Set[str]] = {d: {p} for p, d in builder.tangents.items()}

    def block(self, stmts, top: bool = True) -> Tuple[List[ast.AST], bool]:
        """The simplified statements, and whether the tangent is statically zero."""
        out: List[ast.AST] = []
        zero = False
        for stmt in stmts:
            if isinstance(stmt, gast.If):
                stmt.body = self.block(stmt.body, top=False)[0] or [gast.Pass()]
                stmt.orelse = self.block(stmt.orelse, top=False)[0]
                out.append(stmt)
                continue
            if not isinstance(stmt, gast.Assign):
                out.append(stmt)
                continue
            target = stmt.targets[0].id
            value, shrunk = self.expr(_rename(stmt.value, {n: ZERO for n in self.zero_locals}))
            if target != DRESULT:
                if _is_zero(value):
                    self.zero_locals.add(target)
                    continue
                if self.is_tangent(value):
                    self.tangent_names.add(target)
                self.meaning[target] = self.reads(value)
                stmt.value = value
                out.append(stmt)
                continue
            if _is_zero(value):
                if top:
                    zero = True
                    continue
                value = self.builder._helper("zeros_like", runtime.zeros_like, [name(RESULT)])
            elif shrunk:
                value = self.builder._helper("broadcast_like", broadcast_like,
                                             [value, name(RESULT)])
            stmt.value = value
            out.append(stmt)
        return out, zero

    def is_tangent(self, node) -> bool:
        return any(isinstance(n, gast.Name) and n.id in self.tangent_names
                   for n in syntax.walk(node))

    def reads(self, node) -> Set[str]:
        out = set()
        for n in syntax.walk(node):
            if isinstance(n, gast.Name):
                out |= self.meaning.get(n.id, {n.id})
        return out

    def shrinks(self, node) -> bool:
        """Could ``node`` be smaller than the result? Not if it reads the result, or every
        operand (``dx1 * x2`` has the shape of ``x1 * x2``)."""
        reads = self.reads(node)
        return RESULT not in reads and not self.operands <= reads

    def expr(self, node) -> Tuple[ast.AST, bool]:
        """``node`` without symbolic zeros, and whether a zero left a sum on the way."""
        if isinstance(node, gast.BinOp):
            left, s1 = self.expr(node.left)
            right, s2 = self.expr(node.right)
            shrunk = s1 or s2
            if isinstance(node.op, (gast.Add, gast.Sub)):
                if _is_zero(left) and _is_zero(right):
                    return _zero(), False
                if _is_zero(right):
                    return left, self.shrinks(left)
                if _is_zero(left):
                    if isinstance(node.op, gast.Add):
                        return right, self.shrinks(right)
                    return gast.UnaryOp(op=gast.USub(), operand=right), self.shrinks(right)
            elif _is_zero(left) or _is_zero(right):
                if isinstance(node.op, gast.Div) and _is_zero(right):
                    raise ValueError("a tangent rule divides by a tangent")
                return _zero(), False
            node.left, node.right = left, right
            return node, shrunk
        if isinstance(node, gast.UnaryOp):
            operand, shrunk = self.expr(node.operand)
            if _is_zero(operand):
                return _zero(), False
            node.operand = operand
            return node, shrunk
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, (gast.Subscript, gast.Attribute)):
            value, shrunk = self.expr(node.value)
            if _is_zero(value):
                return _zero(), False
            node.value = value
            return node, shrunk
        if isinstance(node, (gast.Tuple, gast.List)):
            parts = [self.expr(e) for e in node.elts]
            if all(_is_zero(e) for e, _ in parts):
                return _zero(), False
            node.elts = [const(0.0) if _is_zero(e) else e for e, _ in parts]
            return node, any(s for _, s in parts) or any(_is_zero(e) for e, _ in parts)
        return node, False

    def call(self, node: gast.Call) -> Tuple[ast.AST, bool]:
        args = [self.expr(a) for a in node.args]
        kwargs = [self.expr(k.value) for k in node.keywords]
        parts = args + kwargs
        shrunk = any(s for _, s in parts)
        if not any(_is_zero(p) for p, _ in parts):
            node.args = [a for a, _ in args]
            for kw, (v, _) in zip(node.keywords, kwargs):
                kw.value = v
            return node, shrunk
        if not any(self.is_tangent(p) for p, _ in parts if not _is_zero(p)):
            return _zero(), False
        node.args = [const(0.0) if _is_zero(a) else a for a, _ in args]
        for kw, (v, _) in zip(node.keywords, kwargs):
            kw.value = const(0.0) if _is_zero(v) else v
        return node, shrunk or self.shrinks(node)


class _SpliceStarred(ast.NodeTransformer):
    """``(*(dx, dy),)`` -> ``(dx, dy)``: a starred tuple the optimizer substituted."""

    def visit_Tuple(self, node):
        self.generic_visit(node)
        elts = []
        for e in node.elts:
            if isinstance(e, gast.Starred) and isinstance(e.value, (gast.Tuple, gast.List)):
                elts.extend(e.value.elts)
            else:
                elts.append(e)
        node.elts = elts
        return node


class _DropShaping(ast.NodeTransformer):
    """Remove ``broadcast_like(t, x)`` / ``unbroadcast(t, x)`` where shape classes prove
    ``t`` already has ``x``'s shape."""

    def __init__(self, classes, ctx, helpers):
        self.classes, self.ctx, self.helpers = classes, ctx, helpers

    def visit_Call(self, node):
        self.generic_visit(node)
        if (isinstance(node.func, gast.Name) and node.func.id in self.helpers
                and len(node.args) == 2):
            value_cls = class_of(node.args[0], self.classes, self.ctx)
            target_cls = class_of(node.args[1], self.classes, self.ctx)
            if value_cls is not None and value_cls == target_cls and value_cls != "scalar":
                return node.args[0]
        return node


class Prepare:
    """Rewrites done before normalization, so every statement has plain operands.

        x[i] += v          ->   x_item = x[i] + v;  x[i] = x_item
        x[i] = a * b       ->   x_item = a * b;     x[i] = x_item
        for r in x @ w:    ->   rows = x @ w;       for r in rows:
        lst.append(a * b)  ->   lst_item = a * b;   lst.append(lst_item)
    """

    def __init__(self, builder: ForwardBuilder):
        self.builder = builder
        self.namer = builder.namer

    def function(self, fn: gast.FunctionDef) -> gast.FunctionDef:
        fn = copy.deepcopy(fn)
        fn.body = self.block(fn.body)
        return fn

    def block(self, stmts):
        out = []
        for stmt in stmts:
            out.extend(self.statement(stmt))
        return out

    def _hoist(self, node, hint: str, out: List[ast.AST]) -> ast.AST:
        if is_atom(node):
            return node
        tmp = self.namer.fresh(hint)
        out.append(assign(tmp, node, node))
        return name(tmp)

    def _lift_lambdas(self, stmt, out: List[ast.AST]):
        """``sq = lambda v: e`` becomes ``def sq(v): return e``; a lambda inside an
        expression becomes such a def before the statement, under a fresh name."""
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Lambda)):
            return self._as_def(stmt.targets[0].id, stmt.value)
        prepare = self

        class Lift(ast.NodeTransformer):
            def visit_Lambda(self, node):
                fname = prepare.namer.fresh("fn")
                out.append(prepare._as_def(fname, node))
                return ast.copy_location(name(fname), node)
        return Lift().visit(stmt)

    def _as_def(self, fname: str, node: gast.Lambda) -> gast.FunctionDef:
        body = [ast.copy_location(gast.Return(value=node.body), node.body)]
        return ast.copy_location(gast.FunctionDef(
            name=fname, args=node.args, body=body, decorator_list=[], returns=None,
            type_comment=None, type_params=[]), node)

    def _reversed_as_slice(self, node):
        """``reversed(xs)`` as ``xs[::-1]``, whose tangent is ``dxs[::-1]`` (not for a range,
        which carries no tangent)."""
        if not (isinstance(node, gast.Call) and len(node.args) == 1 and not node.keywords
                and self.builder.callee(node) is builtins.reversed):
            return node
        inner = node.args[0]
        if isinstance(inner, gast.Call) and self.builder.callee(inner) is builtins.range:
            return node
        return ast.copy_location(gast.Subscript(
            value=inner, slice=gast.Slice(lower=None, upper=None, step=const(-1)),
            ctx=gast.Load()), node)

    def statement(self, stmt):
        out: List[ast.AST] = []
        if isinstance(stmt, (gast.Assign, gast.AugAssign, gast.Return, gast.Expr)):
            stmt = self._lift_lambdas(stmt, out)
            if isinstance(stmt, gast.FunctionDef):
                return out + [stmt]
        if isinstance(stmt, (gast.If, gast.While)):
            stmt.body = self.block(stmt.body)
            stmt.orelse = self.block(stmt.orelse)
        elif isinstance(stmt, gast.For):
            stmt.body = self.block(stmt.body)
            stmt.orelse = self.block(stmt.orelse)
            stmt.iter = self._reversed_as_slice(stmt.iter)
            if isinstance(stmt.iter, gast.Call) and self.builder.callee(stmt.iter) in (
                    builtins.zip, builtins.enumerate):
                stmt.iter.args = [self._reversed_as_slice(a) for a in stmt.iter.args]
            kind, args = self.builder._iteration(stmt)
            if kind in ("enumerate", "zip"):
                stmt.iter.args = [self._hoist(a, "items", out) for a in args]
            elif kind == "plain" and not isinstance(stmt.iter, gast.Name):
                stmt.iter = self._hoist(stmt.iter, "items", out)
        elif isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Subscript):
            load = copy.deepcopy(stmt.target)
            load.ctx = gast.Load()
            value = ast.copy_location(gast.BinOp(left=load, op=stmt.op, right=stmt.value), stmt)
            store = gast.Assign(targets=[stmt.target], value=value, type_comment=None)
            return out + self.statement(ast.copy_location(store, stmt))
        elif (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
              and isinstance(stmt.targets[0], gast.Subscript)):
            stmt.value = self._hoist(stmt.value, _hint(stmt.targets[0]) + "_item", out)
        elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            call = stmt.value
            hint = dotted(call.func.value) if isinstance(call.func, gast.Attribute) else None
            if hint and hint.split(".")[0] in self.builder.resolver.locals:
                call.args = [self._hoist(a, hint.replace(".", "_") + "_item", out)
                             for a in call.args]
        return out + [stmt]


# -- checks -----------------------------------------------------------------------------------
# The reverse-mode table, with del also refused (forward mode keeps no values to restore it)
# and raise allowed (a tangent needs no adjoint for the path that raises).
_UNSUPPORTED = {**{kind: info for kind, info in UNSUPPORTED.items()
                   if kind is not gast.Raise},
                gast.Delete: ("a del statement",
                              "let the name go out of scope instead of deleting it")}


def check_supported(source: Source, fn: gast.FunctionDef) -> None:
    if isinstance(fn, gast.AsyncFunctionDef):
        raise source.error(fn, "an async function", "s2s differentiates plain functions")
    nested = [n for s in fn.body for n in syntax.walk(s) if isinstance(n, gast.FunctionDef)]
    inner = {id(n) for d in nested for s in d.body for n in syntax.walk(s)}
    for stmt in fn.body:
        for node in syntax.walk(stmt):
            info = _UNSUPPORTED.get(type(node))
            if isinstance(node, gast.Nonlocal) and id(node) in inner:
                continue        # a local function may rebind its enclosing function's names
            if info:
                raise source.error(node, info[0], info[1])
    if not any(isinstance(n, gast.Return) for s in fn.body for n in syntax.walk(s)):
        raise source.error(fn, "a function that returns nothing",
                           "return the value to differentiate")


# -- small helpers ------------------------------------------------------------------------------

def _walk_statements(body):
    """Statements of a block and its nested if/for/while blocks (not of nested defs)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, gast.FunctionDef):
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _walk_statements(inner)


def _stored(target) -> Set[str]:
    if isinstance(target, gast.Name):
        return {target.id}
    if isinstance(target, (gast.Tuple, gast.List)):
        return set().union(*map(_stored, target.elts)) if target.elts else set()
    if isinstance(target, gast.Starred):
        return _stored(target.value)
    return set()


def _base(target) -> Set[str]:
    """The container a subscript or attribute store writes into."""
    if not isinstance(target, (gast.Subscript, gast.Attribute)):
        return set()
    while isinstance(target, (gast.Subscript, gast.Attribute)):
        target = target.value
    return {target.id} if isinstance(target, gast.Name) else set()


def _bound_names(stmts) -> Set[str]:
    """Names a block binds or updates in place (targets, item stores, list methods)."""
    out = set()
    for stmt in _walk_statements(stmts):
        if isinstance(stmt, gast.Assign):
            for t in stmt.targets:
                out |= _stored(t) | _base(t)
        elif isinstance(stmt, gast.AugAssign):
            out |= _stored(stmt.target) | _base(stmt.target)
        elif isinstance(stmt, gast.For):
            out |= _stored(stmt.target)
        elif isinstance(stmt, gast.FunctionDef):
            out.add(stmt.name)
            out |= {n for s in stmt.body if isinstance(s, gast.Nonlocal) for n in s.names}
        elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            call = stmt.value
            if isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name):
                out.add(call.func.value.id)
            elif call.args and isinstance(call.args[0], gast.Name):
                out.add(call.args[0].id)    # add_at(buffer, ...)
    return out


def _rebound_names(stmts) -> Set[str]:
    """Names a block assigns a new object to (not in-place updates)."""
    out = set()
    for stmt in _walk_statements(stmts):
        if isinstance(stmt, gast.Assign):
            for t in stmt.targets:
                out |= _stored(t)
        elif isinstance(stmt, gast.For):
            out |= _stored(stmt.target)
    return out


def _loaded_names(stmts) -> Set[str]:
    return {n.id for s in stmts for n in syntax.walk(s)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            node.id = self.mapping[node.id]
        return node


def _rename(node, mapping):
    if not mapping:
        return node
    if isinstance(node, list):
        return [_Rename(mapping).visit(s) for s in node]
    return _Rename(mapping).visit(node)


def _with_parameters(args: gast.arguments, names: Sequence[str]) -> gast.arguments:
    """``args`` plus the tangent parameters: positional, or keyword-only after defaults."""
    new = copy.deepcopy(args)
    params = [gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None)
              for n in names]
    if args.vararg is None and not args.defaults:
        new.args = new.args + params
    else:
        new.kwonlyargs = new.kwonlyargs + params
        new.kw_defaults = new.kw_defaults + [None] * len(params)
    return new


def _creates_new(value) -> bool:
    """Does ``value`` surely build a new object (one the optimizer will not fold away)?"""
    if isinstance(value, (gast.List, gast.Dict)):
        return True
    if isinstance(value, gast.UnaryOp):
        return isinstance(value.op, gast.USub) and not isinstance(value.operand, gast.UnaryOp)
    if isinstance(value, gast.BinOp):
        ones = [side for side in (value.left, value.right)
                if isinstance(side, gast.Constant) and type(side.value) in (int, float)
                and side.value == 1]
        return not ones
    return False


def _drop_self_assignments(body):
    out = []
    for stmt in body:
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Name) and stmt.targets[0].id == stmt.value.id):
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _drop_self_assignments(inner) or
                        ([gast.Pass()] if field == "body" else []))
        out.append(stmt)
    return out


def _drop_unused_functions(body):
    """Local functions nothing reads (a closure whose calls all went to its tangent)."""
    loads = {n.id for s in body for n in syntax.walk(s)
             if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    return [s for s in body if not (isinstance(s, gast.FunctionDef) and s.name not in loads)]


def _has_star(call: gast.Call) -> bool:
    return (any(isinstance(a, gast.Starred) for a in call.args)
            or any(kw.arg is None for kw in call.keywords))


def _is_user_function(func) -> bool:
    return (isinstance(func, types.FunctionType) and tangent_rule(func) is None
            and not rules.is_nondifferentiable(func))


def _unbroadcast():
    from .numpy_helpers import unbroadcast
    return unbroadcast


def _hint(target) -> str:
    base = _base(target)
    return next(iter(base)) if base else "item"


def _source_text(node) -> str:
    try:
        return ast.unparse(gast.gast_to_ast(copy.deepcopy(node)))
    except Exception:
        return type(node).__name__


def _describe(node) -> str:
    return {gast.Lambda: "a lambda", gast.IfExp: "a conditional expression",
            gast.ListComp: "a list comprehension", gast.BoolOp: "a boolean operator",
            gast.JoinedStr: "an f-string"}.get(type(node), f"the expression {_source_text(node)}")


# -- transformation and cache -----------------------------------------------------------------
_cache: Dict[tuple, list] = {}


def source_of(fn: Callable) -> Source:
    """The parsed source of ``fn``; a primitive with a tangent rule gets a one-line wrapper."""
    rule = tangent_rule(fn)
    if rule is None:
        return parse_function(fn)
    params = [p.name for p in inspect.signature(rule).parameters.values()
              if p.default is inspect.Parameter.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fname = getattr(fn, "__name__", "primitive")
    text = f"def {fname}({', '.join(params)}):\n    return primitive({', '.join(params)})\n"
    filename = f"<s2s primitive {fname}>"
    holder = types.FunctionType(compile(text, filename, "exec").co_consts[0],
                                {"primitive": fn})
    return Source(fn=holder, node=gast.parse(text).body[0], filename=filename,
                  globals={"primitive": fn})


def _callee_tangents(fn: Callable, wrt: Sequence[str]) -> List[str]:
    return tangent_parameters(source_of(fn).node, wrt)


def transform(fn: Callable, wrt: Sequence[str], select: Optional[int] = None
              ) -> types.FunctionType:
    """Build and compile the jvp function of ``fn`` (no cache; see ``jvp_of``)."""
    source = source_of(fn)
    builder = ForwardBuilder(source, wrt, select=select)
    new = builder.build()
    tangents = [builder.tangents[p] for p in wrt]
    where = f"{source.filename}, line {getattr(source.node, 'lineno', '?')}"
    which = "" if select is None else f" (of item {select})"
    doc = (f"Forward mode (jvp) of {source.name} ({where}).\n\n    Returns (value, tangent"
           f"{which}) for the tangents {', '.join(tangents)} of "
           f"{', '.join(wrt)}. Generated by s2s.\n    ")
    compiled = compile_function(new, source, builder.injected, docstring=doc)
    compiled.__s2s_resolved__ = dict(source.resolved)
    compiled.__s2s_tangents__ = tuple(tangents)
    return compiled


def _still_valid(compiled, fn) -> bool:
    if getattr(fn, "__code__", None) is None:
        return True
    return (compiled.__globals__ is fn.__globals__
            and compiled.__s2s_closure__ is fn.__closure__
            and _resolved_still(fn, compiled.__s2s_resolved__))


def jvp_of(fn: Callable, wrt: Sequence[str], select: Optional[int] = None) -> Callable:
    """The generated, cached ``jvp_fn(*args, **tangents) -> (value, tangent)`` of ``fn``.

    ``wrt`` names the differentiated parameters; their tangents are the parameters named in
    ``compiled.__s2s_tangents__`` (pass them by keyword).
    """
    code = getattr(fn, "__code__", None)
    key = (code if code is not None else fn, tuple(wrt), select)
    return cached_build(_cache, key, lambda c: c if _still_valid(c, fn) else None,
                        lambda: transform(fn, tuple(wrt), select), fn)


# -- calls whose target is only known at run time ---------------------------------------------
_call_plans: Dict[tuple, tuple] = {}


def call_jvp(fn: Callable, args: tuple, tangents: tuple, keywords: Optional[dict] = None,
             keyword_tangents: Optional[dict] = None) -> tuple:
    """Call ``fn`` through its generated jvp function: ``(value, tangent)``.

    Generated code calls it where the callee is only known at run time: a function passed
    in as an argument, a method of a local object, a bound method or a callable object, or
    a call with ``*args``/``**kwargs``. ``tangents`` has one entry per positional argument
    and ``keyword_tangents`` one per keyword, None where the argument carries no tangent.
    """
    keywords = keywords or {}
    keyword_tangents = keyword_tangents or {}
    target, bound = runtime._target(fn)
    if bound is not None:
        args, tangents = (bound,) + tuple(args), (None,) + tuple(tangents)
    positions = tuple(i for i, t in enumerate(tangents) if t is not None)
    given = tuple(sorted(k for k, t in keyword_tangents.items() if t is not None))
    if not positions and not given:
        value = target(*args, **keywords)
        return value, runtime.zeros_like(value)
    key = (getattr(target, "__code__", target), positions, given, len(args), tuple(keywords))
    plan = _call_plans.get(key)
    if plan is None or plan[0] is not target:
        plan = _call_plans[key] = (target,) + _plan_jvp(target, positions, given, len(args),
                                                         keywords)
    _, wrt, slots = plan
    compiled = jvp_of(target, wrt)
    tangent_args = {}
    for tname, (kind, where) in zip(compiled.__s2s_tangents__, slots):
        if kind == "pos":
            tangent_args[tname] = tangents[where]
        elif kind == "var":         # a *args parameter: a tuple of tangents
            tangent_args[tname] = tuple(runtime.zeros_like(a) if t is None else t
                                        for a, t in zip(args[where:], tangents[where:]))
        elif kind == "kw":
            tangent_args[tname] = keyword_tangents[where]
        else:                       # a **kwargs parameter: a dict of tangents
            tangent_args[tname] = {k: runtime.zeros_like(keywords[k])
                                   if keyword_tangents.get(k) is None else keyword_tangents[k]
                                   for k in where}
    return compiled(*args, **keywords, **tangent_args)


def _plan_jvp(target, positions, given, n_args, keywords):
    """The differentiated parameter names of ``target`` for a call, and where each one's
    tangent comes from."""
    rule = tangent_rule(target)
    signature = inspect.signature(rule if rule is not None else target)
    params = list(signature.parameters.values())
    var_kw = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    wrt, slots = runtime.positional_slots(params, positions)
    named = {p.name for p in params if p.kind is not p.VAR_POSITIONAL
             and p.kind is not p.VAR_KEYWORD}
    for k in given:
        if k in named:
            wrt.append(k)
            slots.append(("kw", k))
    extra = tuple(k for k in keywords if k not in named)
    if var_kw is not None and any(k not in named for k in given):
        wrt.append(var_kw.name)
        slots.append(("varkw", extra))
    return tuple(wrt), tuple(slots)
