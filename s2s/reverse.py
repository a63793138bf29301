"""Stage 5: reverse mode. Emit the primal sweep, then the adjoint sweep, from rule templates.

In: a normalized function, the differentiated parameters, the active names.
Out: a new ``FunctionDef`` that runs the primal, seeds the output's cotangent and walks the
statements backwards, pasting each primitive's rule with names substituted.

    def f(x):                         def grad_f(x):
        y = np.sin(x)                     y = np.sin(x)
        out = y * 3.0           ->        out = y * 3.0
        return out                        dout = ones_like(out)
                                          dy = dout * 3.0
                                          dx = dy * np.cos(x)
                                          return out, dx

The sweep tracks, statically, which cotangents are still zero: the first contribution to a
cotangent is a plain assignment, later ones add to it, and the adjoint of a statement whose
result has no cotangent is skipped altogether. Branches and loops: see ``reverse_flow``.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import gast
import numpy as np

from . import rules, syntax
from .activity import STATIC_ATTRIBUTES, active_names, free_names
from .errors import MissingRuleError, UnsupportedSyntaxError
from .expand import Expansion, bind_call, expand, template_of
from .names import Namer
from .normalize import assign, const, dotted, name, normalize
from .parse import Source
from .resolve import UNRESOLVED, Resolver, local_names, is_constant_call
from . import numpy_helpers, runtime
from .optimize import Context, optimize, is_elementwise
from .shapes import FLOAT, DropUnbroadcast, shape_classes
from .canonical import canonicalize
from .checks import check_supported
from .reverse_flow import ControlFlow, _names, _stored, _stored_target

BINARY_OPERATORS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod,
    gast.Pow: operator.pow, gast.MatMult: operator.matmul,
}
UNARY_OPERATORS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
_FULL_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
                    np.ndarray.sum, np.ndarray.mean, np.ndarray.prod, np.ndarray.max,
                    np.ndarray.min, np.ndarray.var, np.ndarray.std}
# Array attributes that are differentiable functions of the array.
ATTRIBUTE_FUNCTIONS = {"T": np.transpose}


class ReverseBuilder(ControlFlow):
    """Builds the gradient function of one user function."""

    def __init__(self, source: Source, wrt: Sequence[str], has_aux: bool = False,
                 sens_param: bool = False, tree_params: Sequence[str] = (),
                 single: bool = True, mode: str = "grad", callee_vjp: Any = None,
                 weights: bool = False, shapes=None):
        self.source = source
        self.wrt = list(wrt)
        self.has_aux = has_aux
        self.sens_param = sens_param
        self.tree_params = set(tree_params)
        self.single = single
        self.mode = mode
        self.weights = weights
        self.shapes = shapes or {}
        self.callee_vjp = callee_vjp
        self.calls: Dict[int, Tuple[str, list]] = {}     # id(call statement) -> pullback
        self.read_alias: Dict[str, str] = {}    # primal name -> where its old value is kept
        self.namer = Namer.for_tree(source.node)
        self.injected: Dict[str, Any] = {}     # generated name -> object (closure cells)
        self.cotangent_names: Dict[str, str] = {}
        self.nonzero: Set[str] = set()         # primal names whose cotangent may be nonzero
        self.owned: Set[str] = set()           # cotangents private to us (safe to update in place)
        self.temps: Set[str] = set()           # names of rule locals (dead-code candidates)

    # -- entry point ----------------------------------------------------------------------
    def build(self) -> gast.FunctionDef:
        fn = self.source.node
        check_supported(self.source, fn)
        self.locals = local_names(fn)
        self.resolver = Resolver(self.source, self.locals)
        params = parameter_names(fn)
        for p in self.wrt:
            if p not in params and p not in self.source.closure:
                raise TypeError(f"'{fn.name}' has no parameter '{p}'")
        normalized = canonicalize(normalize(self.source, fn, self.namer), self.namer)
        primal_temps = self.primal_temps = set(self.namer.made)
        body = rename_reassigned(normalized.body, params, self.namer)
        *primal, ret = body
        outputs, value_node = self._outputs(ret)
        self.active = active_names(primal, self.wrt, outputs, self._is_constant_call,
                                   self._is_source if self.weights else None)
        self.trees = self._tree_names(primal)
        self.loops, self.no_save, self.loop_names, self.restores = {}, set(), {}, set()
        self.recomputed: Set[int] = set()      # statements the reverse sweep recomputes
        self.stacks = {}
        self.shape_only = set()
        self.assign_count = _store_counts(primal)
        self.params = set(params)
        self.assigned_anywhere = set(self.assign_count)
        self.mutated = self.mutated_names(primal)
        self.local_functions = self._local_functions(primal)
        primal = self.private_inputs(params) + self.prepare_block(primal)
        self.classes = shape_classes(
            gast.FunctionDef(name=fn.name, args=fn.args, body=primal, decorator_list=[],
                             returns=None, type_comment=None, type_params=[]),
            Context(set(), set(), {}, self._is_elementwise_call, None, shapes=self.shapes,
                    is_number=self._is_global_number, callee=self._callee))

        # A first sweep finds which primal names the adjoint reads; those the primal
        # overwrites are saved before they are overwritten, and the sweep is made again.
        overwritten = self.plan_saves(primal, params)
        if not overwritten:         # straight-line code: nothing is ever overwritten
            return self._finish(fn, primal, primal_temps, outputs, value_node, set(), set())
        checkpoint = self.checkpoint()
        _, seed_stmts = self.seeds(outputs, value_node)
        adjoint = self.reverse_block(primal)
        grads = [self._final_cotangent(p) for p in self.wrt]
        reads = {n.id for s in seed_stmts + adjoint + grads for n in syntax.walk(s)
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        shape_only = self._read_for_shape_only(seed_stmts + adjoint)
        self.rollback(checkpoint)
        return self._finish(fn, primal, primal_temps, outputs, value_node,
                            overwritten & reads, shape_only)

    def _finish(self, fn, primal, primal_temps, outputs, value_node, restores, shape_only):
        """The real sweep, once it is known which overwritten names must be saved."""
        params = parameter_names(fn)
        self.restores = restores
        self.shape_only = restores & shape_only
        primal = self.insert_saves(primal, params)
        for n in sorted(_names(value_node) & self.mutated):
            # the adjoint sweep puts back what x[i] = v and xs.append(v) changed: a value
            # or aux output updated in place is copied first
            kept = self.namer.fresh(f"{n}_value")
            primal.append(assign(kept, gast.Call(
                func=name(self.bind_free("fresh_copy", runtime.fresh_copy)), args=[name(n)],
                keywords=[])))
            value_node = _rename_loads(value_node, n, kept) or value_node
        if _names(value_node) & self.restores:
            # the adjoint sweep restores earlier values: keep the result aside first
            kept = self.namer.fresh("value")
            primal.append(assign(kept, value_node))
            value_node = name(kept)
        seed_param, seed_stmts = self.seeds(outputs, value_node)
        adjoint = eliminate_dead_temps(self.reverse_block(primal), self.temps)
        grads = [self._final_cotangent(p) for p in self.wrt]

        if self.mode == "vjp":
            grads_node = gast.Tuple(elts=grads, ctx=gast.Load())
        else:
            grads_node = grads[0] if self.single else gast.Tuple(elts=grads, ctx=gast.Load())
        sentinel = gast.Expr(value=const(_SENTINEL))
        result = gast.Return(value=gast.Tuple(elts=[value_node, grads_node], ctx=gast.Load()))
        if self.mode == "grad_only":
            result = gast.Return(value=grads_node)      # the value is not wanted: not computed
        prefix = "vjp_" if self.mode == "vjp" else "grad_"
        new = gast.FunctionDef(
            name=self.namer.fresh(prefix + fn.name.strip("_<>")), args=fn.args,
            body=primal + [sentinel] + seed_stmts + adjoint + [result], decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        if self.sens_param:
            new.args = _append_parameter(fn.args, self.sens_name)
        ast.copy_location(new, fn)
        generated = set(self.temps) | set(self.cotangent_names.values())
        if self.mode == "grad_only":
            generated |= self._pure_primal_names(primal)
        ctx = Context(generated=generated, primal_temps=primal_temps,
                      cotangent_of={d: p for p, d in self.cotangent_names.items()},
                      elementwise=self._is_elementwise_call,
                      unbroadcast=self._name_of(numpy_helpers.unbroadcast),
                      reduction=self._is_full_reduction,
                      helpers={"ones_like": self._name_of(runtime.ones_like),
                               "expand_reduced": self._name_of(numpy_helpers.expand_reduced)},
                      shapes=self.shapes, is_number=self._is_global_number,
                      callee=self._callee, numpy=lambda: self.bind_free("np", np),
                      bind=self.bind_free)
        new = optimize(new, ctx)
        split = next(i for i, s in enumerate(new.body) if _is_sentinel(s))
        forward, backward = new.body[:split], new.body[split + 1:]
        if self.mode != "vjp":
            new.body = forward + backward
            self._private_gradients(new)
            return new
        return self._as_pullback(new, forward, backward, seed_param, fn, primal_temps)

    def _private_gradients(self, new: gast.FunctionDef) -> None:
        """Each returned gradient is an array of its own: never an input, a global, or
        another gradient (``return (dz, dz)`` becomes ``return (dz, fresh_copy(dz))``), so
        a caller may update it in place. Values made by arithmetic or by NumPy functions
        that allocate are taken as they are."""
        ret = new.body[-1]
        grads = ret.value if self.mode == "grad_only" else ret.value.elts[1]
        holder, elts = (grads, grads.elts) if isinstance(grads, gast.Tuple) and \
            not self.single else (None, [grads])
        bindings: Dict[str, List[ast.AST]] = {}
        plain: Set[int] = set()
        for node in syntax.walk(new):
            if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name):
                bindings.setdefault(node.targets[0].id, []).append(node.value)
                plain.add(id(node.targets[0]))
            elif isinstance(node, gast.AugAssign):
                plain.add(id(node.target))      # x += v updates the array x already holds
            elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) \
                    and id(node) not in plain:
                bindings.setdefault(node.id, []).append(None)   # loop targets, unpacking
        params = set(parameter_names(new))
        loads: Dict[str, int] = {}
        for node in syntax.walk(new):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1

        visiting: Set[str] = set()

        def fresh(name_: str) -> bool:
            if name_ in params or name_ in visiting or not bindings.get(name_):
                return False
            visiting.add(name_)
            try:
                return all(self._allocates(v, fresh, loads) for v in bindings[name_])
            finally:
                visiting.discard(name_)

        seen: Set[str] = set()
        for i, elt in enumerate(elts):
            if isinstance(elt, gast.Name):
                private = elt.id not in seen and fresh(elt.id)
                seen.add(elt.id)
            else:
                private = self._allocates(elt, fresh, loads)
            if not private:
                elts[i] = self._call_helper("fresh_copy", runtime.fresh_copy, [elt])
        if holder is None:
            if self.mode == "grad_only":
                ret.value = elts[0]
            else:
                ret.value.elts[1] = elts[0]

    _ALLOCATING = (np.zeros_like, np.ones_like, np.zeros, np.ones, np.full, np.empty,
                   np.array, np.copy, np.matmul, np.dot, np.outer, runtime.own,
                   runtime.zeros_like, runtime.ones_like, numpy_helpers.matmul_adjoint_x1,
                   numpy_helpers.matmul_adjoint_x2)

    def _allocates(self, value, fresh, loads) -> bool:
        """Does ``value`` make a new array (or an immutable number)? ``unbroadcast(g, x)``
        may be g itself: it counts when g is a new array read only there."""
        if value is None:
            return False
        if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Constant)):
            return True
        if not isinstance(value, gast.Call):
            return False
        func = self._callee(value)
        if func is UNRESOLVED:
            return isinstance(value.func, gast.Attribute) and value.func.attr in (
                "sum", "mean", "prod", "copy", "dot")
        if func is numpy_helpers.unbroadcast and value.args:
            g = value.args[0]
            if isinstance(g, gast.Name):
                return loads.get(g.id) == 1 and fresh(g.id)
            return self._allocates(g, fresh, loads)
        return (any(func is f for f in self._ALLOCATING) or is_elementwise(func)
                or self._is_full_reduction(value))

    def _as_pullback(self, new, forward, backward, seed_param, fn, primal_temps):
        """Split a flat gradient into a forward sweep that returns a pullback closure."""
        *backward, ret_stmt = backward
        value_node, grads_node = ret_stmt.value.elts
        pullback = self.namer.fresh("pullback_" + fn.name.strip("_<>"))
        param = seed_param or self.namer.fresh("dout")
        # names the backward sweep restores belong to the forward sweep
        restored = _stored(backward) & (_stored(forward)
                                                | set(parameter_names(fn)))
        inner_body = ([gast.Nonlocal(names=sorted(restored))] if restored else []) + backward
        inner_body.append(gast.Return(value=grads_node))
        inner = gast.FunctionDef(
            name=pullback, args=_arguments([param]), body=inner_body, decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        new.body = forward + [inner, gast.Return(value=gast.Tuple(
            elts=[value_node, name(pullback)], ctx=gast.Load()))]
        return new

    def seeds(self, outputs, value_node):
        """Statements giving each output its cotangent, and the pullback's parameter."""
        seed_param = None
        stmts = []
        for i, out in enumerate(outputs):
            if out is None or out not in self.active:
                continue
            d = self.cotangent(out)
            if self.mode == "vjp":
                if len(outputs) == 1 and not isinstance(value_node, gast.Tuple):
                    seed_param = d
                    self.nonzero.add(out)
                    continue
                seed_param = seed_param or self.namer.fresh("dout")
                seed = _item(name(seed_param), const(i))
            elif self.sens_param:
                seed = name(self.sens_name)
                if isinstance(value_node, gast.Tuple) and not self.has_aux:
                    seed = _item(seed, const(i))
            else:
                seed = self._call_helper("ones_like", runtime.ones_like, [name(out)])
            stmts.append(assign(d, seed))
            self.nonzero.add(out)
        return seed_param, stmts

    # -- calls to user functions ------------------------------------------------------------
    def call_kind(self, call: gast.Call) -> str:
        """'rule', 'static' (a known Python function), 'dynamic' (known at run time only),
        or 'constant'."""
        func = self._callee(call)
        starred = any(isinstance(a, gast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords)
        if func is UNRESOLVED:
            f = call.func
            if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                    and f.value.id != "self":
                method = getattr(np.ndarray, f.attr, None)
                if method is not None and (rules.reverse_rule(method) is not None
                                           or rules.is_nondifferentiable(method)):
                    return "constant" if rules.is_nondifferentiable(method) else "rule"
            return "dynamic"
        if rules.is_nondifferentiable(func) or isinstance(func, type) and func in (
                int, bool, str, range, type, len):
            return "constant"
        if rules.reverse_rule(func) is not None:
            return "rule"
        if _is_user_function(func) and not starred:
            return "static"
        if callable(func) and not isinstance(func, type) and not _is_builtin(func):
            return "dynamic"
        return "rule"       # no rule: call_adjoint reports it

    def _is_source(self, value: ast.AST) -> bool:
        """In weights mode: values that may hold or depend on parameters read via objects."""
        if isinstance(value, gast.Attribute):
            return value.attr not in STATIC_ATTRIBUTES
        if isinstance(value, gast.Call):
            return self.call_kind(value) in ("static", "dynamic")
        return False

    def prepare_call(self, stmt: ast.AST) -> ast.AST:
        """``t = g(a, b)`` with active operands becomes ``t, pullback = vjp_g(a, b)``."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Call)):
            return stmt
        target, call = stmt.targets[0].id, stmt.value
        if target not in self.active:
            return stmt
        kind = self.call_kind(call)
        if kind == "dynamic":
            return self.prepare_dynamic_call(stmt, target, call)
        if kind != "static":
            return stmt
        func = self._callee(call)
        import inspect
        try:
            bound = inspect.signature(func).bind(*call.args, **{k.arg: k.value
                                                                 for k in call.keywords})
        except TypeError as exc:
            raise self.source.error(call, f"this call of {func.__name__}", str(exc))
        arguments = {}
        for p, v in bound.arguments.items():
            if isinstance(v, tuple):            # *args: a tuple of operands
                v = gast.Tuple(elts=list(v), ctx=gast.Load())
            elif isinstance(v, dict):           # **kwargs: a dict of operands
                v = gast.Dict(keys=[const(k) for k in v], values=list(v.values()))
            arguments[p] = v
        wrt = [(p, node) for p, node in arguments.items() if _has_active(node, self.active)]
        if not wrt and not self.weights:
            return stmt
        compiled = self.callee_vjp(func, tuple(p for p, _ in wrt), weights=self.weights)
        vjp_name = self.bind_free("vjp_" + func.__name__.strip("_<>"), compiled)
        pullback = self._fresh_temp(f"{target}_pullback")
        call.func = name(vjp_name)
        stmt.targets = [gast.Tuple(elts=[name(target, gast.Store()), name(pullback, gast.Store())],
                                   ctx=gast.Store())]
        self.calls[id(stmt)] = (pullback, [("index", i, node) for i, (_, node) in enumerate(wrt)])
        return stmt

    def _local_functions(self, primal) -> Dict[str, Set[str]]:
        """Nested defs and lambdas bound to names, with the active names they close over.

        Such a function may only be called directly: passed elsewhere, the gradients of
        what it closes over would be lost, so that is an error.
        """
        found: Dict[str, Set[str]] = {}
        nodes: Dict[str, ast.AST] = {}
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.FunctionDef):
                found[node.name], nodes[node.name] = free_names(node) & self.active, node
            elif (isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda)
                  and isinstance(node.targets[0], gast.Name)):
                found[node.targets[0].id] = free_names(node.value) & self.active
                nodes[node.targets[0].id] = node
        escaping = {n for n, free in found.items() if free}
        callees = set()
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.Call):
                # called here, or passed to a call: its cotangent comes back from the call
                callees |= {id(a) for a in [node.func] + list(node.args)
                            + [k.value for k in node.keywords] if isinstance(a, gast.Name)}
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.Name) and node.id in escaping \
                    and isinstance(node.ctx, gast.Load) and id(node) not in callees:
                raise self.source.error(
                    node, f"passing '{node.id}', which closes over differentiated values, "
                          f"as a value",
                    f"call {node.id} directly here, or pass the values it uses as arguments")
        return found

    def prepare_dynamic_call(self, stmt, target, call) -> ast.AST:
        """A callee known only at run time: ``t, pullback = call_vjp(f, spec, *args)``."""
        positions, star_from, keywords, wrt = [], None, [], []
        free = ()
        callee_active = False
        if isinstance(call.func, gast.Name) and call.func.id in self.local_functions:
            free = tuple(sorted(self.local_functions[call.func.id]))
            wrt += [("free", n, name(n)) for n in free]
        elif isinstance(call.func, gast.Name) and call.func.id in self.active \
                and not self.weights:
            # a function value that closes over differentiated values (passed in); its
            # cotangent is a dict by closed-over name
            callee_active = True
            self.trees.add(call.func.id)
            wrt.append(("callee", None, call.func))
        for i, arg in enumerate(call.args):
            if isinstance(arg, gast.Starred):
                if i != len(call.args) - 1:
                    raise self.source.error(arg, "a *args argument before other arguments",
                                            "put the starred argument last")
                if _has_active(arg.value, self.active):
                    star_from = i
                    wrt.append(("star", i, arg.value))
            elif _has_active(arg, self.active):
                positions.append(i)
                wrt.append(("pos", i, arg))
        star_keywords = False
        for kw in call.keywords:
            if kw.arg is None:
                if _has_active(kw.value, self.active):
                    star_keywords = True
                    wrt.append(("starkw", None, kw.value))
                continue
            if _has_active(kw.value, self.active):
                keywords.append(kw.arg)
                wrt.append(("kw", kw.arg, kw.value))
        if not wrt and not self.weights:
            return stmt
        spec = const((tuple(positions), star_from, tuple(keywords), self.weights, free,
                      star_keywords, callee_active))
        call.args = [call.func, spec] + list(call.args)
        call.func = name(self.bind_free("call_vjp", runtime.call_vjp))
        pullback = self._fresh_temp(f"{target}_pullback")
        stmt.targets = [gast.Tuple(elts=[name(target, gast.Store()), name(pullback, gast.Store())],
                                   ctx=gast.Store())]
        self.calls[id(stmt)] = (pullback, wrt)
        return stmt

    def call_pullback(self, target: str, stmt) -> List[ast.AST]:
        """Call the pullback, then hand each active argument its cotangent."""
        pullback, wrt = self.calls[id(stmt)]
        grads = gast.Call(func=name(pullback), args=[name(self.cotangent(target))], keywords=[])
        parts = self._fresh_temp(f"d{target}_parts")
        self._kill(target)          # before the contributions: f(x) may be assigned to x
        contributions = self._argument_cotangents(parts, wrt)
        if not contributions:       # it still reports parameter gradients
            return [gast.Expr(value=grads)]
        return [assign(parts, grads)] + contributions

    def _argument_cotangents(self, parts: str, wrt) -> List[ast.AST]:
        out: List[ast.AST] = []
        positional = _item(name(parts), const(0))
        for kind, where, node in wrt:
            if kind == "index":
                value = _item(name(parts), const(where))
            elif kind == "pos":
                value = _item(positional, const(where))
            elif kind == "star":
                value = _item(positional, gast.Slice(lower=const(where), upper=None, step=None))
            elif kind == "free":
                value = _item(_item(name(parts), const(2)), const(where))
            elif kind == "starkw":
                value = _item(name(parts), const(1))
            elif kind == "callee":
                value = _item(name(parts), const(2))
            else:
                value = _item(_item(name(parts), const(1)), const(where))
            out += self.contribute_to_operand(node, value)
        return out

    def _name_of(self, obj: Any) -> Optional[str]:
        for n, value in self.injected.items():
            if value is obj:
                return n
        if self.source.lookup(getattr(obj, "__name__", "")) is obj:
            return obj.__name__
        return None

    def _pure_primal_names(self, primal) -> Set[str]:
        """Primal names computed without side effects: nothing is lost if no one reads them."""
        names, impure = set(), set()
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.Assign):
                targets = set()
                for t in node.targets:
                    targets |= _stored_target(t)
                (names if self._pure(node.value) else impure).update(targets)
            elif isinstance(node, (gast.For, gast.AugAssign, gast.FunctionDef)):
                impure |= {n.id for n in syntax.walk(getattr(node, "target", node))
                           if isinstance(n, gast.Name)}
        return names - impure - set(self.wrt) - self.mutated

    def _pure(self, value) -> bool:
        """Arithmetic, comparisons and NumPy/math functions of names: no side effects."""
        if isinstance(value, (gast.Name, gast.Constant)):
            return True
        if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Compare)):
            return all(isinstance(n, (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp,
                                      gast.Compare)) or not isinstance(n, ast.expr)
                       for n in syntax.walk(value))
        if isinstance(value, gast.Call):
            func = self._callee(value)
            module = getattr(func, "__module__", None) or ""
            if isinstance(func, np.ufunc) or module == "math":
                return True
            return module.startswith("numpy") and not module.startswith("numpy.random") \
                and all(isinstance(a, (gast.Name, gast.Constant)) for a in value.args)
        return False

    def _read_for_shape_only(self, stmts) -> Set[str]:
        """Names the adjoint reads only for their shape (``unbroadcast(g, x)``)."""
        shape_fns = {self._name_of(numpy_helpers.unbroadcast),
                     self._name_of(numpy_helpers.expand_reduced)} - {None}
        shape_reads, other_reads = set(), set()
        positions = set()
        for stmt in stmts:
            for node in syntax.walk(stmt):
                if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                        and node.func.id in shape_fns and len(node.args) >= 2 \
                        and isinstance(node.args[1], gast.Name):
                    positions.add(id(node.args[1]))
                    shape_reads.add(node.args[1].id)
        for stmt in stmts:
            for node in syntax.walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                        and id(node) not in positions:
                    other_reads.add(node.id)
        return shape_reads - other_reads

    def _is_full_reduction(self, call: gast.Call) -> bool:
        """``np.sum(x)``, ``x.mean()``...: a reduction over every axis, giving one number."""
        func = self._callee(call)
        if func is UNRESOLVED and isinstance(call.func, gast.Attribute):
            func = getattr(np.ndarray, call.func.attr, None)
            args = call.args
        else:
            args = call.args[1:]
        if func not in _FULL_REDUCTIONS:
            return False
        return not args and all(k.arg not in ("axis", "keepdims") or
                                (isinstance(k.value, gast.Constant) and not k.value.value)
                                for k in call.keywords)

    def _is_elementwise_call(self, call: gast.Call) -> bool:
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.injected:
            return is_elementwise(self.injected[func.id])
        return is_elementwise(self.resolver.resolve(func))

    @property
    def sens_name(self) -> str:
        if not hasattr(self, "_sens_name"):
            self._sens_name = self.namer.fresh("sens")
        return self._sens_name

    # -- outputs and seeds ----------------------------------------------------------------
    def _outputs(self, ret: ast.AST) -> Tuple[List[str], ast.AST]:
        value = ret.value
        if value is None:
            raise self.source.error(ret, "a function that returns None",
                                    "return the value to differentiate")
        if self.has_aux:
            if not (isinstance(value, gast.Tuple) and len(value.elts) >= 2):
                raise self.source.error(
                    ret, "has_aux=True with a single return value",
                    "with has_aux=True the function must return a tuple (out, aux1, ...) "
                    "of at least two items; only out is differentiated")
            first = value.elts[0]
            return [first.id if isinstance(first, gast.Name) else None], value
        if isinstance(value, gast.Tuple):
            return [e.id if isinstance(e, gast.Name) else None for e in value.elts], value
        return [value.id if isinstance(value, gast.Name) else None], value

    def _final_cotangent(self, param: str) -> ast.AST:
        if param not in self.nonzero:
            return self._call_helper("zeros_like", runtime.zeros_like, [name(param)])
        d = name(self.cotangent(param))
        if param in self.tree_params:
            return self._call_helper("restructure", runtime.restructure, [d, name(param)])
        return d

    # -- names ----------------------------------------------------------------------------
    def cotangent(self, primal: str) -> str:
        d = self.cotangent_names.get(primal)
        if d is None:
            d = self.cotangent_names[primal] = self.namer.adjoint(primal)
        return d

    def bind_free(self, wanted: str, obj: Any) -> str:
        """A name for ``obj`` in the generated code: the user's own if it means the same."""
        if wanted not in self.locals and self.source.lookup(wanted) is obj:
            return wanted
        for existing, value in self.injected.items():
            if value is obj and existing.split("_")[0] == wanted.split("_")[0]:
                return existing
        fresh = self.namer.fresh(wanted)
        self.injected[fresh] = obj
        return fresh

    def _call_helper(self, wanted: str, obj: Any, args: List[ast.AST]) -> gast.Call:
        return gast.Call(func=name(self.bind_free(wanted, obj)), args=args, keywords=[])

    def _numpy(self, attr: str) -> ast.AST:
        return gast.Attribute(value=name(self.bind_free("np", np)), attr=attr, ctx=gast.Load())

    # -- analysis helpers -----------------------------------------------------------------
    def _callee(self, call: gast.Call) -> Any:
        if isinstance(call.func, gast.Name) and call.func.id in self.injected:
            return self.injected[call.func.id]
        return self.resolver.resolve(call.func)

    def _is_constant_call(self, call: gast.Call) -> bool:
        return is_constant_call(self._callee(call), call)

    def _tree_names(self, primal: List[ast.AST]) -> Set[str]:
        """Names that may hold containers (their cotangents are pytrees)."""
        trees = set(self.tree_params)
        args = self.source.node.args
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                trees.add(extra.id)
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            # a function's cotangent is a dict: one entry per value it closes over
            if isinstance(node, gast.FunctionDef):
                trees.add(node.name)
            elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
                trees |= {t.id for t in node.targets if isinstance(t, gast.Name)}
        changed = True
        while changed:
            changed = False
            for stmt in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
                if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
                    continue
                t, v = stmt.targets[0].id, stmt.value
                maybe = (isinstance(v, (gast.Tuple, gast.List, gast.Dict))
                         or isinstance(v, gast.Call) and self.call_kind(v) in ("static",
                                                                               "dynamic")
                         or isinstance(v, gast.Name) and v.id in trees
                         or isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name)
                         and v.value.id in trees)
                if maybe and t not in trees:
                    trees.add(t)
                    changed = True
        return trees

    # -- the adjoint of one statement ------------------------------------------------------
    def statement_adjoint(self, stmt: ast.AST) -> List[ast.AST]:
        if isinstance(stmt, gast.If):
            return self.reverse_if(stmt)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.reverse_loop(stmt)
        if not isinstance(stmt, gast.Assign):
            return self.other_adjoint(stmt)
        first = stmt.targets[0]
        if isinstance(first, gast.Tuple) and id(stmt) in self.calls:
            target = first.elts[0].id
            if target in self.nonzero:
                out = self.call_pullback(target, stmt)
            else:
                out = []
                self._kill(target)
            return out + self.restore_after(stmt)
        if not isinstance(first, gast.Name) or len(stmt.targets) != 1:
            return self.other_adjoint(stmt)
        target = first.id
        if target not in self.active or target not in self.nonzero:
            self._kill(target)
            return self.restore_after(stmt)
        value = stmt.value
        if target not in _names(value):
            out = self.assign_adjoint(target, value, stmt, name(self.cotangent(target)))
            self._kill(target)
            return out + self.restore_after(stmt)
        # x = f(x): the cotangent and the value of the new x are both set aside first
        out: List[ast.AST] = []
        restore: List[ast.AST] = []
        if self.saved(stmt, target):
            previous = self._fresh_temp(f"{target}_prev")
            out.append(assign(previous, self._pop(target)))
            self.read_alias = {target: previous}
            restore = [assign(target, name(previous))]
        dresult = self._fresh_temp(f"d{target}_out")
        out.append(assign(dresult, name(self.cotangent(target))))
        self._kill(target)
        try:
            out += self.assign_adjoint(target, value, stmt, name(dresult))
        finally:
            self.read_alias = {}
        return out + restore

    def _kill(self, var: str) -> None:
        """``var`` is being defined: the cotangent of its earlier value starts at zero."""
        self.nonzero.discard(var)
        self.owned.discard(var)

    def other_adjoint(self, stmt: ast.AST) -> List[ast.AST]:
        """Statements that bind no name: list growth, in-place updates, expressions."""
        if isinstance(stmt, gast.Expr):
            call = stmt.value
            if (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                    and isinstance(call.func.value, gast.Name)
                    and call.func.value.id in self.active):
                return self.container_adjoint(stmt, call)
            saving = (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                      and isinstance(call.func.value, gast.Name)
                      and call.func.value.id in self.stacks.values())
            if isinstance(call, gast.Call) and not saving and _has_active(call, self.active) \
                    and not self._is_constant_call(call) \
                    and self._callee(call) not in (print,):
                # a call made for its effect on a differentiated value: never guess
                raise self.source.error(
                    call, f"a call to {_source_text(call.func)} whose result is not used",
                    "assign the result (x = f(x)) instead of relying on an update in place")
            return []
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript) \
                and isinstance(stmt.targets[0].value, gast.Name):
            return self.store_adjoint(stmt)
        if isinstance(stmt, gast.Delete):
            return []
        if isinstance(stmt, gast.FunctionDef):
            out = []
            if stmt.name in self.active and stmt.name in self.nonzero:
                out = self.closure_adjoint(free_names(stmt), name(self.cotangent(stmt.name)))
            self._kill(stmt.name)
            return out
        if isinstance(stmt, (gast.Assign, gast.AugAssign)):
            touched = set()
            for t in getattr(stmt, "targets", [getattr(stmt, "target", None)]):
                while isinstance(t, (gast.Subscript, gast.Attribute)):
                    t = t.value
                if isinstance(t, gast.Name):
                    touched.add(t.id)
            if touched & self.active:
                raise self.source.error(
                    stmt, "an update of an attribute of a differentiated value",
                    "compute a new value and return it instead")
        return []

    def closure_adjoint(self, free: Set[str], dresult: ast.AST) -> List[ast.AST]:
        """A function's cotangent (a dict by closed-over name) goes to those names."""
        out: List[ast.AST] = []
        for n in sorted(free & self.active):
            out += self.contribute(n, self._call_helper(
                "item_or_zero", runtime.item_or_zero, [_copy(dresult), const(n)]))
        return out

    def container_adjoint(self, stmt, call) -> List[ast.AST]:
        """``xs.append(v)`` / ``xs.extend(vs)`` reversed: v gets the last items' cotangents."""
        items, method = call.func.value.id, call.func.attr
        if method not in ("append", "extend"):
            raise self.source.error(
                call, f"list.{method}() on a differentiated list",
                "build lists with append or extend (or a list comprehension)")
        if method == "append":
            count: ast.AST = const(1)
        else:
            count = gast.Call(func=name(self.bind_free("len", len)), args=[_copy(call.args[0])],
                              keywords=[])
        out: List[ast.AST] = []
        if items in self.nonzero:
            parts = self._fresh_temp(f"d{items}_last")
            contributions = (self.contribute_to_operand(call.args[0], _item(name(parts),
                                                                             const(0)))
                             if method == "append" else
                             self.contribute_to_operand(call.args[0], name(parts)))
            if items not in self.owned:
                out.append(assign(self.cotangent(items), self._call_helper(
                    "own", runtime.own, [name(self.cotangent(items)), name(items)])))
                self.owned.add(items)
            taken = self._call_helper("take_appended", runtime.take_appended,
                                      [name(self.cotangent(items)), _copy(count)])
            if contributions:
                out.append(assign(parts, taken))
                out += contributions
            else:
                out.append(gast.Expr(value=taken))
        out.append(gast.Expr(value=self._call_helper("drop_last", runtime.drop_last,
                                                     [name(items), count])))
        return out

    def store_adjoint(self, stmt) -> List[ast.AST]:
        """``x[i] = v`` reversed: v gets ``dx[i]``, which then goes to zero; x[i] is restored."""
        target = stmt.targets[0]
        var = target.value.id
        if var not in self.active:
            return []
        index = _index_value(target.slice)
        out: List[ast.AST] = [gast.Expr(value=self._call_helper(
            "restore_item", runtime.restore_item,
            [name(var), index, self._pop(f"{var}[]")]))]
        if var not in self.nonzero:
            return out
        value = stmt.value
        if _has_active(value, self.active):
            taken = self._fresh_temp(f"d{var}_item")
            item = self._call_helper("take_item", runtime.take_item,
                                     [name(self.cotangent(var)), _copy(index)])
            out.append(assign(taken, item))
            taken_value: ast.AST = name(taken)
            if isinstance(value, gast.Name) and value.id not in self.trees:
                # kept only where shapes do not prove dx[i] has v's shape already
                check = self._call_helper("unbroadcast", numpy_helpers.unbroadcast,
                                          [_copy(item), name(value.id)])
                if self._unbroadcast_dropper(value.id, None).visit(check) is not check.args[0]:
                    taken_value = self._call_helper(
                        "unbroadcast", numpy_helpers.unbroadcast, [name(taken), name(value.id)])
            out += self.contribute_to_operand(value, taken_value)
        if var not in self.owned:
            out.append(assign(self.cotangent(var), self._call_helper(
                "own", runtime.own, [name(self.cotangent(var)), name(var)])))
            self.owned.add(var)
        out.append(gast.Expr(value=self._call_helper(
            "clear_item", runtime.clear_item, [name(self.cotangent(var)), _copy(index)])))
        return out

    def assign_adjoint(self, target: str, value: ast.AST, stmt: ast.AST,
                       dresult: ast.AST) -> List[ast.AST]:
        if isinstance(value, gast.Name):
            return self.contribute(value.id, dresult)
        if isinstance(value, gast.Constant):
            return []
        if isinstance(value, gast.BinOp):
            fn = BINARY_OPERATORS.get(type(value.op))
            if fn is None or rules.is_nondifferentiable(fn):
                return []
            return self.apply_rule(fn, [value.left, value.right], {}, target, dresult, stmt)
        if isinstance(value, gast.UnaryOp):
            fn = UNARY_OPERATORS.get(type(value.op))
            if fn is None:
                return []
            return self.apply_rule(fn, [value.operand], {}, target, dresult, stmt)
        if isinstance(value, gast.Call):
            return self.call_adjoint(value, target, dresult, stmt)
        if isinstance(value, gast.Attribute):
            if value.attr in STATIC_ATTRIBUTES:
                return []
            fn = ATTRIBUTE_FUNCTIONS.get(value.attr)
            if self.weights and (fn is None or not _has_active(value.value, self.active)):
                return [gast.Expr(value=self._call_helper(
                    "weight_cotangent", runtime.weight_cotangent, [name(target), dresult]))]
            if fn is None or not isinstance(value.value, gast.Name):
                raise self.source.error(value, f"the attribute .{value.attr}",
                                        "only .T and data attributes (.shape, .ndim, .size, "
                                        ".dtype) of arrays are differentiable")
            return self.apply_rule(fn, [value.value], {}, target, dresult, stmt)
        if isinstance(value, gast.Subscript):
            return self.subscript_adjoint(value, dresult)
        if isinstance(value, (gast.Tuple, gast.List)):
            out = []
            for i, e in enumerate(value.elts):
                if isinstance(e, gast.Name):
                    out += self.contribute(e.id, _item(dresult, const(i)))
            return out
        if isinstance(value, gast.Dict):
            out = []
            for k, v in zip(value.keys, value.values):
                if k is not None and isinstance(v, gast.Name):
                    out += self.contribute(v.id, _item(dresult, k))
            return out
        if isinstance(value, gast.Lambda):
            return self.closure_adjoint(free_names(value), dresult)
        if isinstance(value, gast.Compare):
            return []
        raise self.source.error(value, _describe(value), _hint(value))

    def call_adjoint(self, call: gast.Call, target: str, dresult: ast.AST,
                     stmt: ast.AST) -> List[ast.AST]:
        operands = list(call.args) + [k.value for k in call.keywords]
        if isinstance(call.func, gast.Attribute):
            operands.append(call.func.value)
        if not any(_has_active(o, self.active) for o in operands):
            return []           # nothing differentiated goes in: nothing comes back
        for arg in call.args:
            if isinstance(arg, gast.Starred):
                raise self.source.error(arg, "a *args call to a primitive",
                                        "pass the arguments one by one")
        keywords = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise self.source.error(call, "a **kwargs call to a primitive",
                                        "pass keyword arguments one by one")
            keywords[kw.arg] = kw.value
        func = self._callee(call)
        if func is UNRESOLVED and isinstance(call.func, gast.Attribute) \
                and isinstance(call.func.value, gast.Name):
            method = getattr(np.ndarray, call.func.attr, None)
            if method is None or rules.reverse_rule(method) is None:
                raise self.source.error(
                    call, f"the method .{call.func.attr}()",
                    "no rule for this array method; call the NumPy function instead, or "
                    "register a rule with @s2s.adjoint(np.ndarray." + call.func.attr + ")",
                    cls=MissingRuleError)
            return self.apply_rule(method, [call.func.value] + list(call.args), keywords,
                                   target, dresult, stmt)
        if func is UNRESOLVED:
            raise self.source.error(call, f"a call to '{_source_text(call.func)}'",
                                    "s2s resolves called functions at transform time; call a "
                                    "global or imported function", cls=UnsupportedSyntaxError)
        if rules.is_nondifferentiable(func):
            return []
        if rules.reverse_rule(func) is None:
            label = dotted(call.func) or _source_text(call.func)
            raise self.source.error(
                call, f"a call to {label}",
                f"register a rule: @s2s.adjoint({label}) above "
                f"def {_short(label)}_rule(...): "
                f"d<param> = dresult * ...  (see the README, 'Your own rules')",
                cls=MissingRuleError,
                message=f"s2s has no differentiation rule for {label} "
                        f"({getattr(func, '__module__', None) or 'builtin'}."
                        f"{getattr(func, '__qualname__', getattr(func, '__name__', label))})")
        return self.apply_rule(func, list(call.args), keywords, target, dresult, stmt)

    def apply_rule(self, fn: Any, args: List[ast.AST], keywords: Dict[str, ast.AST],
                   target: str, dresult: ast.AST, stmt: ast.AST) -> List[ast.AST]:
        rule = rules.reverse_rule(fn)
        if rule is None:
            raise self.source.error(stmt, f"the operation {getattr(fn, '__name__', fn)}",
                                    "no rule is registered for it", cls=MissingRuleError)
        template = template_of(rule)
        bound = bind_call(template, args, keywords)
        if bound is None:
            raise self.source.error(
                stmt, f"this call of {getattr(fn, '__name__', fn)}",
                f"the rule supports the arguments {template.signature}", cls=MissingRuleError)
        # only expand when some differentiable operand is active
        wanted = [p for p in template.differentiable if _has_active(bound.get(p), self.active)]
        if not wanted:
            return []
        placeholder = "__s2s_result__"
        expansion = expand(template, bound, name(placeholder), dresult,
                           self._fresh_temp, self.bind_free)
        drop = self._unbroadcast_dropper(target, dresult)
        for i, stmt_ in enumerate(expansion.statements):
            for old, new in self.read_alias.items():
                # the operand's old value was set aside; the result keeps its own name
                _rename_loads(stmt_, old, new)
            _rename_loads(stmt_, placeholder, target)
            expansion.statements[i] = drop.visit(stmt_)
        return self.lower_contributions(expansion, bound)

    def _is_global_number(self, name_: str) -> bool:
        if name_ in self.locals:
            return False
        value = self.source.lookup(name_)
        return type(value) in (int, float)

    def _unbroadcast_dropper(self, target: str, dresult: ast.AST):
        """Drops ``unbroadcast(g, x)`` where shape classes prove ``g`` has ``x``'s shape."""
        classes = dict(self.classes)
        for primal, d in self.cotangent_names.items():
            if primal in self.classes:
                classes[d] = self.classes[primal]
        if isinstance(dresult, gast.Name) and target in self.classes:
            classes[dresult.id] = self.classes[target]
        for old, new in self.read_alias.items():
            if old in self.classes:
                classes[new] = self.classes[old]
        unbroadcast = self._name_of(numpy_helpers.unbroadcast)
        ctx = Context(set(), set(), {}, self._is_elementwise_call, unbroadcast,
                      is_number=self._is_global_number, callee=self._callee,
                      numpy=lambda: self.bind_free("np", np))
        return DropUnbroadcast(classes, ctx)

    def _fresh_temp(self, base: str) -> str:
        fresh = self.namer.fresh(base)
        self.temps.add(fresh)
        return fresh

    def lower_contributions(self, expansion: Expansion, bound: Dict[str, ast.AST]
                            ) -> List[ast.AST]:
        """Turn the rule's ``d<param> = ...`` markers into assignments or accumulations."""
        out: List[ast.AST] = []
        for stmt in expansion.statements:
            marker = _assigned_marker(stmt, expansion.contributions)
            if marker is None:
                if isinstance(stmt, gast.If):
                    out += self._dynamic_branch(stmt, expansion, bound)
                else:
                    out.append(stmt)
                continue
            param = expansion.contributions[marker]
            out += self.contribute_to_operand(bound.get(param), stmt.value)
        return out

    def _dynamic_branch(self, stmt, expansion, bound):
        """A rule ``if`` decided at run time: accumulate into materialized cotangents."""
        before = []
        for inner in syntax.walk(stmt):
            marker = _assigned_marker(inner, expansion.contributions)
            if marker is None:
                continue
            for var in _operand_names(bound.get(expansion.contributions[marker])):
                if var in self.active and var not in self.nonzero:
                    before.append(assign(self.cotangent(var), self._zeros(var)))
                    self.nonzero.add(var)
                    self.owned.add(var)

        def lower(block):
            result = []
            for s in block:
                marker = _assigned_marker(s, expansion.contributions)
                if marker is not None:
                    param = expansion.contributions[marker]
                    result += self.contribute_to_operand(bound.get(param), s.value)
                elif isinstance(s, gast.If):
                    s.body = lower(s.body) or [gast.Pass()]
                    s.orelse = lower(s.orelse)
                    result.append(s)
                else:
                    result.append(s)
            return result
        stmt.body = lower(stmt.body) or [gast.Pass()]
        stmt.orelse = lower(stmt.orelse)
        return before + [stmt]

    def contribute_to_operand(self, operand: Optional[ast.AST], value: ast.AST) -> List[ast.AST]:
        if isinstance(operand, gast.Name):
            return self.contribute(operand.id, value)
        if isinstance(operand, gast.Dict):
            if not any(_has_active(v, self.active) for v in operand.values):
                return []
            tmp = self._fresh_temp("parts")
            out = [assign(tmp, value)]
            for k, v in zip(operand.keys, operand.values):
                if isinstance(v, gast.Name) and k is not None:
                    out += self.contribute(v.id, self._call_helper(
                        "item_or_zero", runtime.item_or_zero, [name(tmp), _copy(k)]))
            return out
        if isinstance(operand, (gast.Tuple, gast.List)):
            if not any(_has_active(e, self.active) for e in operand.elts):
                return []
            tmp = self._fresh_temp("parts")
            out = [assign(tmp, value)]
            for i, e in enumerate(operand.elts):
                if isinstance(e, gast.Name):
                    out += self.contribute(e.id, _item(name(tmp), const(i)))
            return out
        return []

    def contribute(self, var: str, value: ast.AST) -> List[ast.AST]:
        """Add ``value`` to the cotangent of ``var``."""
        if var not in self.active:
            return []
        d = self.cotangent(var)
        if isinstance(value, gast.Name):
            # value's array is now shared: whoever held it may no longer update it in place
            for primal, cot in self.cotangent_names.items():
                if cot == value.id:
                    self.owned.discard(primal)
        if var not in self.nonzero:
            self.nonzero.add(var)
            if isinstance(value, (gast.BinOp, gast.UnaryOp)):
                self.owned.add(var)
            else:
                self.owned.discard(var)
            return [assign(d, value)]
        if var in self.trees:
            self.owned.add(var)
            return [assign(d, self._call_helper("add", runtime.add, [name(d), value]))]
        if var in self.owned:
            # a private array: accumulate in place, no new allocation
            return [gast.AugAssign(target=name(d, gast.Store()), op=gast.Add(), value=value)]
        self.owned.add(var)
        return [assign(d, gast.BinOp(left=name(d), op=gast.Add(), right=value))]

    def _zeros(self, var: str) -> ast.AST:
        """A zero cotangent buffer: np.zeros_like for inputs known to be arrays, the runtime
        helper (which also builds lists and dicts of zeros) for anything else."""
        if self.shapes.get(var) == FLOAT:
            return const(0.0)       # a Python float's cotangent: a float, added to freely
        if var in self.wrt and var not in self.trees:
            return gast.Call(func=self._numpy("zeros_like"), args=[name(var)], keywords=[])
        return self._call_helper("zeros_like", runtime.zeros_like, [name(var)])

    def subscript_adjoint(self, value: gast.Subscript, dresult: ast.AST) -> List[ast.AST]:
        base = value.value
        if not isinstance(base, gast.Name) or base.id not in self.active:
            return []
        return self.item_contribution(base.id, value.slice, dresult,
                                      basic=_is_basic_index(value.slice))

    def item_contribution(self, var: str, index: ast.AST, value: ast.AST,
                          basic: bool) -> List[ast.AST]:
        """``d<var>[index] += value``, into a cotangent buffer owned by the generated code."""
        if var not in self.active:
            return []
        d = self.cotangent(var)
        out: List[ast.AST] = []
        if var not in self.nonzero:
            out.append(assign(d, self._zeros(var)))
            self.nonzero.add(var)
            self.owned.add(var)
        elif var not in self.owned:
            out.append(assign(d, self._call_helper("own", runtime.own, [name(d), name(var)])))
            self.owned.add(var)
        if var not in self.trees and basic:
            out.append(gast.AugAssign(
                target=gast.Subscript(value=name(d), slice=_copy(index), ctx=gast.Store()),
                op=gast.Add(), value=value))
        else:
            out.append(gast.Expr(value=self._call_helper(
                "add_at", runtime.add_at, [name(d), _index_value(index), value])))
        return out


# -- small AST helpers ---------------------------------------------------------------------
_SENTINEL = "s2s: the adjoint sweep starts here"


def _is_sentinel(stmt) -> bool:
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and stmt.value.value == _SENTINEL)


def _is_builtin(func) -> bool:
    import types
    return isinstance(func, (types.BuiltinFunctionType, types.BuiltinMethodType, np.ufunc))


def _is_user_function(func) -> bool:
    import types
    return (isinstance(func, types.FunctionType) and rules.reverse_rule(func) is None
            and not rules.is_nondifferentiable(func))


def _arguments(names: List[str]) -> gast.arguments:
    return gast.arguments(
        args=[gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None)
              for n in names],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])

def parameter_names(fn: gast.FunctionDef) -> List[str]:
    args = fn.args
    names = [a.id for a in list(args.posonlyargs) + list(args.args)]
    if args.vararg is not None:
        names.append(args.vararg.id)
    names += [a.id for a in args.kwonlyargs]
    if args.kwarg is not None:
        names.append(args.kwarg.id)
    return names


def _append_parameter(args: gast.arguments, pname: str) -> gast.arguments:
    new = gast.arguments(args=list(args.args), posonlyargs=list(args.posonlyargs),
                         vararg=args.vararg, kwonlyargs=list(args.kwonlyargs),
                         kw_defaults=list(args.kw_defaults), kwarg=args.kwarg,
                         defaults=list(args.defaults))
    if args.vararg is None and not args.defaults:
        new.args.append(gast.Name(id=pname, ctx=gast.Param(), annotation=None,
                                  type_comment=None))
    else:
        new.kwonlyargs.append(gast.Name(id=pname, ctx=gast.Param(), annotation=None,
                                        type_comment=None))
        new.kw_defaults.append(None)
    return new


def rename_reassigned(body: List[ast.AST], params: Sequence[str], namer: Namer
                      ) -> List[ast.AST]:
    """Give each re-assignment of a name its own name, so no value is ever overwritten.

        x = x * 2          x_2 = x * 2
        x = np.sin(x)  ->  x_3 = np.sin(x_2)
        return x           return x_3
    """
    current: Dict[str, str] = {}
    defined = set(params)
    nested = set()          # names assigned inside branches or loops keep their name
    for stmt in body:
        if not isinstance(stmt, gast.Assign):
            for node in syntax.walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                    nested.add(node.id)
    out = []
    for stmt in body:
        _Rename(current).visit(stmt)
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            t = stmt.targets[0].id
            if t in defined and t not in nested:
                new = namer.fresh(t)
                current[t] = new
                stmt.targets[0].id = new
            defined.add(t)
        out.append(stmt)
    return out


class _Rename(ast.NodeTransformer):
    def __init__(self, current):
        self.current = current

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.current:
            node.id = self.current[node.id]
        return node


def eliminate_dead_temps(stmts: List[ast.AST], temps: Set[str]) -> List[ast.AST]:
    """Drop assignments to rule locals that nothing reads (straight-line code)."""
    live: Set[str] = set()
    kept = []
    for stmt in reversed(stmts):
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in temps and stmt.targets[0].id not in live):
            continue
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                live.add(node.id)
        kept.append(stmt)
    return list(reversed(kept))


def _store_counts(stmts) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in syntax.walk(gast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _rename_loads(node, old: str, new: str):
    for n in syntax.walk(node):
        if isinstance(n, gast.Name) and n.id == old and isinstance(n.ctx, gast.Load):
            n.id = new
    return node


def _item(value: ast.AST, key: ast.AST) -> gast.Subscript:
    return gast.Subscript(value=value, slice=_copy(key), ctx=gast.Load())


def _copy(node):
    import copy
    return copy.deepcopy(node)


def _has_active(node: Optional[ast.AST], active: Set[str]) -> bool:
    if node is None:
        return False
    return any(isinstance(n, gast.Name) and n.id in active for n in syntax.walk(node))


def _operand_names(node) -> List[str]:
    if node is None:
        return []
    return [n.id for n in syntax.walk(node) if isinstance(n, gast.Name)]


def _assigned_marker(stmt, markers) -> Optional[str]:
    if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in markers):
        return stmt.targets[0].id
    return None


def _is_basic_index(index) -> bool:
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    for part in parts:
        if isinstance(part, gast.Slice):
            continue
        if isinstance(part, gast.Constant) and (part.value is None or part.value is Ellipsis
                                                or type(part.value) is int):
            continue
        if (isinstance(part, gast.UnaryOp) and isinstance(part.op, gast.USub)
                and isinstance(part.operand, gast.Constant) and type(part.operand.value) is int):
            continue
        return False
    return True


def _index_value(index) -> ast.AST:
    """An index as an ordinary expression: ``1:3`` becomes ``slice(1, 3, None)``."""
    if isinstance(index, gast.Slice):
        parts = [_copy(p) if p is not None else const(None)
                 for p in (index.lower, index.upper, index.step)]
        return gast.Call(func=name("slice"), args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_index_value(e) for e in index.elts], ctx=gast.Load())
    return _copy(index)


def _source_text(node) -> str:
    try:
        return ast.unparse(gast.gast_to_ast(_copy(node)))
    except Exception:
        return type(node).__name__


def _short(label: str) -> str:
    return label.split(".")[-1]


def _describe(node) -> str:
    return {gast.Lambda: "a lambda", gast.IfExp: "a conditional expression",
            gast.ListComp: "a list comprehension", gast.BoolOp: "a boolean operator",
            gast.JoinedStr: "an f-string"}.get(type(node), f"the expression {_source_text(node)}")


def _hint(node) -> str:
    return "rewrite it with NumPy functions that s2s has rules for"
