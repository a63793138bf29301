"""Before the forward builder walks a function: a check of its syntax, and rewrites that give
every statement plain operands (``normalize`` then splits what is left).

``check_supported`` refuses what forward mode cannot differentiate. ``Prepare`` rewrites
item updates, loop iterables and list updates (see its docstring), and also:

    sq = lambda v: v * v        ->   def sq(v): return v * v
    y = g(lambda v: v * w, x)   ->   def fn(v): return v * w;  y = g(fn, x)
    for x in reversed(xs):      ->   for x in xs[::-1]:       (its tangent is dxs[::-1])
"""
from __future__ import annotations

import ast
import builtins
import copy
from typing import List

import gast

from s2s.compiler import syntax
from s2s.compiler.forward.nodes import container_of
from s2s.compiler.forward.scope import Scope
from s2s.compiler.frontend.checks import UNSUPPORTED, check_reads_by_name
from s2s.compiler.frontend.nested import check_local_functions
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.normalize import is_atom
from s2s.compiler.frontend.parse import Source
from s2s.compiler.syntax import assign, const, dotted, name


class Prepare:
    """Rewrites done before normalization, so every statement has plain operands.

        x[i] += v          ->   x_item = x[i] + v;  x[i] = x_item
        x[i] = a * b       ->   x_item = a * b;     x[i] = x_item
        for r in x @ w:    ->   rows = x @ w;       for r in rows:
        lst.append(a * b)  ->   lst_item = a * b;   lst.append(lst_item)
    """

    def __init__(self, scope: Scope, namer: Namer):
        self.scope = scope
        self.namer = namer

    def function(self, fn: gast.FunctionDef) -> gast.FunctionDef:
        """A prepared copy of ``fn`` (the user's tree is left as it is)."""
        fn = syntax.copy_tree(fn)
        fn.body = self.block(fn.body)
        return fn

    def block(self, stmts):
        """The prepared statements of a block."""
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

        class Lift(syntax.Transformer):
            def visit_Lambda(self, node):
                """A lambda -> the name of a def written before the statement."""
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
                and self.scope.callee(node) is builtins.reversed):
            return node
        inner = node.args[0]
        if isinstance(inner, gast.Call) and self.scope.callee(inner) is builtins.range:
            return node
        return ast.copy_location(gast.Subscript(
            value=inner, slice=gast.Slice(lower=None, upper=None, step=const(-1)),
            ctx=gast.Load()), node)

    def statement(self, stmt):
        """The statements that replace ``stmt``: the values it needs as plain names first,
        then ``stmt`` with its nested blocks prepared (see the class's examples)."""
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
            if isinstance(stmt.iter, gast.Call) and self.scope.callee(stmt.iter) in (
                    builtins.zip, builtins.enumerate):
                stmt.iter.args = [self._reversed_as_slice(a) for a in stmt.iter.args]
            kind, args = self.scope.iteration(stmt)
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
            if hint and hint.split(".")[0] in self.scope.locals:
                call.args = [self._hoist(a, hint.replace(".", "_") + "_item", out)
                             for a in call.args]
        return out + [stmt]


def _hint(target) -> str:
    base = container_of(target)
    return next(iter(base)) if base else "item"


# -- checks -----------------------------------------------------------------------------------
# The reverse-mode table, with del also refused (forward mode keeps no values to restore it)
# and raise allowed (a tangent needs no adjoint for the path that raises).
_UNSUPPORTED = {**{kind: info for kind, info in UNSUPPORTED.items()
                   if kind is not gast.Raise},
                gast.Delete: ("a del statement",
                              "let the name go out of scope instead of deleting it")}


def check_supported(source: Source, fn: gast.FunctionDef) -> None:
    """Refuse, with a located error, what forward mode cannot differentiate: async functions,
    the constructs in ``_UNSUPPORTED``, and a function that returns nothing."""
    if isinstance(fn, gast.AsyncFunctionDef):
        raise source.error(fn, "an async function", "s2s differentiates plain functions")
    check_reads_by_name(source, fn)
    check_local_functions(source, fn, reverse=False)
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
