"""The adjoint sweep: the statement loop, and the dispatch of each statement to its adjoint.

``AdjointSweep.reverse_block`` walks a block backwards and asks, for each statement, the
``visit_<Node>`` method of its kind (as ``ast.NodeVisitor`` does) for the statements of its
adjoint; an assignment's value is dispatched again by the kind of expression
(``value_adjoint``). The work itself is done by the modules the visitor calls: ``primitives``
(rules), ``calls`` (user functions), ``items`` (subscripts, stores, list growth), ``flow``
(branches, loops), ``cotangents`` (accumulation) and ``saves`` (restoring overwritten names).

    y = np.tanh(x) * w      visit_Assign(t = np.tanh(x))   ->  dx = dt * (1 - t * t)
    (normalized:            visit_Assign(y = t * w)        ->  dt = dy * w
     t = np.tanh(x)                                            dw = dy * t
     y = t * w)             in reverse order: y first, then t
"""
from __future__ import annotations

import ast
import operator
from typing import Callable, List, Optional

import gast
import numpy as np

from s2s import rules, runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES, free_names
from s2s.compiler.analysis.shapes import INTS, shape_of_class
from s2s.compiler.frontend.resolve import UNRESOLVED, effect_call_error
from s2s.compiler.reverse import calls, cotangents, flow, items, primitives, queries, saves
from s2s.compiler.reverse.nodes import deep_copy, has_active, item_of, source_text
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, const, name
from s2s.errors import UnsupportedSyntaxError

BINARY_OPERATORS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod,
    gast.Pow: operator.pow, gast.MatMult: operator.matmul,
}
UNARY_OPERATORS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
# Array attributes that are differentiable functions of the array.
ATTRIBUTE_FUNCTIONS = {"T": np.transpose, "real": np.real, "imag": np.imag}


class AdjointSweep:
    """Writes the adjoint of statements of the prepared primal, over one ``ReverseState``.

    ``on_block``, if given, sees every adjoint block once it is made (inner blocks first);
    the standalone writer marks the user lines there.
    """

    def __init__(self, state: ReverseState,
                 on_block: Optional[Callable[[List[ast.AST]], None]] = None):
        self.state = state
        self.on_block = on_block

    def reverse_block(self, stmts: List[ast.AST]) -> List[ast.AST]:
        """The adjoint of a block: the adjoints of its statements, last statement first.
        Each adjoint statement carries the line of the user statement it comes from.

            a = f(x)            ->      <adjoint of b = g(a)>
            b = g(a)                    <adjoint of a = f(x)>
        """
        out: List[ast.AST] = []
        for stmt in reversed(stmts):
            adjoint = self.visit(stmt)
            line = getattr(stmt, "lineno", None)
            if line is not None:
                # the user's line each adjoint statement comes from (for comments in output)
                for new in adjoint:
                    if getattr(new, "lineno", None) is None:
                        new.lineno, new.col_offset = line, getattr(stmt, "col_offset", 0)
            out += adjoint
        if self.on_block is not None:
            self.on_block(out)
        return out

    def visit(self, stmt: ast.AST) -> List[ast.AST]:
        """The statements of ``stmt``'s adjoint, from ``visit_<kind of stmt>``; statements
        with no visitor (``pass``, ``global``...) have none."""
        visitor = getattr(self, "visit_" + type(stmt).__name__, None)
        return visitor(stmt) if visitor is not None else []

    # -- statements -------------------------------------------------------------------------
    def visit_If(self, stmt: gast.If) -> List[ast.AST]:
        """An ``if`` on the same condition, over the reversed branches (``flow.reverse_if``)."""
        return flow.reverse_if(self.state, stmt, self.reverse_block)

    def visit_For(self, stmt: gast.For) -> List[ast.AST]:
        """A loop that runs the reversed body as often, backwards (``flow.reverse_loop``)."""
        return flow.reverse_loop(self.state, stmt, self.reverse_block)

    def visit_While(self, stmt: gast.While) -> List[ast.AST]:
        """As ``visit_For``: a counted loop over the reversed body."""
        return flow.reverse_loop(self.state, stmt, self.reverse_block)

    def visit_Assign(self, stmt: gast.Assign) -> List[ast.AST]:
        """The adjoint of an assignment, given the cotangent of its target; then the pops
        that give overwritten names their earlier values back.

            t, t_pullback = vjp_g(x)   ->   dt_parts = t_pullback(dt); dx = dt_parts[0]
            x[i] = v                   ->   (items.store_adjoint)
            y = <value>                ->   value_adjoint(y, value, dy)
            y = f(y)                   ->   dy_out = dy; y_prev = y_stack.pop(); ...
        """
        state = self.state
        first = stmt.targets[0]
        if isinstance(first, gast.Tuple) and id(stmt) in state.calls:
            target = first.elts[0].id
            if target in state.nonzero:
                out = calls.call_pullback(state, target, stmt)
            else:
                out = []
                state.kill(target)
            return out + saves.restore_after(state, stmt)
        if isinstance(first, gast.Subscript) and isinstance(first.value, gast.Name):
            return items.store_adjoint(state, stmt)
        if not isinstance(first, gast.Name) or len(stmt.targets) != 1:
            return self._refuse_attribute_update(stmt)
        target = first.id
        if items.is_pop(state, stmt.value):
            return items.pop_adjoint(state, target, stmt.value) + saves.restore_after(state, stmt)
        if items.is_take_appended(state, stmt.value):
            return (items.take_appended_adjoint(state, target, stmt.value)
                    + saves.restore_after(state, stmt))
        if target not in state.active or target not in state.nonzero:
            state.kill(target)
            return saves.restore_after(state, stmt)
        value = stmt.value
        if target not in syntax.names_in(value):
            out = self.value_adjoint(target, value, stmt, name(state.cotangent(target)))
            state.kill(target)
            return out + saves.restore_after(state, stmt)
        # x = f(x): the cotangent and the value of the new x are both set aside first
        out: List[ast.AST] = []
        restore: List[ast.AST] = []
        if saves.saved(state, stmt, target):
            previous = state.fresh_temp(f"{target}_prev")
            out.append(assign(previous, saves.pop(state, target)))
            state.read_alias = {target: previous}
            restore = [assign(target, name(previous))]
        dresult = state.fresh_temp(f"d{target}_out")
        out.append(assign(dresult, name(state.cotangent(target))))
        state.kill(target)
        try:
            out += self.value_adjoint(target, value, stmt, name(dresult))
        finally:
            state.read_alias = {}
        return out + restore

    def visit_AugAssign(self, stmt: gast.AugAssign) -> List[ast.AST]:
        """Normalization leaves only updates of attributes and items of constants here."""
        return self._refuse_attribute_update(stmt)

    def visit_Expr(self, stmt: gast.Expr) -> List[ast.AST]:
        """A call made for its effect: ``xs.append(v)`` and ``xs.extend(vs)`` on an active
        list are undone (``items.container_adjoint``); saves and constant calls need nothing;
        any other call that may update a differentiated value in place is refused."""
        state = self.state
        call = stmt.value
        if items.is_drop_last(state, call):
            return items.drop_last_adjoint(state, call)
        if (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                and isinstance(call.func.value, gast.Name)
                and state.resolver.resolve(call.func.value) is UNRESOLVED):     # not np.add
            if call.func.value.id in state.active:
                return items.container_adjoint(state, stmt, call)
            if call.func.attr in ("append", "extend"):
                return []       # a list the output never reads: what it takes gets nothing
        saving = (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                  and isinstance(call.func.value, gast.Name)
                  and call.func.value.id in state.stacks.values())
        if isinstance(call, gast.Call) and not saving and has_active(call, state.active) \
                and not queries.is_constant_call(state, call):
            # a call made for its effect on a differentiated value: never guess
            raise effect_call_error(state.source, call)
        return []

    def visit_FunctionDef(self, stmt: gast.FunctionDef) -> List[ast.AST]:
        """A nested ``def``: its cotangent (a dict by closed-over name) goes to the names
        it closes over (``calls.closure_adjoint``)."""
        state = self.state
        out = []
        if stmt.name in state.active and stmt.name in state.nonzero:
            out = calls.closure_adjoint(state, free_names(stmt),
                                        name(state.cotangent(stmt.name)))
        state.kill(stmt.name)
        return out

    def _refuse_attribute_update(self, stmt) -> List[ast.AST]:
        """``obj.attr = v`` on a differentiated value is an error; on others, nothing."""
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

    # -- the value of an assignment ---------------------------------------------------------
    def value_adjoint(self, target: str, value: ast.AST, stmt: ast.AST,
                      dresult: ast.AST) -> List[ast.AST]:
        """The adjoint of ``target = value``, given ``dresult``, the cotangent of the target
        (normalization left one operation in ``value``, over names and constants).

            y = x           ->   dx = dy
            y = a * b       ->   primitives.apply_rule(operator.mul, [a, b])
            y = np.sin(x)   ->   primitives.call_adjoint
            y = x[1:3]      ->   items.subscript_adjoint
            y = (a, b)      ->   da = dy[0]; db = dy[1]
        """
        state = self.state
        if isinstance(value, gast.Name):
            if state.weights and queries.is_global_array(state, value):
                return [gast.Expr(value=state.call_helper(
                    "weight_cotangent", runtime.weight_cotangent, [name(target), dresult]))]
            return cotangents.contribute(state, value.id, dresult)
        if isinstance(value, (gast.Constant, gast.Compare)):
            return []
        if isinstance(value, gast.BinOp) and queries.is_sequence(value, state.sequences):
            return self._sequence_adjoint(value, dresult)
        if isinstance(value, gast.BinOp):
            fn = BINARY_OPERATORS.get(type(value.op))
            if fn is None or rules.is_nondifferentiable(fn):
                return []
            return self._maybe_sequence_checks(value) + primitives.apply_rule(
                state, fn, [value.left, value.right], {}, target, dresult, stmt)
        if isinstance(value, gast.UnaryOp):
            fn = UNARY_OPERATORS.get(type(value.op))
            if fn is None:
                return []
            return primitives.apply_rule(state, fn, [value.operand], {}, target, dresult, stmt)
        if isinstance(value, gast.Call):
            return primitives.call_adjoint(state, value, target, dresult, stmt)
        if isinstance(value, gast.Attribute):
            return self._attribute_adjoint(target, value, stmt, dresult)
        if isinstance(value, gast.Subscript):
            return items.subscript_adjoint(state, value, target, dresult, stmt)
        if isinstance(value, (gast.Tuple, gast.List)):
            out = []
            for i, e in enumerate(value.elts):
                if isinstance(e, gast.Starred) and has_active(e.value, state.active):
                    raise state.source.error(e, "a starred item of a differentiated list "
                                                "or tuple", "join them with + instead")
                # nested literals ([(a, b), (c, d)]) route their items' cotangents too
                out += cotangents.contribute_to_operand(state, e, item_of(dresult, const(i)))
            return out
        if isinstance(value, gast.Dict):
            out = []
            # a key written twice keeps its last value: the earlier ones get no cotangent
            last = {k.value: i for i, k in enumerate(value.keys) if isinstance(k, gast.Constant)}
            for i, (k, v) in enumerate(zip(value.keys, value.values)):
                if isinstance(k, gast.Constant) and last[k.value] != i:
                    continue
                if k is None and has_active(v, state.active):
                    raise state.source.error(v, "a ** item of a differentiated dict",
                                             "set its items one by one instead")
                if k is not None:
                    out += cotangents.contribute_to_operand(state, v, item_of(dresult, k))
            return out
        if isinstance(value, gast.Lambda):
            return calls.closure_adjoint(state, free_names(value), dresult)
        raise state.source.error(value, _describe(value),
                                 "rewrite it with NumPy functions that s2s has rules for")

    def _maybe_sequence_checks(self, value: gast.BinOp) -> List[ast.AST]:
        """``+`` and ``*`` read as arithmetic where they would join or repeat items if an
        operand held a list or a tuple that s2s could not tell is one (a function's result):
        ``h * 2`` (an int), ``h + g`` (both maybe lists). A check at run time refuses a list
        there, since joining or repeating items needs another adjoint. Where the other
        operand is a float or certainly an array, a list operand raises in the primal.

            y = h * 2    ->    numeric_operand(h, ...)     (h = helper(x) before)
        """
        state = self.state

        def maybe_list(node) -> bool:
            return (isinstance(node, gast.Name) and node.id in state.trees
                    and node.id not in state.sequences and node.id not in state.dicts
                    and shape_of_class(state.classes.get(node.id)) is None)

        def int_like(node) -> bool:
            return (isinstance(node, gast.Constant) and type(node.value) is int
                    or isinstance(node, gast.Name) and node.id in state.classes.get(INTS, ()))

        left, right = value.left, value.right
        if isinstance(value.op, gast.Mult):
            suspects = [a for a, b in ((left, right), (right, left))
                        if maybe_list(a) and (int_like(b) or maybe_list(b))]
        elif isinstance(value.op, gast.Add):
            suspects = [a for a in (left, right) if maybe_list(a)] \
                if maybe_list(left) and maybe_list(right) else []
        else:
            return []
        return [_operand_check(state, numeric_operand, a.id, const(a.id), value)
                for a in {a.id: a for a in suspects}.values()]

    def _sequence_adjoint(self, value: gast.BinOp, dresult: ast.AST) -> List[ast.AST]:
        """``+`` and ``*`` on lists and tuples join and repeat items: the cotangent is split
        the same way.

            l = a + b       ->   da = dl[:len(a)]; db = dl[len(a):]
            l = a * 3       ->   da = join_items(dl, len(a))     (the copies' sum)
        """
        state = self.state
        left, right = value.left, value.right
        length = state.bind_free("len", len)

        def size(node):
            if isinstance(node, (gast.List, gast.Tuple)) and not any(
                    isinstance(e, gast.Starred) for e in node.elts):
                return const(len(node.elts))
            # the operand's length before the statement: in acc = acc + [v], acc's old value
            # was set aside (read_alias) and acc already names the longer list
            return gast.Call(func=name(length), args=[
                syntax.rename_loads(deep_copy(node), state.read_alias)], keywords=[])

        def part(lower, upper):
            return gast.Subscript(value=deep_copy(dresult), slice=gast.Slice(
                lower=lower, upper=upper, step=None), ctx=gast.Load())

        checks = []
        for operand in (left, right):
            if isinstance(operand, gast.Name) and operand.id not in state.sequences:
                # its type is known only at run time: an array there means NumPy arithmetic
                checks.append(_operand_check(state, list_operand, operand.id,
                                             const(isinstance(value.op, gast.Add)), value))
        if isinstance(value.op, gast.Add):
            return checks + (cotangents.contribute_to_operand(state, left, part(None, size(left)))
                    + cotangents.contribute_to_operand(state, right, part(size(left), None)))
        items_ = left if queries.is_sequence(left, state.sequences) else right
        if has_active(left if items_ is right else right, state.active):
            raise state.source.error(value, "a list repeated a differentiated number of times",
                                     "repeat it an integer number of times; for NumPy "
                                     "arithmetic, write the list as np.array([...])")
        return checks + cotangents.contribute_to_operand(state, items_, state.call_helper(
            "join_items", runtime.join_items, [deep_copy(dresult), size(items_)]))

    def _attribute_adjoint(self, target, value: gast.Attribute, stmt, dresult):
        """``y = x.T`` is ``np.transpose(x)`` (``x.real``, ``np.real(x)``); data attributes (``x.shape``) have no
        derivative; in weights mode, other attributes send their cotangent to the object."""
        state = self.state
        if value.attr in STATIC_ATTRIBUTES:
            return []
        fn = ATTRIBUTE_FUNCTIONS.get(value.attr)
        if state.weights and (fn is None or not has_active(value.value, state.active)):
            return [gast.Expr(value=state.call_helper(
                "weight_cotangent", runtime.weight_cotangent, [name(target), dresult]))]
        if fn is None or not isinstance(value.value, gast.Name):
            raise state.source.error(value, f"the attribute .{value.attr}",
                                     "only .T, .real, .imag and data attributes (.shape, "
                                     ".ndim, .size, .dtype) of arrays are differentiable")
        return primitives.apply_rule(state, fn, [value.value], {}, target, dresult, stmt)


def _describe(node) -> str:
    return {gast.Lambda: "a lambda", gast.IfExp: "a conditional expression",
            gast.ListComp: "a list comprehension", gast.BoolOp: "a boolean operator",
            gast.JoinedStr: "an f-string"}.get(type(node), f"the expression {source_text(node)}")


def _operand_check(state: ReverseState, check, operand: str, detail: ast.AST,
                   value: gast.BinOp) -> ast.AST:
    """``check(operand, detail, file, line, function)``, a run-time check of an operand of
    ``+`` or ``*`` (its value before the statement), located at the user's line."""
    return gast.Expr(value=state.call_helper(check.__name__, check, [
        name(state.read_alias.get(operand, operand)), detail,
        const(state.source.filename), const(getattr(value, "lineno", None)),
        const(state.source.name)]))


def numeric_operand(value, label: str, filename, lineno, function) -> None:
    """Run time: an operand of ``+`` or ``*`` that s2s read as arithmetic is no list or
    tuple (joining or repeating its items would need another adjoint)."""
    if isinstance(value, (list, tuple)):
        raise UnsupportedSyntaxError(
            f"s2s cannot differentiate + or * of the {type(value).__name__} '{label}' in "
            f"'{function}': it could not tell that '{label}' holds a "
            f"{type(value).__name__}, and read the operator as arithmetic",
            filename=filename, lineno=lineno, function=function,
            construct=f"{type(value).__name__} joined or repeated",
            hint=f"make it certain where it is bound: {label} = list(...) (or tuple(...)), "
                 f"or join it with a literal ([*{label}, v])")


def list_operand(value, joined: bool, filename, lineno, function) -> None:
    """Run time: beside a list literal, ``+`` needs a list or tuple and ``*`` an integer; an
    array there would mean NumPy arithmetic, which s2s read as joining or repeating items."""
    if joined and isinstance(value, (list, tuple)):
        return
    if not joined and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return
    raise UnsupportedSyntaxError(
        f"s2s cannot differentiate a list literal {'added to' if joined else 'multiplied by'} "
        f"a {type(value).__name__} in '{function}'", filename=filename, lineno=lineno,
        function=function, construct="list literal as an array operand",
        hint="write np.array([...]) for an array")


# the checks above return nothing and raise where the code cannot be right: the code of a
# gradient that holds them is differentiated again (second order) past them
rules.nondifferentiable(list_operand, numeric_operand)
