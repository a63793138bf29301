"""Constructs s2s does not differentiate, each rejected with a pointer and a hint.

Runs on the parsed function before any rewriting, so the error shows the user's own line.
"""
from __future__ import annotations

import builtins

import gast

from s2s.compiler import syntax
from s2s.compiler.frontend.nested import check_local_functions
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import local_names

_SYNCHRONOUS = "s2s differentiates plain synchronous functions"
_AT_MODULE_LEVEL = "import at module level"

UNSUPPORTED = {
    # no plain sequential code to differentiate
    gast.AsyncFor: ("an async for loop", _SYNCHRONOUS),
    gast.AsyncWith: ("an async with statement", _SYNCHRONOUS),
    gast.AsyncFunctionDef: ("an async function", _SYNCHRONOUS),
    gast.Await: ("await", _SYNCHRONOUS),
    gast.Yield: ("yield (a generator)", "return a list or an array instead of yielding"),
    gast.YieldFrom: ("yield from (a generator)", "return a list or an array instead"),
    gast.GeneratorExp: ("a generator expression", "use a list comprehension or NumPy"),
    # control that leaves the function's statements, or reaches outside its variables
    gast.Try: ("a try statement", "move the error handling out of the differentiated "
                                  "function, into its caller"),
    gast.With: ("a with statement", "move the with block out of the differentiated function, "
                                    "into its caller"),
    gast.Raise: ("a raise statement", "check the inputs before calling the gradient"),
    gast.Global: ("a global statement", "pass the value in as an argument and return the "
                                        "new value instead of assigning a global"),
    gast.Nonlocal: ("a nonlocal statement", "pass the value in as an argument and return the "
                                            "new value instead of assigning it"),
    # definitions that belong at module level
    gast.ClassDef: ("a class defined inside the function", "define the class at module level"),
    gast.Import: ("an import inside the function", _AT_MODULE_LEVEL),
    gast.ImportFrom: ("an import inside the function", _AT_MODULE_LEVEL),
    # forms that have a plainer spelling s2s reads
    gast.SetComp: ("a set comprehension", "sets have no order and cannot carry gradients; "
                                          "use a list"),
    gast.DictComp: ("a dict comprehension", "build the dict with a literal or a loop"),
    gast.NamedExpr: ("an assignment expression (:=)", "assign on a line of its own"),
    gast.Match: ("a match statement", "use if/elif/else"),
}


# builtins that reach the function's variables by name, out of sight of the differentiation:
# eval("x * 3.0") would give a zero gradient
_WRITE_IT_OUT = "write the code in the function itself, where s2s can read it"
READS_NAMES = {
    "eval": _WRITE_IT_OUT,
    "exec": _WRITE_IT_OUT,
    "locals": "use the variables by name",
    "vars": "use the variables (or the object's attributes) by name",
    "globals": "use the global variables by name",
}


def check_supported(source: Source, fn: gast.FunctionDef) -> None:
    """Raise an ``UnsupportedSyntaxError`` at the first construct s2s cannot handle."""
    if isinstance(fn, gast.AsyncFunctionDef):
        raise source.error(fn, "an async function", "s2s differentiates plain functions")
    check_reads_by_name(source, fn)
    check_local_functions(source, fn, reverse=True)
    for stmt in fn.body:
        for node in syntax.walk(stmt):
            info = UNSUPPORTED.get(type(node))
            if info:
                raise source.error(node, info[0], info[1])
            if isinstance(node, gast.Starred) and isinstance(node.ctx, gast.Store):
                raise source.error(node, "starred unpacking (a, *rest = ...)",
                                   "unpack a fixed number of items, or slice")


def check_reads_by_name(source: Source, fn: gast.FunctionDef) -> None:
    """Refuse ``eval``, ``exec``, ``locals()``, ``vars()`` and ``globals()``: they reach
    variables by name, where no differentiation sees them (both modes call this)."""
    local = local_names(fn)
    for node in syntax.walk(fn):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                and node.func.id in READS_NAMES and node.func.id not in local \
                and source.lookup(node.func.id) is getattr(builtins, node.func.id):
            raise source.error(node, f"{node.func.id}()", READS_NAMES[node.func.id])
