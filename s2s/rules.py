"""The rule registry: reverse-mode templates looked up by the identity of a function.

A rule is a small Python function whose *body* is the adjoint code of one primitive.
It is never called. The transformer reads its source, binds the primitive call's
arguments to the rule's parameters, and pastes the body into the generated gradient.

Conventions inside a rule body:

- the rule's parameters mirror the primitive's signature (same names, same defaults);
- ``result`` is the primitive's output and ``dresult`` the cotangent flowing into it;
- assigning ``dx = ...`` for a parameter ``x`` *contributes* to ``x``'s cotangent
  (the transformer turns this into an assignment or an accumulation);
- any other name assigned in the body is a local and is renamed to a fresh name;
- free names (``np``, helpers) are resolved in the rule module's globals.

Example::

    @adjoint(np.sin)
    def sin(x):
        dx = dresult * np.cos(x)
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict

REVERSE: Dict[Any, Callable] = {}
TANGENT: Dict[Any, Callable] = {}
NONDIFFERENTIABLE: set = set()


def _key(fn: Any) -> Any:
    """Rules are keyed by identity; unwrap bound methods of builtins to their function."""
    return getattr(fn, "__func__", fn)


def adjoint(*primitives: Any) -> Callable[[Callable], Callable]:
    """Register the decorated function as the reverse-mode rule of ``primitives``.

    ``@s2s.adjoint(my_fn)`` works the same for user functions as for NumPy ones.
    """
    if not primitives:
        raise TypeError("adjoint() needs at least one primitive function")

    def register(rule: Callable) -> Callable:
        inspect.signature(rule)  # fail early on something that is not a function
        for primitive in primitives:
            REVERSE[_key(primitive)] = rule
        return rule

    return register


def tangent(*primitives: Any) -> Callable[[Callable], Callable]:
    """Register the decorated function as the forward-mode rule of ``primitives``.

    Inside a tangent rule, ``dx`` is the tangent of parameter ``x`` and the body
    assigns ``dresult``.
    """
    def register(rule: Callable) -> Callable:
        for primitive in primitives:
            TANGENT[_key(primitive)] = rule
        return rule

    return register


def static(condition: Any) -> bool:
    """In a rule body, ``if static(cond):`` is decided at transform time.

    The branch is taken when ``cond`` can be computed from constant arguments and is true;
    otherwise (an argument only known at run time) the ``else`` branch is used. Rules use it
    to specialize, e.g. ``if static(x2 == 2): dx1 = dresult * 2 * x1``.
    """
    # array arguments are never transform-time constants: only a plain truth value counts
    return condition is True or type(condition).__name__ == "bool_" and bool(condition)


def nondifferentiable(*primitives: Any) -> None:
    """Declare functions whose output carries no gradient (floor, argmax, zeros...)."""
    for primitive in primitives:
        NONDIFFERENTIABLE.add(_key(primitive))


_LOADED = False


def templates_dir():
    """The folder of rule modules: inside the installed package, or beside it in a checkout."""
    from pathlib import Path
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "reverse").is_dir():
            return candidate
    raise ImportError("s2s cannot find its rule templates (the 'templates' folder); "
                      "reinstall the package")


def load_builtin_rules() -> None:
    """Import every rule module once, in a stable order (user rules registered later win)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib.util
    import sys
    root = templates_dir()
    for kind in ("reverse", "forward"):
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            module_name = f"s2s.templates.{kind}.{path.stem}"
            if module_name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            saved = dict(REVERSE), dict(TANGENT)
            try:
                spec.loader.exec_module(module)
            except Exception:
                del sys.modules[module_name]
                raise
            # user rules registered before the built-ins were loaded keep precedence
            for table, before in zip((REVERSE, TANGENT), saved):
                for key, rule in before.items():
                    if getattr(rule, "__module__", "").startswith("s2s.templates"):
                        continue
                    table[key] = rule


def reverse_rule(fn: Any):
    load_builtin_rules()
    try:
        return REVERSE.get(_key(fn))
    except TypeError:       # unhashable callables have no rule
        return None


def is_nondifferentiable(fn: Any) -> bool:
    load_builtin_rules()
    try:
        return _key(fn) in NONDIFFERENTIABLE
    except TypeError:
        return False
