"""Example arguments for ``--check``: given with ``--example``, or inferred from the module.

An example is a dict from parameter name to a *spec*, a small JSON value that the ``--check``
subprocess turns into an argument (``make``):

    {"shape": [5, 3]}                       a float64 array of that shape, entries in [0.5, 1.5]
    {"shape": []}                           a Python float
    {"array": [0, 2, 1], "dtype": "int64"}  exactly this array
    {"value": 4}                            exactly this number (or bool, string, None)
    {"tuple": [...]}, {"list": [...]}, {"dict": [[key, spec], ...]}    pytrees of specs

``parse_value`` reads the right-hand side of ``--example "f: NAME=VALUE"``: ``(5, 3)`` is a
shape, ``()`` a float, ``0.5`` or ``4`` a number, ``int[0, 2, 1]`` and ``float[[1, 2]]``
arrays of that dtype, ``[0.5, 1.5]`` an array as NumPy reads it, and tuples, lists and dicts
of other values pytrees (``params={"w": (3, 4), "b": (4,)}``).

``infer`` looks for evidence in the module, without running it, for a function that has no
``--example``: a call of the function whose arguments are known at conversion time (in the
``if __name__ == "__main__":`` block or at the top level, after evaluating the assignments
before it), and a shape comment beside a parameter on a line of its own
(``x: np.ndarray,  # (5, 3)``; ``t: float`` is a float).
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from s2s.convert.constants import NotConstant, evaluate

Spec = Dict[str, Any]
_SHAPE_COMMENT = re.compile(r"#.*?\((\s*\d+\s*(?:,\s*\d+\s*)*,?\s*|\s*)\)")
# random constructors whose arguments give only a shape: np.random.rand(5, 3),
# rng.normal(size=(5, 3)); the values are drawn anew by --check
_SHAPED_BY_ARGS = ("rand", "randn")
_SHAPED_BY_SIZE = ("normal", "uniform", "standard_normal", "random", "random_sample")


class BadExample(ValueError):
    """A ``--example`` value that is not one of the forms above."""


# -- --example values -----------------------------------------------------------------------
def parse_value(node: ast.expr) -> Spec:
    """The spec of one ``--example`` value, from its syntax."""
    if isinstance(node, ast.Tuple) and all(_is_int(e) for e in node.elts):
        return {"shape": [e.value for e in node.elts]}
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in ("int", "float"):
        data = _literal(node.slice if not isinstance(node.slice, ast.Index)
                        else node.slice.value)
        dtype = "int64" if node.value.id == "int" else "float64"
        return {"array": np.asarray(data, dtype=dtype).tolist(), "dtype": dtype}
    if isinstance(node, ast.List) and all(_is_number_tree(e) for e in node.elts):
        array = np.asarray(_literal(node))
        return {"array": array.tolist(), "dtype": array.dtype.name}
    if isinstance(node, (ast.Tuple, ast.List)):
        return {type(node).__name__.lower(): [parse_value(e) for e in node.elts]}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise BadExample("** is not allowed in an example")
        return {"dict": [[_literal(k), parse_value(v)] for k, v in zip(node.keys, node.values)]}
    value = _literal(node)
    if isinstance(value, (tuple, list, dict, set)):
        raise BadExample(f"{ast.unparse(node)} is not an example value")
    return {"value": value}


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise BadExample(f"{ast.unparse(node)} is not a literal") from None


def _is_int(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_number_tree(node: ast.expr) -> bool:
    if isinstance(node, ast.List):
        return all(_is_number_tree(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, bool)


def of_value(value: Any) -> Optional[Spec]:
    """The spec of a value computed at conversion time (None: not one an example holds)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"array": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"value": value.item()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, (tuple, list)):
        items = [of_value(v) for v in value]
        return None if None in items else {type(value).__name__: items}
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        items = [[k, of_value(v)] for k, v in value.items()]
        return None if any(v is None for _, v in items) else {"dict": items}
    return None


def is_tree(spec: Spec) -> bool:
    return any(kind in spec for kind in ("tuple", "list", "dict"))


# -- the values themselves (in the --check subprocess) ---------------------------------------
def make(spec: Spec, rng: np.random.Generator) -> Any:
    """The argument a spec stands for."""
    if "shape" in spec:
        if not spec["shape"]:
            return float(rng.uniform(0.5, 1.5))
        return rng.uniform(0.5, 1.5, size=tuple(spec["shape"]))
    if "array" in spec:
        return np.array(spec["array"], dtype=spec["dtype"])
    if "value" in spec:
        return spec["value"]
    if "dict" in spec:
        return {k: make(v, rng) for k, v in spec["dict"]}
    kind = "tuple" if "tuple" in spec else "list"
    return (tuple if kind == "tuple" else list)(make(v, rng) for v in spec[kind])


# -- evidence in the module --------------------------------------------------------------------
def infer(module, name: str) -> Tuple[Dict[str, Spec], str]:
    """An example for the top-level function ``name`` of ``module`` (a ``StaticModule``),
    and where it came from (``"the call at line 30"``); ``({}, "")`` without evidence."""
    node = module.defs[name]
    found = _from_calls(module, node)
    if found:
        return found
    specs = _from_annotations(module, node)
    if specs:
        return specs, f"the comments and annotations at line {node.lineno}"
    return {}, ""


def _from_calls(module, fn: ast.FunctionDef) -> Optional[Tuple[Dict[str, Spec], str]]:
    """The first call ``fn(...)`` at the top level or in the main block whose arguments are
    known, evaluating the assignments above it as it goes."""
    names = dict(module.namespace)
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    keywords = {a.arg for a in fn.args.kwonlyargs} | set(params)
    for stmt in _main_statements(module.tree):
        for call in _calls_of(stmt, fn.name):
            specs = _call_specs(call, names, params, keywords)
            if specs is not None:
                return specs, f"the call at line {call.lineno}"
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            _bind(stmt.targets[0], stmt.value, names)
    return None


def _main_statements(tree: ast.Module) -> List[ast.stmt]:
    """Top-level statements, with the bodies of ``if __name__ == "__main__":`` and of
    ``def main():`` spliced in where they are."""
    out = []
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and ast.unparse(stmt.test).replace("'", '"') \
                == '__name__ == "__main__"':
            out += stmt.body
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "main" and not stmt.args.args:
            out += stmt.body
        elif not isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            out.append(stmt)
    return out


def _calls_of(stmt: ast.stmt, name: str) -> List[ast.Call]:
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == name]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _bind(target: ast.expr, value: ast.expr, names: Dict[str, Any]) -> None:
    if not isinstance(target, ast.Name):
        return
    try:
        names[target.id] = evaluate(value, names)
    except NotConstant:
        spec = _spec_of(value, names)
        if spec is not None:
            names[target.id] = _Known(spec)
        else:
            names.pop(target.id, None)


class _Known:
    """A value known only as a spec: drawn at random in the module (only its shape is
    known), or a container holding such values."""

    def __init__(self, spec: Spec):
        self.spec = spec


def _spec_of(node: ast.expr, names: Dict[str, Any]) -> Optional[Spec]:
    """The spec of an argument or assigned value, as far as the module shows it."""
    try:
        value = evaluate(node, names)
    except NotConstant:
        pass
    else:
        return value.spec if isinstance(value, _Known) else of_value(value)
    shape = _random_shape(node)
    if shape is not None:
        return {"shape": list(shape)}
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_spec_of(e, names) for e in node.elts]
        return None if None in items else {type(node).__name__.lower(): items}
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        items = [[k.value, _spec_of(v, names)] for k, v in zip(node.keys, node.values)]
        return None if any(v is None for _, v in items) else {"dict": items}
    return None


def _random_shape(node: ast.expr) -> Optional[Tuple[int, ...]]:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    try:
        if node.func.attr in _SHAPED_BY_ARGS and not node.keywords:
            return tuple(int(ast.literal_eval(a)) for a in node.args)
        if node.func.attr in _SHAPED_BY_SIZE:
            size = [k.value for k in node.keywords if k.arg == "size"]
            if node.func.attr in ("standard_normal", "random", "random_sample") \
                    and node.args and not size:
                size = [node.args[0]]
            if len(size) == 1:
                shape = ast.literal_eval(size[0])
                return tuple(shape) if isinstance(shape, tuple) else (int(shape),)
    except (ValueError, TypeError, SyntaxError):
        return None
    return None


def _call_specs(call: ast.Call, names, params, keywords) -> Optional[Dict[str, Spec]]:
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(params) \
            or any(k.arg not in keywords for k in call.keywords):
        return None
    given = list(zip(params, call.args)) + [(k.arg, k.value) for k in call.keywords]
    specs = {}
    for param, node in given:
        spec = _spec_of(node, names)
        if spec is None:
            return None
        specs[param] = spec
    return specs


def _from_annotations(module, fn: ast.FunctionDef) -> Dict[str, Spec]:
    """``x: np.ndarray,  # (5, 3)`` (a parameter alone on its line) gives a (5, 3) array;
    ``t: float`` a float."""
    comments = _comments(module.text, fn.lineno, fn.body[0].lineno)
    by_line: Dict[int, List[ast.arg]] = {}
    arguments = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
    for a in arguments:
        by_line.setdefault(a.lineno, []).append(a)
    specs = {}
    for a in arguments:
        match = _SHAPE_COMMENT.search(comments.get(a.lineno, ""))
        if match and len(by_line[a.lineno]) == 1:
            specs[a.arg] = {"shape": [int(d) for d in match.group(1).split(",") if d.strip()]}
        elif isinstance(a.annotation, ast.Name) and a.annotation.id == "float":
            specs[a.arg] = {"shape": []}
    return specs


def _comments(text: str, first: int, last: int) -> Dict[int, str]:
    lines = text.splitlines(True)[first - 1:last]
    found = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0] + first - 1] = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found
