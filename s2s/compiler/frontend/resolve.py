"""Stage 2: what do the names in a function mean?

Free names are looked up in the function's closure, then its globals, then builtins, at
transform time, so that ``np.sin``, ``numpy.sin`` and ``from numpy import sin`` all lead to the
same rule. Names the function assigns itself are locals and resolve to nothing.
"""
from __future__ import annotations

import ast
import copy
import types
from typing import Any, Callable, Set

import gast
import numpy as np

from s2s import rules, runtime
from s2s.compiler import linemap, syntax
from s2s.compiler.frontend.parse import MISSING, Source
from s2s.errors import MissingRuleError, UnsupportedSyntaxError

UNRESOLVED = MISSING


def local_names(fn: gast.FunctionDef) -> Set[str]:
    """Parameters and every name the function body stores to."""
    names = set()
    args = fn.args
    for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs):
        names.add(a.id if isinstance(a, gast.Name) else a.arg)
    for a in (args.vararg, args.kwarg):
        if a is not None:
            names.add(a.id if isinstance(a, gast.Name) else a.arg)
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            names.add(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)) and node is not fn:
            names.add(node.name)
    return names


class Resolver:
    """Resolves expressions of a function to the objects they denote at transform time."""

    def __init__(self, source: Source, locals_: Set[str]):
        self.source = source
        self.locals = locals_

    def resolve(self, node: ast.AST) -> Any:
        """The object ``node`` (a name or attribute chain) stands for, or ``UNRESOLVED``."""
        if isinstance(node, gast.Name):
            if node.id in self.locals:
                return UNRESOLVED
            return self.source.lookup(node.id)
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if base is UNRESOLVED:
                return UNRESOLVED
            return getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED

    def is_global(self, name: str) -> bool:
        """Does ``name`` stand for an object known at transform time (a global, a closure
        variable or a builtin), not for a local or a temporary of the normalized code?"""
        return name not in self.locals and self.source.lookup(name) is not MISSING


def getitem_primitive(resolver: Resolver, subscript: gast.Subscript,
                      varies: Callable[[ast.AST], bool]) -> Any:
    """The ``__getitem__`` that an index expression on a global object calls, which rules
    are keyed by (``np.r_[a, b]`` and ``np.c_[a, b]`` share one); None for a local's item.
    ``varies(node)``: does ``node`` read a differentiated value. The forms of ``np.r_`` that
    s2s does not differentiate are refused here, at the user's line."""
    obj = resolver.resolve(subscript.value)
    if obj is UNRESOLVED:
        return None
    getitem = getattr(type(obj), "__getitem__", None)
    if getitem is type(np.r_).__getitem__:
        index = subscript.slice
        items = index.elts if isinstance(index, gast.Tuple) else [index]
        label = f"{syntax.dotted(subscript.value) or type(obj).__name__}[...]"
        if items and isinstance(items[0], gast.Constant) and items[0].value in ("r", "c"):
            raise resolver.source.error(subscript, f"{label} making an np.matrix ('r', 'c')",
                                        "join the arrays with np.concatenate or np.stack")
        for item in items:
            if isinstance(item, gast.Slice) and varies(item):
                raise resolver.source.error(
                    item, f"a range with differentiated bounds in {label}",
                    "write np.linspace(start, stop, num) for the values, or np.arange")
    return getitem


def is_constant_call(func: Any, call: gast.Call) -> bool:
    """Does the call of ``func`` (as resolved; UNRESOLVED for a method on a local) give a
    value with no gradient? Only a function on the one list of functions whose derivative
    is zero (``rules.NONDIFFERENTIABLE``, declared in templates/reverse/nondifferentiable.py)
    may: ``np.floor(x)``, ``int(x)``, ``len(x)``, ``x.argmax()``..."""
    if func is UNRESOLVED:
        if isinstance(call.func, gast.Attribute):       # a method: x.argmax(), d.keys()
            method = receiver_method(call.func.attr)
            return method is not None and rules.is_nondifferentiable(method)
        return False
    return rules.is_nondifferentiable(func)


def receiver_method(attr: str) -> Any:
    """The method a call ``v.attr(...)`` on a local value is taken to be: the array method
    of that name, else the dict method (``d.keys()``); None for neither."""
    method = getattr(np.ndarray, attr, None)
    return method if method is not None else getattr(dict, attr, None)


def is_readable_function(func: Any) -> bool:
    """Is ``func`` a Python function s2s differentiates by reading its source? NumPy's own
    functions are not: a NumPy function needs a rule, like a C function."""
    module = getattr(func, "__module__", None) or ""
    return isinstance(func, types.FunctionType) and (
        module != "numpy" and not module.startswith("numpy.")
        # s2s's generated code for a NumPy function it read (np.row_stack's gradient)
        or func.__code__.co_filename.startswith("<s2s"))


def reads_behind(func: Any) -> bool:
    """Is a readable Python function behind the callable ``func`` (a bound method, a
    callable object, a ``grad(f)``)? Such a call is differentiated when it runs."""
    return is_readable_function(runtime.function_behind(func)[0])


def missing_rule(source: Source, call: gast.Call, func: Any, mode: str) -> MissingRuleError:
    """The error for a call of ``func`` that receives a differentiated value, is not on the
    list of functions with a zero derivative, and has no rule in ``mode`` ("reverse" or
    "forward"): at the call, with the template of the rule to register.

        s2s has no differentiation rule for np.diff (numpy.diff)
          File "model.py", line 7, column 12, in loss
            return np.sum(np.diff(x))
                          ^
          hint: register a rule: @s2s.adjoint(np.diff) above def diff_rule(...): ...
    """
    label = syntax.dotted(call.func)
    if label is None:
        label = ast.unparse(gast.gast_to_ast(copy.deepcopy(call.func)))
    if is_user_class(func):
        return object_error(source, call, label)
    qualname = getattr(func, "__qualname__", None)
    if isinstance(qualname, str):
        what = f"{getattr(func, '__module__', None) or 'builtin'}.{qualname}"
    else:       # an object: a functools.partial, an np.vectorize...
        kind = type(func)
        what = f"a {kind.__module__}.{kind.__qualname__} object"
    short = label.split(".")[-1]
    if mode == "reverse":
        message = f"s2s has no differentiation rule for {label} ({what})"
        hint = (f"register a rule: @s2s.adjoint({label}) above def {short}_rule(...): "
                f"d<param> = dresult * ...  (see the README, 'Your own rules')")
    else:
        message = f"s2s has no forward-mode rule for {label} ({what})"
        hint = (f"register a tangent rule: @s2s.tangent({label}) above def {short}_jvp(...): "
                f"dresult = dx * ...  (see the README, 'Your own rules')")
    return source.error(call, f"a call to {label}", hint, cls=MissingRuleError, message=message)


def is_user_class(func: Any) -> bool:
    """Is ``func`` a class written in Python (not a built-in or NumPy type)?"""
    module = getattr(func, "__module__", None) or ""
    return isinstance(func, type) and module != "builtins" and module.split(".")[0] != "numpy"


def object_error(source: Source, node: Any, label: str) -> UnsupportedSyntaxError:
    """The error for an object built from differentiated values (``q = Quad(A)``) or a
    method of one (``q.energy(v)``): s2s differentiates functions of numbers, arrays and
    containers of them, not the attributes of objects."""
    return source.error(
        node, f"an object built from differentiated values ({label})",
        "s2s follows numbers, arrays, and lists, tuples and dicts of them, not objects' "
        "attributes: write the method as a function of the values (energy(A, v)), or build "
        "the object outside and differentiate its method (s2s.grad(q.energy)) or with "
        "weights=", cls=UnsupportedSyntaxError)


def is_transform(func: Any) -> bool:
    """Is ``func`` an s2s transform that makes a function (``s2s.grad``, ``jacfwd``...)?"""
    return getattr(func, "__s2s_transform__", False) is True


def transform_error(source: Source, call: gast.Call) -> UnsupportedSyntaxError:
    """The error for ``s2s.grad(inner)`` (or ``jacfwd``, ``hessian``...) of a function that
    reads differentiated values of the function around it: the function made has no
    parameters to take their gradient, so it would be lost."""
    text = ast.unparse(gast.gast_to_ast(copy.deepcopy(call)))
    fname = ast.unparse(gast.gast_to_ast(copy.deepcopy(call.args[0]))) if call.args else "f"
    return source.error(
        call, f"'{text}' of a function that reads differentiated values",
        f"s2s does not follow a gradient through the values '{fname}' reads from "
        f"'{source.name}': make them parameters of '{fname}' and pass them where you call "
        f"the result (def {fname}(y, x): ...; then {text}(y, x))")


def is_internal(func: Any) -> bool:
    """Is ``func`` a function of s2s's own api or compiler (what the rules of a transform
    called inside paste into generated code: ``jvp_tangents``, ``call_vjp_cotangents``...)?
    Differentiating generated code that calls one would read s2s as if it were the user's."""
    module = getattr(func, "__module__", None) or ""
    return isinstance(func, types.FunctionType) and module.startswith(("s2s.api",
                                                                        "s2s.compiler"))


def internal_error(source: Source, call: gast.Call, func: Any) -> UnsupportedSyntaxError:
    """The error for a derivative of a transform called inside, differentiated again: the
    third derivative through ``s2s.grad(f)(x)`` (or jvp, vjp) called in the function."""
    error = source.error(
        call, f"the derivative '{func.__name__}' of a transform called inside, a third time",
        "a transform called inside a differentiated function (s2s.grad, s2s.jvp, s2s.vjp, a "
        "gradient passed in) is differentiated to the second order at most: call the "
        "innermost transform outside, or take higher derivatives of one function with "
        "nested transforms (s2s.jacfwd(s2s.hessian(f)))")
    where = error.filename, error.lineno
    for _ in range(8):      # generated code, differentiated: back to the user's line
        back = linemap.origin(*where) if str(where[0]).startswith("<s2s ") else None
        if back is None:
            break
        where = back
    if where == (error.filename, error.lineno):
        return error
    return UnsupportedSyntaxError(error.message, filename=where[0], lineno=where[1],
                                  construct=error.construct, hint=error.hint)


def effect_call_error(source: Source, call: gast.Call, receiver: Any = None):
    """The error for a call made for its effect on a differentiated value, which neither
    mode can follow: ``np.add(x, 1, out=x)``, ``x.sort()``, ``np.multiply.at(x, i, v)``,
    ``update(x)``. ``receiver`` is the name whose method is called (``x`` in ``x.sort()``),
    if any."""
    label = syntax.dotted(call.func) or ast.unparse(gast.gast_to_ast(copy.deepcopy(call.func)))
    if any(k.arg == "out" for k in call.keywords):
        return source.error(call, f"{label}(..., out=...) writing into a differentiated array",
                            f"assign the result instead: y = {label}(...) without out=")
    if label.endswith(".at") and call.args and receiver is None:
        return source.error(
            call, f"{label}, which updates its first argument in place",
            "s2s follows np.add.at into a local array: add into a local copy (y = d['y'].copy(); "
            "np.add.at(y, rows, v)) and write other ufuncs' .at with it "
            "(np.subtract.at(y, rows, v) is np.add.at(y, rows, -v)), or build the result as "
            "a new array")
    if receiver is not None:
        method = call.func.attr
        return source.error(call, f"the method .{method}(), which updates '{receiver}' "
                                  f"in place",
                            "compute a new value and assign it (y = f(x)); only append, "
                            "extend and insert may update a differentiated list in place")
    return source.error(call, f"a call to {label} whose result is not used",
                        "assign the result (x = f(x)) instead of relying on an update in place")
