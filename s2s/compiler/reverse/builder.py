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
result has no cotangent is skipped altogether.

The builder is one class made of mixins, one idea each: ``reverse_flow`` (branches and
loops), ``reverse_calls`` (calls to user functions), ``reverse_items`` (subscripts, item
stores, list growth), ``reverse_outputs`` (seeds, returned gradients, the vjp's pullback)
and ``reverse_analysis`` (static questions about the primal). ``reverse_ast`` holds the
syntax helpers they share.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Dict, List, Optional, Sequence, Set

import gast
import numpy as np

from s2s import rules

from s2s.compiler import syntax
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES, active_names, free_names
from s2s.errors import MissingRuleError, UnsupportedSyntaxError
from s2s.compiler.expand import Expansion, bind_call, expand, template_of
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.normalize import assign, const, dotted, name, normalize
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import UNRESOLVED, Resolver, local_names
from s2s.runtime import numpy_helpers
from s2s import runtime
from s2s.compiler.optimize import Context, optimize
from s2s.compiler.analysis.shapes import FLOAT, LowerShapeHelpers, shape_classes
from s2s.compiler.frontend.canonical import canonicalize
from s2s.compiler.frontend.aliasing import check_aliasing
from s2s.compiler.frontend.checks import check_supported
from s2s.compiler.reverse.flow import ControlFlow, _names, _stored_target
from s2s.compiler.reverse.analysis import Analysis
from s2s.compiler.reverse.nodes import (_append_parameter, _copy, _has_active, _item, _rename_loads,
                          _store_counts, eliminate_dead_temps, parameter_names,
                          rename_reassigned)
from s2s.compiler.reverse.calls import UserCalls
from s2s.compiler.reverse.items import ItemAdjoints
from s2s.compiler.reverse.outputs import Outputs
from s2s.compiler.reverse.state import ReverseState

BINARY_OPERATORS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod,
    gast.Pow: operator.pow, gast.MatMult: operator.matmul,
}
UNARY_OPERATORS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
# Array attributes that are differentiable functions of the array.
ATTRIBUTE_FUNCTIONS = {"T": np.transpose}


class ReverseBuilder(ControlFlow, UserCalls, ItemAdjoints, Outputs, Analysis):
    """Builds the gradient function of one user function."""

    def __init__(self, source: Source, wrt: Sequence[str], has_aux: bool = False,
                 sens_param: bool = False, tree_params: Sequence[str] = (),
                 single: bool = True, mode: str = "grad", callee_vjp: Any = None,
                 call_vjp: Any = None,
                 weights: bool = False, shapes=None):
        self.state = ReverseState(
            source=source, wrt=list(wrt), has_aux=has_aux, sens_param=sens_param,
            tree_params=set(tree_params), single=single, mode=mode, weights=weights,
            shapes=shapes or {}, callee_vjp=callee_vjp, call_vjp=call_vjp,
            namer=Namer.for_tree(source.node))

    @property
    def injected(self) -> Dict[str, Any]:
        """Generated name -> the object it stands for (closure cells, helpers)."""
        return self.state.injected

    # -- entry point ----------------------------------------------------------------------
    def build(self) -> gast.FunctionDef:
        fn = self.state.source.node
        check_supported(self.state.source, fn)
        check_aliasing(self.state.source, fn, {p for p, spec in self.state.shapes.items()
                                         if isinstance(spec, tuple) and spec})
        self.state.locals = local_names(fn)
        self.state.resolver = Resolver(self.state.source, self.state.locals)
        params = parameter_names(fn)
        for p in self.state.wrt:
            if p not in params and p not in self.state.source.closure:
                raise TypeError(f"'{fn.name}' has no parameter '{p}'")
        normalized = canonicalize(normalize(self.state.source, fn, self.state.namer), self.state.namer)
        primal_temps = self.state.primal_temps = set(self.state.namer.made)
        body = rename_reassigned(normalized.body, params, self.state.namer)
        *primal, ret = body
        outputs, value_node = self._outputs(ret)
        self.state.active = active_names(primal, self.state.wrt, outputs, self._is_constant_call,
                                   self._is_source if self.state.weights else None)
        self.state.trees = self._tree_names(primal)
        self.state.assign_count = _store_counts(primal)
        self.state.params = set(params)
        self.state.assigned_anywhere = set(self.state.assign_count)
        self.state.mutated = self.mutated_names(primal)
        self.state.local_functions = self._local_functions(primal)
        primal = self.private_inputs(params) + self.prepare_block(primal)
        self.state.classes = shape_classes(
            gast.FunctionDef(name=fn.name, args=fn.args, body=primal, decorator_list=[],
                             returns=None, type_comment=None, type_params=[]),
            Context(set(), set(), {}, self._is_elementwise_call, None, shapes=self.state.shapes,
                    is_number=self._is_global_number, callee=self.state.callee))

        # A first sweep finds which primal names the adjoint reads; those the primal
        # overwrites are saved before they are overwritten, and the sweep is made again.
        overwritten = self.plan_saves(primal, params)
        if not overwritten:         # straight-line code: nothing is ever overwritten
            return self._finish(fn, primal, primal_temps, outputs, value_node, set(), set())
        checkpoint = self.state.checkpoint()
        _, seed_stmts = self.seeds(outputs, value_node)
        adjoint = self.reverse_block(primal)
        grads = [self._final_cotangent(p) for p in self.state.wrt]
        reads = {n.id for s in seed_stmts + adjoint + grads for n in syntax.walk(s)
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        shape_only = self._read_for_shape_only(seed_stmts + adjoint)
        self.state.rollback(checkpoint)
        return self._finish(fn, primal, primal_temps, outputs, value_node,
                            overwritten & reads, shape_only)

    def _finish(self, fn, primal, primal_temps, outputs, value_node, restores, shape_only):
        """The real sweep, once it is known which overwritten names must be saved."""
        params = parameter_names(fn)
        self.state.restores = restores
        self.state.shape_only = restores & shape_only
        primal = self.insert_saves(primal, params)
        for n in sorted(_names(value_node) & self.state.mutated):
            # the adjoint sweep puts back what x[i] = v and xs.append(v) changed: a value
            # or aux output updated in place is copied first
            kept = self.state.namer.fresh(f"{n}_value")
            primal.append(assign(kept, gast.Call(
                func=name(self.state.bind_free("fresh_copy", runtime.fresh_copy)), args=[name(n)],
                keywords=[])))
            value_node = _rename_loads(value_node, n, kept) or value_node
        if _names(value_node) & self.state.restores:
            # the adjoint sweep restores earlier values: keep the result aside first
            kept = self.state.namer.fresh("value")
            primal.append(assign(kept, value_node))
            value_node = name(kept)
        seed_param, seed_stmts = self.seeds(outputs, value_node)
        adjoint = eliminate_dead_temps(self.reverse_block(primal), self.state.temps)
        grads = [self._final_cotangent(p) for p in self.state.wrt]

        if self.state.mode == "vjp":
            grads_node = gast.Tuple(elts=grads, ctx=gast.Load())
        else:
            grads_node = grads[0] if self.state.single else gast.Tuple(elts=grads, ctx=gast.Load())
        sentinel = gast.Expr(value=const(_SENTINEL))
        result = gast.Return(value=gast.Tuple(elts=[value_node, grads_node], ctx=gast.Load()))
        if self.state.mode == "grad_only":
            result = gast.Return(value=grads_node)      # the value is not wanted: not computed
        prefix = "vjp_" if self.state.mode == "vjp" else "grad_"
        new = gast.FunctionDef(
            name=self.state.namer.fresh(prefix + fn.name.strip("_<>")), args=fn.args,
            body=primal + [sentinel] + seed_stmts + adjoint + [result], decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        if self.state.sens_param:
            new.args = _append_parameter(fn.args, self.state.sens_name)
        ast.copy_location(new, fn)
        generated = set(self.state.temps) | set(self.state.cotangent_names.values())
        if self.state.mode == "grad_only":
            generated |= self._pure_primal_names(primal)
        ctx = Context(generated=generated, primal_temps=primal_temps,
                      cotangent_of={d: p for p, d in self.state.cotangent_names.items()},
                      elementwise=self._is_elementwise_call,
                      unbroadcast=self.state.name_of(numpy_helpers.unbroadcast),
                      reduction=self._is_full_reduction,
                      helpers={"ones_like": self.state.name_of(runtime.ones_like),
                               "expand_reduced": self.state.name_of(numpy_helpers.expand_reduced)},
                      shapes=self.state.shapes, is_number=self._is_global_number,
                      callee=self.state.callee, numpy=lambda: self.state.bind_free("np", np),
                      bind=self.state.bind_free)
        new = optimize(new, ctx)
        split = next(i for i, s in enumerate(new.body) if _is_sentinel(s))
        forward, backward = new.body[:split], new.body[split + 1:]
        if self.state.mode != "vjp":
            new.body = forward + backward
            self._private_gradients(new)
            return new
        return self._as_pullback(new, forward, backward, seed_param, fn, primal_temps)

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
        return names - impure - set(self.state.wrt) - self.state.mutated

    # this overrides ControlFlow._pure, which loop-invariant hoisting calls too: it must
    # stay on ReverseBuilder itself (a mixin after ControlFlow would lose to it)
    def _pure(self, value) -> bool:
        """Arithmetic, comparisons and NumPy/math functions of names: no side effects."""
        if isinstance(value, (gast.Name, gast.Constant)):
            return True
        if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Compare)):
            return all(isinstance(n, (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp,
                                      gast.Compare)) or not isinstance(n, ast.expr)
                       for n in syntax.walk(value))
        if isinstance(value, gast.Call):
            func = self.state.callee(value)
            module = getattr(func, "__module__", None) or ""
            if isinstance(func, np.ufunc) or module == "math":
                return True
            return module.startswith("numpy") and not module.startswith("numpy.random") \
                and all(isinstance(a, (gast.Name, gast.Constant)) for a in value.args)
        return False

    # -- the adjoint of one statement ------------------------------------------------------
    def statement_adjoint(self, stmt: ast.AST) -> List[ast.AST]:
        if isinstance(stmt, gast.If):
            return self.reverse_if(stmt)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.reverse_loop(stmt)
        if not isinstance(stmt, gast.Assign):
            return self.other_adjoint(stmt)
        first = stmt.targets[0]
        if isinstance(first, gast.Tuple) and id(stmt) in self.state.calls:
            target = first.elts[0].id
            if target in self.state.nonzero:
                out = self.call_pullback(target, stmt)
            else:
                out = []
                self.state.kill(target)
            return out + self.restore_after(stmt)
        if not isinstance(first, gast.Name) or len(stmt.targets) != 1:
            return self.other_adjoint(stmt)
        target = first.id
        if target not in self.state.active or target not in self.state.nonzero:
            self.state.kill(target)
            return self.restore_after(stmt)
        value = stmt.value
        if target not in _names(value):
            out = self.assign_adjoint(target, value, stmt, name(self.state.cotangent(target)))
            self.state.kill(target)
            return out + self.restore_after(stmt)
        # x = f(x): the cotangent and the value of the new x are both set aside first
        out: List[ast.AST] = []
        restore: List[ast.AST] = []
        if self.saved(stmt, target):
            previous = self.state.fresh_temp(f"{target}_prev")
            out.append(assign(previous, self._pop(target)))
            self.state.read_alias = {target: previous}
            restore = [assign(target, name(previous))]
        dresult = self.state.fresh_temp(f"d{target}_out")
        out.append(assign(dresult, name(self.state.cotangent(target))))
        self.state.kill(target)
        try:
            out += self.assign_adjoint(target, value, stmt, name(dresult))
        finally:
            self.state.read_alias = {}
        return out + restore

    def other_adjoint(self, stmt: ast.AST) -> List[ast.AST]:
        """Statements that bind no name: list growth, in-place updates, expressions."""
        if isinstance(stmt, gast.Expr):
            call = stmt.value
            if (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                    and isinstance(call.func.value, gast.Name)
                    and call.func.value.id in self.state.active):
                return self.container_adjoint(stmt, call)
            saving = (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                      and isinstance(call.func.value, gast.Name)
                      and call.func.value.id in self.state.stacks.values())
            if isinstance(call, gast.Call) and not saving and _has_active(call, self.state.active) \
                    and not self._is_constant_call(call) \
                    and self.state.callee(call) not in (print,):
                # a call made for its effect on a differentiated value: never guess
                raise self.state.source.error(
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
            if stmt.name in self.state.active and stmt.name in self.state.nonzero:
                out = self.closure_adjoint(free_names(stmt), name(self.state.cotangent(stmt.name)))
            self.state.kill(stmt.name)
            return out
        if isinstance(stmt, (gast.Assign, gast.AugAssign)):
            touched = set()
            for t in getattr(stmt, "targets", [getattr(stmt, "target", None)]):
                while isinstance(t, (gast.Subscript, gast.Attribute)):
                    t = t.value
                if isinstance(t, gast.Name):
                    touched.add(t.id)
            if touched & self.state.active:
                raise self.state.source.error(
                    stmt, "an update of an attribute of a differentiated value",
                    "compute a new value and return it instead")
        return []

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
            if self.state.weights and (fn is None or not _has_active(value.value, self.state.active)):
                return [gast.Expr(value=self.state.call_helper(
                    "weight_cotangent", runtime.weight_cotangent, [name(target), dresult]))]
            if fn is None or not isinstance(value.value, gast.Name):
                raise self.state.source.error(value, f"the attribute .{value.attr}",
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
        raise self.state.source.error(value, _describe(value), _hint(value))

    def call_adjoint(self, call: gast.Call, target: str, dresult: ast.AST,
                     stmt: ast.AST) -> List[ast.AST]:
        operands = list(call.args) + [k.value for k in call.keywords]
        if isinstance(call.func, gast.Attribute):
            operands.append(call.func.value)
        if not any(_has_active(o, self.state.active) for o in operands):
            return []           # nothing differentiated goes in: nothing comes back
        for arg in call.args:
            if isinstance(arg, gast.Starred):
                raise self.state.source.error(arg, "a *args call to a primitive",
                                        "pass the arguments one by one")
        keywords = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise self.state.source.error(call, "a **kwargs call to a primitive",
                                        "pass keyword arguments one by one")
            keywords[kw.arg] = kw.value
        func = self.state.callee(call)
        if func is UNRESOLVED and isinstance(call.func, gast.Attribute) \
                and isinstance(call.func.value, gast.Name):
            method = getattr(np.ndarray, call.func.attr, None)
            if method is None or rules.reverse_rule(method) is None:
                raise self.state.source.error(
                    call, f"the method .{call.func.attr}()",
                    "no rule for this array method; call the NumPy function instead, or "
                    "register a rule with @s2s.adjoint(np.ndarray." + call.func.attr + ")",
                    cls=MissingRuleError)
            return self.apply_rule(method, [call.func.value] + list(call.args), keywords,
                                   target, dresult, stmt)
        if func is UNRESOLVED:
            raise self.state.source.error(call, f"a call to '{_source_text(call.func)}'",
                                    "s2s resolves called functions at transform time; call a "
                                    "global or imported function", cls=UnsupportedSyntaxError)
        if rules.is_nondifferentiable(func):
            return []
        if rules.reverse_rule(func) is None:
            label = dotted(call.func) or _source_text(call.func)
            raise self.state.source.error(
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
            raise self.state.source.error(stmt, f"the operation {getattr(fn, '__name__', fn)}",
                                    "no rule is registered for it", cls=MissingRuleError)
        template = template_of(rule)
        bound = bind_call(template, args, keywords)
        if bound is None:
            raise self.state.source.error(
                stmt, f"this call of {getattr(fn, '__name__', fn)}",
                f"the rule supports the arguments {template.signature}", cls=MissingRuleError)
        # only expand when some differentiable operand is active
        wanted = [p for p in template.differentiable if _has_active(bound.get(p), self.state.active)]
        if not wanted:
            return []
        placeholder = "__s2s_result__"
        expansion = expand(template, bound, name(placeholder), dresult,
                           self.state.fresh_temp, self.state.bind_free)
        lower = self._shape_lowering(target, dresult)
        for i, stmt_ in enumerate(expansion.statements):
            for old, new in self.state.read_alias.items():
                # the operand's old value was set aside; the result keeps its own name
                _rename_loads(stmt_, old, new)
            _rename_loads(stmt_, placeholder, target)
            expansion.statements[i] = lower.visit(stmt_)
        return self.lower_contributions(expansion, bound)

    def _shape_lowering(self, target: str, dresult: ast.AST):
        """Decides ``unbroadcast`` and the matrix-product adjoints of a rule's expansion
        where shape classes know the shapes (see ``shapes.LowerShapeHelpers``)."""
        overrides = {}
        if isinstance(dresult, gast.Name) and target in self.state.classes:
            overrides[dresult.id] = self.state.classes[target]
        for old, new in self.state.read_alias.items():
            if old in self.state.classes:
                overrides[new] = self.state.classes[old]
        classes = _AdjointClasses(self.state.classes, overrides, self.state.primal_of)
        unbroadcast = self.state.name_of(numpy_helpers.unbroadcast)
        ctx = Context(set(), set(), {}, self._is_elementwise_call, unbroadcast,
                      is_number=self._is_global_number, callee=self.state.callee,
                      numpy=lambda: self.state.bind_free("np", np))
        return LowerShapeHelpers(classes, ctx)

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
                if var in self.state.active and var not in self.state.nonzero:
                    before.append(assign(self.state.cotangent(var), self._zeros(var)))
                    self.state.nonzero.add(var)
                    self.state.owned.add(var)

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
            if not any(_has_active(v, self.state.active) for v in operand.values):
                return []
            tmp = self.state.fresh_temp("parts")
            out = [assign(tmp, value)]
            for k, v in zip(operand.keys, operand.values):
                if isinstance(v, gast.Name) and k is not None:
                    out += self.contribute(v.id, self.state.call_helper(
                        "item_or_zero", runtime.item_or_zero, [name(tmp), _copy(k)]))
            return out
        if isinstance(operand, (gast.Tuple, gast.List)):
            if not any(_has_active(e, self.state.active) for e in operand.elts):
                return []
            tmp = self.state.fresh_temp("parts")
            out = [assign(tmp, value)]
            for i, e in enumerate(operand.elts):
                if isinstance(e, gast.Name):
                    out += self.contribute(e.id, _item(name(tmp), const(i)))
            return out
        return []

    def contribute(self, var: str, value: ast.AST) -> List[ast.AST]:
        """Add ``value`` to the cotangent of ``var``."""
        if var not in self.state.active:
            return []
        d = self.state.cotangent(var)
        if isinstance(value, gast.Name):
            # value's array is now shared: whoever held it may no longer update it in place
            primal = self.state.primal_of(value.id)
            if primal is not None:
                self.state.owned.discard(primal)
        if var not in self.state.nonzero:
            self.state.nonzero.add(var)
            if isinstance(value, (gast.BinOp, gast.UnaryOp)):
                self.state.owned.add(var)
            else:
                self.state.owned.discard(var)
            return [assign(d, value)]
        if var in self.state.trees:
            self.state.owned.add(var)
            return [assign(d, self.state.call_helper("add", runtime.add, [name(d), value]))]
        if var in self.state.owned:
            # a private array: accumulate in place, no new allocation
            return [gast.AugAssign(target=name(d, gast.Store()), op=gast.Add(), value=value)]
        self.state.owned.add(var)
        return [assign(d, gast.BinOp(left=name(d), op=gast.Add(), right=value))]

    def _zeros(self, var: str) -> ast.AST:
        """A zero cotangent buffer: np.zeros_like for inputs known to be arrays, the runtime
        helper (which also builds lists and dicts of zeros) for anything else."""
        if self.state.shapes.get(var) == FLOAT:
            return const(0.0)       # a Python float's cotangent: a float, added to freely
        if var in self.state.wrt and var not in self.state.trees:
            return gast.Call(func=self.state.numpy("zeros_like"), args=[name(var)], keywords=[])
        return self.state.call_helper("zeros_like", runtime.zeros_like, [name(var)])


# -- small AST helpers ---------------------------------------------------------------------
_SENTINEL = "s2s: the adjoint sweep starts here"


def _is_sentinel(stmt) -> bool:
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and stmt.value.value == _SENTINEL)


def _operand_names(node) -> List[str]:
    if node is None:
        return []
    return [n.id for n in syntax.walk(node) if isinstance(n, gast.Name)]


def _assigned_marker(stmt, markers) -> Optional[str]:
    if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in markers):
        return stmt.targets[0].id
    return None


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


class _AdjointClasses:
    """Shape classes as a rule's expansion sees them: a cotangent is in its primal's class,
    and ``overrides`` (the rule's result cotangent, old values set aside) come first. Looked
    up name by name, so that no statement copies the classes of the whole function."""

    def __init__(self, classes, overrides, primal_of):
        self.classes, self.overrides, self.primal_of = classes, overrides, primal_of

    def __getitem__(self, name):
        if name in self.overrides:
            return self.overrides[name]
        primal = self.primal_of(name) if isinstance(name, str) else None
        if primal is not None and primal in self.classes:
            return self.classes[primal]
        return self.classes[name]

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default
