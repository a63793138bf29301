"""The rule registry: reverse- and forward-mode templates looked up by the identity of a function.

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

A derivative is said once: an elementwise function is *declared* with its partial derivatives
(``derivative``), and both its reverse rule and its tangent rule are generated from that one
declaration, as rule functions whose source shows the generated body.
"""
from __future__ import annotations

import ast
import copy
import inspect
import linecache
import sys
import textwrap
import types
from typing import Any, Callable, Dict, List, Tuple

from s2s.runtime.numpy_helpers import unbroadcast

REVERSE: Dict[Any, Callable] = {}
TANGENT: Dict[Any, Callable] = {}
NONDIFFERENTIABLE: set = set()
NUMPY_ONLY: set = set()         # primitives whose reverse rules refuse other array libraries
NOT_HOLOMORPHIC: set = set()    # functions of z and conj(z): no complex derivative


#: Classes whose instances' methods have rules of their own, keyed by the instance and the
#: function: scipy.stats' distributions share their methods (norm.logpdf and t.logpdf are one
#: function bound to two objects). Filled by the rule modules that need it (``per_instance``).
_PER_INSTANCE: tuple = ()


def per_instance(*classes: type) -> None:
    """Key the rules of the methods of ``classes``' instances by instance and function."""
    global _PER_INSTANCE
    _PER_INSTANCE += tuple(c for c in classes if c not in _PER_INSTANCE)


def _key(fn: Any) -> Any:
    """Rules are keyed by identity; unwrap bound methods of builtins to their function (but
    a method of a ``per_instance`` class's object to (object, function))."""
    func = getattr(fn, "__func__", None)
    if func is None:
        return fn
    if _PER_INSTANCE and isinstance(getattr(fn, "__self__", None), _PER_INSTANCE):
        return fn.__self__, func
    return func


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


def not_holomorphic(*primitives: Any) -> None:
    """Declare functions that are not holomorphic (``abs``, ``conj``, ``real``...): a gradient
    with ``holomorphic=True`` refuses them where they read a differentiated value."""
    for primitive in primitives:
        NOT_HOLOMORPHIC.add(_key(primitive))


def is_holomorphic(fn: Any) -> bool:
    """False for the functions declared by ``not_holomorphic``."""
    return _key(fn) not in NOT_HOLOMORPHIC


def not_holomorphic_hint(label: str) -> str:
    """Why a holomorphic derivative refuses ``label``, and what to do instead."""
    return (f"{label} is not holomorphic (it is not a function of z alone but of z and "
            f"conj(z)), so it has no complex derivative; drop holomorphic=True to "
            f"differentiate a real loss (abs(f(z)) ** 2, np.real(f(z))) instead")


def run_time_call_in_holomorphic(label: str) -> Tuple[str, str]:
    """The located error (what, hint) of a call that a holomorphic derivative cannot check:
    a function known only at run time (passed in, a local function, a bound method), whose
    body may hold abs, conj, real or imag."""
    return (f"a call of '{label}' in a holomorphic derivative (a local function, one passed "
            f"in or a bound method: s2s calls it through its run-time dispatch)",
            f"s2s checks that a holomorphic function calls no abs, conj, real or imag by "
            f"reading the functions it calls: call a module-level function by its name, or "
            f"drop holomorphic=True")


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


def derivative(*primitives: Any) -> Callable[[Callable], Callable]:
    """Declare elementwise ``primitives`` by their partial derivatives; both rules follow.

        @derivative(np.tanh, math.tanh)
        def tanh(x):
            return 1.0 - result * result

    The declaration's parameters mirror the primitives'. Its body may name locals, and returns
    the partial derivative in each parameter (a tuple for several; None where a parameter has
    none), reading ``result`` like a rule body. Generated from it:

        reverse:   dx = dresult * (1.0 - result * result)
        tangent:   dresult = dx * (1.0 - result * result)

    With several parameters the tangent is the sum of one term per parameter, and the
    cotangents of a NumPy function are unbroadcast to their operand's shape. A partial
    ``1.0 / e`` divides (``dresult / e``) and a leading minus moves to the front
    (``-dresult * np.sin(x)``).
    """
    if not primitives:
        raise TypeError("derivative() needs at least one primitive function")

    def declare(partials: Callable) -> Callable:
        fn = ast.parse(textwrap.dedent(inspect.getsource(partials))).body[0]
        *steps, last = fn.body
        if not isinstance(last, ast.Return) or last.value is None:
            raise TypeError(f"{partials.__name__}: a derivative ends with `return <partials>`")
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        exprs = (last.value.elts if isinstance(last.value, ast.Tuple) and len(params) > 1
                 else [last.value])
        if len(exprs) != len(params):
            raise TypeError(f"{partials.__name__}: one partial derivative per parameter "
                            f"({len(params)}), got {len(exprs)}")
        scalar = all(getattr(p, "__module__", None) in ("math", "builtins") for p in primitives)
        variables = set(params) | {"result"} | {
            n.id for s in steps for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        pairs = [(p, e) for p, e in zip(params, exprs)
                 if not (isinstance(e, ast.Constant) and e.value is None)]
        adjoints = [ast.Assign(targets=[ast.Name("d" + p, ast.Store())],
                               value=_cotangent_of(p, e, variables, len(params) > 1 and not scalar))
                    for p, e in pairs]
        terms = [_tangent_term(ast.Name("d" + p, ast.Load()), e) for p, e in pairs]
        total = _signed_first(terms[0])
        for negative, term in terms[1:]:
            total = ast.BinOp(total, ast.Sub() if negative else ast.Add(), term)
        tangent_body = steps + [ast.Assign(targets=[ast.Name("dresult", ast.Store())],
                                           value=total)]
        namespace = dict(partials.__globals__, unbroadcast=unbroadcast)
        for table, body, mode in ((REVERSE, steps + adjoints, "adjoint"),
                                  (TANGENT, tangent_body, "tangent")):
            rule = _generated_rule(fn, body, namespace, mode)
            for primitive in primitives:
                table[_key(primitive)] = rule
        return partials

    return declare


def linear(*primitives: Any, through: Any = None) -> None:
    """Declare functions linear in their first argument: the tangent of ``f(x, ...)`` is
    ``f(dx, ...)``, with the other arguments as the call gives them.

        linear(np.sum, np.transpose)             s = np.sum(x, axis=1)  ->  ds = np.sum(dx, axis=1)
        linear(np.ndarray.sum, through=np.sum)   s = x.sum()            ->  ds = np.sum(dx)

    This writes the tangent rule only: the adjoint of a linear function is its transpose, a
    reverse rule of its own. That rule, registered first, gives the parameters (else the
    primitive's signature does). ``through`` applies another function to the tangent: an array
    method goes through the NumPy function, since a tangent may be a NumPy scalar. The function
    is spelled as the declaring module names it (``np.sum``, ``unbroadcast``).
    """
    namespace = dict(sys._getframe(1).f_globals)
    load_builtin_rules()        # the reverse rules, whose parameters the tangent rules take
    for primitive in primitives:
        applied = primitive if through is None else through
        rule = REVERSE.get(_key(primitive))
        signature = inspect.signature(rule if rule is not None else primitive)
        first, *rest = signature.parameters.values()
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("result", "dresult")
               for p in signature.parameters.values()):
            raise TypeError(f"linear(): cannot write the tangent rule of {primitive!r}")
        arguments = ["d" + first.name] + [
            p.name if p.default is p.empty and p.kind is not p.KEYWORD_ONLY
            else f"{p.name}={p.name}" for p in rest]
        name = getattr(primitive, "__name__", "linear")
        text = (f"def {name}{signature}:\n"
                f"    dresult = {_spelling(applied, namespace)}({', '.join(arguments)})\n")
        tangent_rule = _compiled_rule(name, text, namespace, "tangent")
        # a parameter the call leaves out is left out of the tangent's call too
        tangent_rule.given_arguments_only = True
        TANGENT[_key(primitive)] = tangent_rule


def _spelling(fn: Any, namespace: dict) -> str:
    """How ``namespace`` names ``fn``: ``unbroadcast``, ``np.sum``, ``np.linalg.norm``,
    ``np.fft.rfft``."""
    for key, value in namespace.items():
        if value is fn and not key.startswith("_"):
            return key
    for key, value in namespace.items():
        if isinstance(value, types.ModuleType):
            for path in (fn.__name__, "linalg." + fn.__name__, "fft." + fn.__name__):
                found = value
                for part in path.split("."):
                    found = getattr(found, part, None)
                if found is fn:
                    return f"{key}.{path}"
    raise TypeError(f"linear(): the declaring module has no name for {fn!r}")


def _is_number(node: ast.AST, value: float) -> bool:
    return isinstance(node, ast.Constant) and node.value == value and type(node.value) is float


def _reads(node: ast.AST, names: set) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _cotangent_of(param: str, partial: ast.AST, variables: set, broadcasts: bool) -> ast.AST:
    """``dresult`` times ``partial``, written as a person would: ``dresult * 0.5 / result``."""
    def times(d, p):
        if _is_number(p, 1.0):
            return d
        if isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.USub):
            return times(ast.UnaryOp(ast.USub(), d), p.operand)
        if isinstance(p, ast.BinOp) and isinstance(p.op, (ast.Mult, ast.Div)) \
                and _reads(p, variables):
            return ast.BinOp(times(d, p.left), p.op, p.right)
        return ast.BinOp(d, ast.Mult(), p)

    product = times(ast.Name("dresult", ast.Load()), partial)
    if not broadcasts:
        return product
    return ast.Call(ast.Name("unbroadcast", ast.Load()), [product, ast.Name(param, ast.Load())], [])


def _split_sign(p: ast.AST):
    """(True, e) when ``p`` is ``-e`` or a product or quotient led by a minus."""
    if isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.USub):
        return True, p.operand
    if isinstance(p, ast.BinOp) and isinstance(p.op, (ast.Mult, ast.Div)):
        negative, left = _split_sign(p.left)
        if negative:
            return True, ast.BinOp(left, p.op, p.right)
    return False, p


def _tangent_term(tangent: ast.AST, partial: ast.AST):
    """(negative, term): the tangent times the partial, its sign apart: ``dx * np.cos(x)``."""
    negative, p = _split_sign(partial)
    if _is_number(p, 1.0):
        return negative, tangent
    if isinstance(p, ast.BinOp) and isinstance(p.op, ast.Div) and _is_number(p.left, 1.0):
        return negative, ast.BinOp(tangent, ast.Div(), p.right)
    return negative, ast.BinOp(tangent, ast.Mult(), p)


def _signed_first(term) -> ast.AST:
    negative, e = term
    if not negative:
        return e
    if isinstance(e, ast.BinOp):        # -dx * e, not -(dx * e)
        return ast.BinOp(ast.UnaryOp(ast.USub(), e.left), e.op, e.right)
    return ast.UnaryOp(ast.USub(), e)


def _generated_rule(declaration: ast.FunctionDef, body: List[ast.stmt], namespace: dict,
                    mode: str) -> Callable:
    """A rule function with ``body``, whose source ``inspect.getsource`` shows."""
    fn = copy.copy(declaration)
    fn.body, fn.decorator_list = body, []
    text = ast.unparse(ast.fix_missing_locations(ast.Module([fn], []))) + "\n"
    return _compiled_rule(declaration.name, text, namespace, mode)


def _compiled_rule(name: str, text: str, namespace: dict, mode: str) -> Callable:
    """The rule function defined by ``text``, whose source ``rule_source`` shows."""
    filename = f"<rule: {mode} of {name} in {namespace.get('__name__')}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    code = compile(text, filename, "exec")
    scope: Dict[str, Any] = {}
    exec(code, namespace, scope)
    rule = scope[name]
    rule.generated_source = text
    return rule


def rule_source(rule: Callable) -> str:
    """The source of a rule: the text written for a generated one, else the file's."""
    source = getattr(rule, "generated_source", None)
    return source if source is not None else textwrap.dedent(inspect.getsource(rule))


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


def numpy_only(*primitives: Any) -> None:
    """Declare primitives whose reverse rules work on NumPy arrays only: a gradient of Dask
    or CuPy arrays that needs one is refused at the line that calls it (see
    templates/reverse/numpy_only.py)."""
    for primitive in primitives:
        NUMPY_ONLY.add(_key(primitive))


_LOADED = False
#: Rule modules of optional libraries, not loaded yet: (module name, path, the library module
#: they need). ``templates/*/scipy_linalg.py`` needs ``scipy.linalg``: it is loaded once the
#: user's code has imported that, so s2s itself never imports SciPy.
_WAITING: List[tuple] = []


def templates_dir():
    """The folder of rule modules: inside the installed package, or beside it in a checkout."""
    from pathlib import Path
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "reverse").is_dir():
            return candidate
    raise ImportError("s2s cannot find its rule templates (the 'templates' folder); "
                      "reinstall the package")


def _library_needed(stem: str):
    """The optional library module a rule module is for (``scipy_linalg`` -> ``scipy.linalg``),
    or None for NumPy's and Python's rules."""
    return "scipy." + stem[len("scipy_"):] if stem.startswith("scipy_") else None


def load_builtin_rules() -> None:
    """Import every rule module once, in a stable order (user rules registered later win);
    the rules of an optional library once the user's code has imported it."""
    global _LOADED
    if _LOADED:
        if _WAITING:
            _load_waiting()
        return
    _LOADED = True
    root = templates_dir()
    # the declarations of both modes first (templates/*.py), then the hand-written rules
    for package, folder in (("s2s.templates", root), ("s2s.templates.reverse", root / "reverse"),
                            ("s2s.templates.forward", root / "forward")):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            module_name = f"{package}.{path.stem}"
            library = _library_needed(path.stem)
            if library is not None:
                _WAITING.append((module_name, path, library))
            elif module_name not in sys.modules:
                _load_rule_module(module_name, path)
    _load_waiting()


def _load_waiting() -> None:
    """Load the waiting rule modules whose library is imported now."""
    for entry in list(_WAITING):
        module_name, path, library = entry
        if library in sys.modules:
            _WAITING.remove(entry)
            if module_name not in sys.modules:
                _load_rule_module(module_name, path)


def _load_rule_module(module_name: str, path) -> None:
    import importlib.util
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


def tangent_rule(fn: Any):
    """The forward-mode rule registered for ``fn``, or None."""
    load_builtin_rules()
    try:
        return TANGENT.get(_key(fn))
    except TypeError:       # unhashable callables have no rule
        return None


def _listed(table, fn: Any) -> bool:
    load_builtin_rules()
    try:
        return _key(fn) in table
    except TypeError:       # unhashable callables are on no list
        return False


def is_numpy_only(fn: Any) -> bool:
    return _listed(NUMPY_ONLY, fn)


def is_nondifferentiable(fn: Any) -> bool:
    return _listed(NONDIFFERENTIABLE, fn)
