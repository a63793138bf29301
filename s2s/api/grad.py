"""The public transforms: ``grad`` and ``value_and_grad``.

This module only handles arguments: which positions are differentiated, pytrees, aux outputs,
seeds and the cache. All AST work happens in the pipeline modules.

    df = s2s.grad(f, grad_position=(0, 1))
    dx, dy = df(x, y)                     # runs the generated grad_f(x, y) -> (value, (dx, dy))
"""
from __future__ import annotations

import builtins
import inspect
import itertools
import keyword
import linecache
import re
import types
import warnings
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from s2s import rules, runtime
from s2s.api.notes import argument_error, explain, refusal
from s2s.compiler import cache, jit as numba_jit, linemap, pipeline
from s2s.compiler.analysis.shapes import FLOAT
from s2s.errors import (JitError, NotDifferentiableError, SourceUnavailableError,
                        jacobian_in_reverse)
from s2s.runtime import arrays

Position = Union[int, Tuple[int, ...], None]
Jit = Union[bool, str]



# -- argument classification ----------------------------------------------------------------
def _leaf_kind(value: Any) -> Optional[str]:
    """'float' for differentiable leaves (real or complex), 'int' for ints to promote, None
    otherwise."""
    kind = type(value)
    if kind is float or kind is np.float64 or kind is np.float32:
        return "float"
    if kind is np.ndarray:
        return "float" if value.dtype.kind in "fc" else ("int" if value.dtype.kind in "iub"
                                                           else None)
    if kind is int or kind is bool:
        return "int"
    if kind is complex or isinstance(value, (np.floating, np.complexfloating)):
        return "float"
    if isinstance(value, np.integer):
        return "int"
    if arrays.is_foreign_array(value):
        return "float" if value.dtype.kind in "fc" else ("int" if value.dtype.kind in "iub"
                                                          else None)
    return None


def rebuilt(like: Any, items) -> Any:
    """A tuple or list of ``items`` of the type of ``like`` (a named tuple too)."""
    kind = type(like)
    return kind._make(items) if hasattr(kind, "_make") else kind(items)


def _prepare(value: Any, pname: str, fname: str, fn: Any = None) -> Tuple[Any, bool]:
    """A differentiable version of ``value`` and whether it is a pytree; an error at the
    definition of ``fn`` (when given) for a value that cannot carry a gradient."""
    kind = _leaf_kind(value)
    if kind == "float":
        return value, False
    if kind == "int":
        return (value.astype(np.float64) if isinstance(value, np.ndarray)
                or arrays.is_foreign_array(value) else float(value)), False
    if isinstance(value, (tuple, list)):
        return rebuilt(value, [_prepare(v, pname, fname, fn)[0] for v in value]), True
    if isinstance(value, dict):
        return {k: _prepare(v, pname, fname, fn)[0] for k, v in value.items()}, True
    code = getattr(fn, "__code__", None)
    raise NotDifferentiableError(
        f"s2s cannot differentiate '{fname}' with respect to parameter '{pname}': "
        f"it is a {type(value).__name__}, not a float, a complex number, an array of "
        f"them or a pytree (tuple, list or dict) of them",
        filename=getattr(code, "co_filename", None), lineno=getattr(code, "co_firstlineno", None),
        function=fname, hint=f"move '{pname}' out of grad_position, or pass a float value")


def _match_dtype(grad: Any, primal: Any) -> Any:
    """The gradient in its input's structure, shape and dtype. A real input's gradient is the
    real part of its cotangent (what flows into a real value from complex code); a complex
    input's is complex even where only real values reached it."""
    if type(primal) is np.ndarray:
        if type(grad) is not np.ndarray or grad.dtype != primal.dtype \
                or grad.shape != primal.shape:
            if primal.dtype.kind != "c":
                grad = np.real(grad)
            grad = np.asarray(grad, dtype=primal.dtype)
            if grad.shape != primal.shape:
                grad = np.broadcast_to(grad, primal.shape).copy()
    elif arrays.is_foreign_array(primal):
        grad = arrays.like_primal(grad, primal)
    elif isinstance(primal, np.floating) and getattr(grad, "dtype", None) != primal.dtype:
        grad = primal.dtype.type(np.real(grad))
    elif isinstance(primal, np.complexfloating) and getattr(grad, "dtype", None) != primal.dtype:
        grad = primal.dtype.type(grad)
    elif type(primal) is float and (type(grad) is complex or _is_complex(grad)):
        grad = float(np.real(grad))
    elif type(primal) is complex and type(grad) is not complex:
        grad = complex(grad)
    elif isinstance(primal, (tuple, list)):
        return rebuilt(primal, [_match_dtype(g, p) for g, p in zip(grad, primal)])
    elif isinstance(primal, dict):
        return {k: _match_dtype(grad[k], p) for k, p in primal.items()}
    return grad


def check_complex_inputs(fn: Callable, args: tuple, positions: Tuple[int, ...],
                         names: Optional[list] = None) -> None:
    """holomorphic=True differentiates complex inputs only (as JAX does)."""
    fname = getattr(fn, "__name__", "function")
    for p in positions:
        if -len(args) <= p < len(args) and not all(
                _is_complex(leaf) or type(leaf) is complex for leaf in _tree_leaves(args[p])):
            pname = names[p] if names is not None else f"#{p % len(args)}"
            raise NotDifferentiableError(
                f"holomorphic=True differentiates '{fname}' with respect to complex inputs "
                f"only, but '{pname}' is not complex: a complex derivative is taken with "
                f"respect to a complex variable",
                hint=f"pass '{pname}' as a complex number or array (x + 0j, "
                     f"x.astype(complex)), or drop holomorphic=True for a real loss")


def _tree_leaves(tree: Any) -> list:
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _tree_leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _tree_leaves(item)]
    return [tree]


def _is_complex(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and dtype.kind == "c"


def _normalize_positions(grad_position: Position, fname: str) -> Tuple[Tuple[int, ...], bool]:
    if grad_position is None:
        raise ValueError(
            f"grad_position=None for '{fname}' differentiates only with respect to "
            f"weights=, which this version of s2s.grad does not take yet; pass "
            f"grad_position=0 (an int or a tuple of ints)")
    if isinstance(grad_position, bool) or not isinstance(grad_position, (int, tuple, list)):
        raise TypeError(f"grad_position must be an int or a tuple of ints, "
                        f"not {grad_position!r}")
    if isinstance(grad_position, int):
        return (grad_position,), True
    positions = tuple(grad_position)
    if not positions or not all(isinstance(p, int) and not isinstance(p, bool)
                                for p in positions):
        raise TypeError(f"grad_position must be an int or a non-empty tuple of ints, "
                        f"not {grad_position!r}")
    return positions, False


# -- the gradient function ------------------------------------------------------------------
_wrapper_numbers = itertools.count()


def as_function(fn: Callable, trees: Tuple[str, ...] = ()) -> Callable:
    """A plain Python function with readable source that computes what ``fn`` returns.

    For gradients of gradients: ``grad(grad(f))`` differentiates the generated code of
    ``grad(f)``, made to return the gradient alone (no wrapper call in between, so a third
    derivative differentiates straight-line code again); ``value_and_grad(f)`` stands for
    the generated code as it is, which returns ``(out, dx)`` as value_and_grad does:

        def grad_f(x):               def d_f(x):
            ...                  ->      ...
            return (out, dx)             return dx
    """
    if not isinstance(fn, GradFunction):
        return fn
    if fn.has_aux or fn.weights is not None or fn.sens_param:
        option = ("has_aux=True" if fn.has_aux else "weights=" if fn.weights is not None
                  else "sens_param=True")
        raise NotImplementedError(
            f"s2s cannot differentiate a gradient made with {option} inside another "
            f"transform: call s2s.grad or s2s.value_and_grad without it there (return the "
            f"auxiliary values, or pass the weights, as arguments instead)")
    wrapped = fn._wrappers.get(trees)
    if wrapped is not None:
        return wrapped
    import ast
    import linecache
    inner = fn._compiled(trees)
    tree = ast.parse(inner.__s2s_source__)
    node = tree.body[0]
    node.name = ("value_and_d_" if fn.return_value else "d_") + getattr(
        fn.fn, "__name__", "f").strip("_<>")
    if not fn.return_value:
        node.body[-1].value = node.body[-1].value.elts[1]
    text = ast.unparse(tree) + "\n"
    freevars = inner.__code__.co_freevars
    # a number of its own: an id is reused once its object is gone, and a file named twice
    # would send the line map of one to the other's lines
    filename = f"<s2s {node.name} #{next(_wrapper_numbers)}>"
    if freevars:
        header = f"def __s2s_factory__({', '.join(freevars)}):\n"
        body = "".join("    " + line for line in text.splitlines(True))
        module = header + body + f"    return {node.name}\n"
        shown = "\n" + text
    else:
        module, shown = text, text
    namespace: Dict[str, Any] = {}
    code = compile(module, filename, "exec")
    linecache.cache[filename] = (len(shown), None, shown.splitlines(True), filename)
    if freevars:
        factory = types.FunctionType(code.co_consts[0], inner.__globals__)
        maker = factory(*[c.cell_contents for c in inner.__closure__])
        cells = dict(zip(freevars, inner.__closure__))
        wrapped = types.FunctionType(maker.__code__, inner.__globals__, node.name,
                                     inner.__defaults__,
                                     tuple(cells[n] for n in maker.__code__.co_freevars))
    else:
        exec(code, inner.__globals__, namespace)
        wrapped = namespace[node.name]
    linemap.rewritten(wrapped.__code__, text, inner.__code__, inner.__s2s_source__)
    wrapped.__s2s_gradient_code__ = True
    fn._wrappers[trees] = wrapped
    return wrapped


class GradFunction:
    """The callable returned by ``grad``/``value_and_grad``.

    ``inspect.getsource()`` on it shows the generated gradient (through ``__wrapped__``).
    """

    def __init__(self, fn: Callable, grad_position: Position, has_aux: bool,
                 sens_param: bool, return_value: bool, weights: Any = None,
                 jit: Jit = False, holomorphic: bool = False):
        fn = as_function(fn)
        self.jit = check_jit(jit)
        self._kept_numpy: set = set()       # ids of generated code jit='auto' left in NumPy
        # jit='auto': the argument types Numba failed to compile the gradient for, which
        # run the NumPy gradient (of _numpy_twin)
        self._numpy_types: set = set()
        self._twin: Optional["GradFunction"] = None
        # a bound method: grad_position counts the caller's arguments, not self
        self._bound = _NO_SELF
        if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
            self._bound, fn = fn.__self__, fn.__func__
            grad_position = _after_self(grad_position)
        elif not isinstance(fn, types.FunctionType) and isinstance(
                getattr(type(fn), "__call__", None), types.FunctionType) \
                and rules.reverse_rule(fn) is None:
            # a callable object: its __call__, bound to it
            self._bound, fn = fn, type(fn).__call__
            grad_position = _after_self(grad_position)
        self.fn = fn
        self._options = (grad_position, has_aux, sens_param, return_value, weights, holomorphic)
        self.holomorphic = holomorphic
        self._by_arity: Optional[Dict[int, "GradFunction"]] = {} if _takes_star_args(fn) \
            else None
        fname = getattr(fn, "__name__", repr(fn))
        self.weights, self.single_weight = _normalize_weights(weights)
        if grad_position is None and self.weights is not None:
            self.positions, self.single = (), False
        else:
            self.positions, self.single = _normalize_positions(grad_position, fname)
        self.has_aux = has_aux
        self.sens_param = sens_param
        self.return_value = return_value
        # generated code and what it relied on (see cache.watch), by (trees, shapes), and the
        # same for leaf inputs by their shapes alone
        self._variants: Dict[tuple, tuple] = {}
        self._passed: Dict[tuple, "GradFunction"] = {}     # by the positions given weights
        self._by_shapes: Dict[tuple, tuple] = {}
        self._call_key = ("call", self.positions, self.single, has_aux, sens_param,
                          return_value, self.weights is not None, self.jit, holomorphic)
        # grad() alone needs no value: its generated code does not compute what only the
        # value needs
        self._grads_only = not (return_value or has_aux or weights is not None)
        self._lowest, self._highest = min(self.positions, default=0), \
            max(self.positions, default=0)
        # differentiated positions 0, 1, ..., k: their arguments are args[:k + 1]
        self._in_order = self.positions == tuple(range(len(self.positions)))
        self._params = None
        # the plain code a call inside differentiated code stands for, by its pytree params
        self._wrappers: Dict[Tuple[str, ...], Callable] = {}
        self.__name__ = getattr(fn, "__name__", "function")
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__module__ = getattr(fn, "__module__", None)
        self.__doc__ = getattr(fn, "__doc__", None)

    def _for_arity(self, count: int) -> "GradFunction":
        """For a function that takes ``*args``: the gradient of a plain function of
        ``count`` parameters that calls it (so positions may land in ``*args``)."""
        found = self._by_arity.get(count)
        if found is None:
            grad_position, has_aux, sens_param, return_value, weights, holomorphic = \
                self._options
            if self._bound is not _NO_SELF:
                grad_position = _before_self(grad_position)
            found = self._by_arity[count] = GradFunction(
                fixed_arity(self.fn, count), grad_position, has_aux, sens_param,
                return_value, weights, self.jit, holomorphic)
        return found

    def __s2s_function__(self, args: Optional[Sequence[Any]] = None) -> Callable:
        """The plain function a call of this object inside differentiated code stands for
        (its generated code, for the containers among ``args``), for the pipeline's run-time
        dispatch."""
        names = self._param_names() if args is not None else ()
        trees = tuple(names[p] for p in self.positions
                      if args is not None and -len(args) <= p < len(args)
                      and isinstance(args[p], (tuple, list, dict)))
        return as_function(self, trees)

    def _param_names(self):
        if self._params is None:
            fn = self.fn
            if getattr(fn, "__code__", None) is not None:
                names = parameter_names_of(fn)
            else:
                rule = rules.reverse_rule(fn)
                if rule is None:
                    raise SourceUnavailableError(
                        f"s2s cannot differentiate {getattr(fn, '__name__', fn)!r}: it has no "
                        f"Python source and no registered rule",
                        construct="function without source",
                        hint="register a rule with @s2s.adjoint(fn) (see the README)")
                names = [p.name for p in inspect.signature(rule).parameters.values()]
            for p in self.positions:
                if not -len(names) <= p < len(names):
                    raise ValueError(f"grad_position {p} is out of range for "
                                     f"'{getattr(fn, '__name__', fn)}', which takes "
                                     f"{len(names)} argument(s)")
            self._params = names
        return self._params

    def _wrt(self):
        names = self._param_names()
        return tuple(names[p] for p in self.positions)

    def _compiled(self, trees: Tuple[str, ...] = ()):
        """The unspecialized ``(value, gradients)`` code (from the pipeline's cache)."""
        return pipeline.grad_of(self.fn, self._wrt(), self.single, self.has_aux,
                                self.sens_param, trees, "grad", self.weights is not None,
                                holomorphic=self.holomorphic)

    def _runs(self, trees: Tuple[str, ...] = (), shapes=()):
        """The generated function a call runs: the gradient alone where nothing else is
        wanted, else ``(value, gradients)``. It is specialized on the shapes of the call's
        array arguments (and on which are Python floats): shapes then are known at transform
        time, and the code has no run-time shape checks. Like ``jax.jit``, a call with new
        shapes transforms again; past ``cache.MAX_SHAPE_SETS`` shape sets for the
        function one unspecialized gradient serves every further one."""
        key = (trees, shapes)
        found = self._variants.get(key)
        if found is not None and cache.unchanged(found[1]):
            return found[0]
        compiled = self._build(trees, shapes)
        _remember(self._variants, key, compiled, self.fn)
        return compiled

    def _build(self, trees: Tuple[str, ...], shapes: tuple) -> Callable:
        """The generated code for these pytree parameters and shapes, from the pipeline."""
        if self._grads_only:
            return pipeline.grad_of(self.fn, self._wrt(), self.single, False, self.sens_param,
                                    trees, "grad_only", False, shapes, self.holomorphic)
        return pipeline.grad_of(self.fn, self._wrt(), self.single, self.has_aux,
                                self.sens_param, trees, "grad", self.weights is not None, shapes,
                                self.holomorphic)

    @property
    def __wrapped__(self):
        # the code the latest new shapes were specialized for (what a call runs), else the
        # unspecialized gradient
        latest = self._latest()
        return latest if latest is not None else self._runs()

    def __call__(self, *args, **kwargs):
        try:
            if self._numpy_types and argument_types(args) in self._numpy_types:
                return self._numpy_twin()(*args, **kwargs)
            return self._call(*args, **kwargs)
        except Exception as exc:        # an error in generated code: say where it came from
            if self.jit:
                failed = numba_jit.run_error(exc) or numba_jit.compile_error(exc, args)
                if failed is not None:
                    if self.jit is True:
                        raise failed from None
                    return self._keep_numpy_for(args, failed)(*args, **kwargs)
            mismatch = argument_error(exc, GradFunction._call.__code__, self.__qualname__)
            if mismatch is None:
                mismatch = refusal(exc)
            if mismatch is not None:
                raise mismatch from None
            explain(exc)
            raise

    def _call(self, *args, **kwargs):
        if self._bound is not _NO_SELF:
            args = (self._bound,) + args
        if self._by_arity is not None:
            return self._for_arity(len(args))(*args, **kwargs)
        if self.sens_param and "sens" in kwargs:
            args = args + (kwargs.pop("sens"),)
        if self.holomorphic:
            check_complex_inputs(self.fn, args, self.positions, self._param_names())
        if self.weights is not None:
            passed = tuple(i for i, a in enumerate(args) if i not in self.positions
                           and any(a is w for w in self.weights))
            if passed:
                return self._with_passed_weights(passed, args, kwargs)
        # the common case first: differentiated arguments that are floats or float arrays
        # need no preparation, and the argument shapes alone find the generated code
        shapes = _arg_shapes(args)
        # an argument that is no NumPy array or float may be an array of another library
        library = library_of_call(args, self._param_names(), self.__name__) \
            if None in shapes else None
        found = self._by_shapes.get(shapes)
        trees = ()
        if library is None and self._leaves(args):
            originals = args if self._in_order else [args[p] for p in self.positions]
            if found is not None and cache.unchanged(found[1]):
                compiled = found[0]
            else:
                generated = self._for_shapes(shapes)
                compiled = self._compiled_by_numba(generated, args) if self.jit \
                    else generated
                _remember(self._by_shapes, shapes, compiled, self.fn, generated)
        else:
            args, originals, trees = self._prepare_inputs(args)
            compiled = self._runs(trees, self._named(_arg_shapes(args, library)))
            if library is not None:
                pipeline.refuse_numpy_only(compiled, library)
                if self.jit:
                    raise NotDifferentiableError(
                        f"s2s cannot compile the gradient of '{self.__name__}' for {library} "
                        f"arrays with jit=True: Numba runs on NumPy arrays only",
                        hint="drop jit=True (the library runs the NumPy code itself), or "
                             "pass NumPy arrays")
            if self.jit:
                # Numba takes tuples, not lists (the gradient is rebuilt as the input's)
                as_tuples = [_lists_as_tuples(a) for a in args]
                numba_code = self._compiled_by_numba(compiled, as_tuples)
                if numba_code is not compiled:
                    args = as_tuples
                compiled = numba_code
        if self._grads_only:
            grads = compiled(*args, **kwargs)
            if self.single:
                primal = originals[0]
                if type(grads) is _ndarray and type(primal) is _ndarray \
                        and grads.dtype is primal.dtype and grads.shape == primal.shape:
                    return grads
                return _match_dtype(grads, primal)
            return tuple(_match_dtype(g, x) for g, x in zip(grads, originals))
        if self.weights is None:
            value, grads = compiled(*args, **kwargs)
        else:
            (value, grads), sink = self._with_weights(compiled, args, kwargs)
        if self.positions:
            if self.single:
                grads = _match_dtype(grads, originals[0])
            else:
                grads = tuple(_match_dtype(g, x) for g, x in zip(grads, originals))
        if self.weights is not None:
            grads = self._weight_grads(sink) if not self.positions else (
                grads, self._weight_grads(sink))
        if self.return_value:
            return value, grads
        if self.has_aux:
            return grads, tuple(value[1:])
        return grads

    def _keep_numpy_for(self, args: tuple, failed: JitError) -> "GradFunction":
        """jit='auto' after Numba failed to compile the gradient for the types of ``args``
        (a call with new dtypes): calls with these types run the NumPy gradient, and the
        first time this is said as a warning."""
        if not self._numpy_types and not self._kept_numpy:
            warnings.warn(f"s2s: jit='auto' keeps the NumPy gradient of {self.__qualname__} "
                          f"for these argument types: {failed}", stacklevel=3)
        self._numpy_types.add(argument_types(args))
        return self._numpy_twin()

    def _numpy_twin(self) -> "GradFunction":
        """This gradient with jit=False."""
        if self._twin is None:
            grad_position, has_aux, sens_param, return_value, weights, holomorphic = \
                self._options
            fn = self.fn
            if self._bound is not _NO_SELF:
                fn = types.MethodType(fn, self._bound)
                grad_position = _before_self(grad_position)
            self._twin = GradFunction(fn, grad_position, has_aux, sens_param, return_value,
                                      weights, False, holomorphic)
        return self._twin

    def _compiled_by_numba(self, generated: Callable, args: tuple) -> Callable:
        return compiled_by_numba(generated, args, self.jit, self.__qualname__,
                                 self._kept_numpy)

    def code_for(self, *args, **kwargs) -> Callable:
        """The generated function that a call with these arguments runs, built if it is not
        yet (it is not run): the choice ``__call__`` makes, without the call."""
        if self._bound is not _NO_SELF:
            args = (self._bound,) + args
        if self._by_arity is not None:
            return self._for_arity(len(args)).code_for(*args, **kwargs)
        if self.sens_param and "sens" in kwargs:
            args = args + (kwargs.pop("sens"),)
        if self._leaves(args):
            return self._for_shapes(_arg_shapes(args))
        args, _, trees = self._prepare_inputs(args)
        return self._runs(trees, self._named(_arg_shapes(args)))

    def _latest(self) -> Optional[Callable]:
        """The generated code of the latest call with new shapes, or None before the first."""
        for table in (self._by_shapes, self._variants):
            if table:
                return next(reversed(table.values()))[0]
        return None

    def __repr__(self) -> str:
        kind = "value_and_grad" if self.return_value else "grad"
        code = self._latest()
        if code is None:
            return (f"<s2s.{kind} of {self.__qualname__}: not built yet; it is built for the "
                    f"shapes of its first call. s2s.show({self.__name__}, *args) prints the "
                    f"code a call with those arguments runs>")
        return (f"<s2s.{kind} of {self.__qualname__}; the code its latest call ran:>\n"
                + inspect.getsource(code))

    def _repr_markdown_(self) -> str:
        """Jupyter shows the generated code, highlighted."""
        code = self._latest()
        kind = "value_and_grad" if self.return_value else "grad"
        if code is None:
            return (f"`s2s.{kind}` of `{self.__qualname__}`: not built yet. "
                    f"`s2s.show({self.__name__}, *args)` prints the code a call with those "
                    f"arguments runs.")
        return (f"`s2s.{kind}` of `{self.__qualname__}`, the code its latest call ran:\n\n"
                f"```python\n{inspect.getsource(code)}```\n")

    def _for_shapes(self, shapes: tuple) -> Callable:
        """The generated code for leaf arguments of these shapes, from the pipeline's cache,
        which the ``grad(f)`` objects of ``f`` share (so ``s2s.grad(f)(x)`` in a loop is
        cheap): first under this object's options and the raw shapes, a key quick to make."""
        fn = self.fn
        quick = type(fn) is types.FunctionType
        if quick:
            key = self._call_key + (shapes,)
            found = cache.find(fn, key)
            if found is not None:
                return found
        compiled = self._build((), self._named(shapes))
        if quick:
            cache.alias(fn, key, compiled)
        return compiled

    def _leaves(self, args) -> bool:
        """Is every differentiated argument a float or a float or complex array (as given)?"""
        if self.positions and not (-len(args) <= self._lowest and self._highest < len(args)):
            return False        # missing: _prepare_inputs says which
        for p in self.positions:
            value = args[p]
            kind = type(value)
            if not (kind is float or kind is _ndarray and value.dtype.kind in "fc"):
                return False
        return True

    def _named(self, shapes: tuple) -> tuple:
        """``(('x', (3,)), ('scale', FLOAT))``: the shapes with their parameters' names,
        for the transform (arguments that tell nothing are left out)."""
        return tuple((n, s) for n, s in zip(self._param_names(), shapes) if s is not None)

    def _prepare_inputs(self, args):
        fname = getattr(self.fn, "__name__", "function")
        names = self._param_names()
        args = list(args)
        trees = []
        originals = []
        for p in self.positions:
            if p >= len(args) or p < -len(args):
                raise TypeError(f"'{fname}' was called without its differentiated "
                                f"argument '{names[p]}' (position {p}) as a positional argument")
            value = args[p]
            if _leaf_kind(value) != "float":
                value, is_tree = _prepare(value, names[p], fname, self.fn)
                args[p] = value
                if is_tree:
                    trees.append(names[p])
            originals.append(value)
        return args, originals, tuple(trees)

    def _with_passed_weights(self, passed, args, kwargs):
        """A call given some of the weights as arguments (at positions ``passed``): those
        positions are differentiated too, and their gradients join the weights'."""
        every = self._passed.get(passed)
        if every is None:
            every = self._passed[passed] = GradFunction(
                self.fn, self.positions + passed, self.has_aux, self.sens_param, True,
                self.weights, self.jit, self.holomorphic)
        # the arguments as plain arrays (a Parameter is an ndarray subclass)
        plain = [a.view(np.ndarray) if i in passed and isinstance(a, np.ndarray) else a
                 for i, a in enumerate(args)]
        value, (grads, weight_grads) = every._call(*plain, **kwargs)
        weight_grads = [weight_grads] if self.single_weight else list(weight_grads)
        for p, g in zip(passed, grads[len(self.positions):]):
            k = next(k for k, w in enumerate(self.weights) if args[p] is w)
            weight_grads[k] = weight_grads[k] + g
        weight_grads = weight_grads[0] if self.single_weight else tuple(weight_grads)
        own = grads[:len(self.positions)]
        result = weight_grads if not self.positions else (
            own[0] if self.single else tuple(own), weight_grads)
        if self.return_value:
            return value, result
        if self.has_aux:
            return result, tuple(value[1:])
        return result

    def _with_weights(self, compiled, args, kwargs):
        """Run ``compiled`` while this thread's sink collects the weights' cotangents."""
        sink = {id(w): [w, None] for w in self.weights}
        stack = runtime.weight_sinks.stack
        stack.append(sink)
        try:
            result = compiled(*args, **kwargs)
        finally:
            stack.pop()
        return result, sink

    def _weight_grads(self, sink):
        grads = []
        for w in self.weights:
            g = sink[id(w)][1]
            if g is None:
                g = np.zeros(np.shape(w), dtype=getattr(w, "dtype", np.float64))
            else:
                g = np.asarray(g, dtype=getattr(w, "dtype", None))
                if g.shape != np.shape(w):
                    g = np.broadcast_to(g, np.shape(w)).copy()
            grads.append(g)
        return grads[0] if self.single_weight else tuple(grads)


def _arg_shapes(args, library: Optional[str] = None) -> tuple:
    """What generated code is specialized on: the shape of each array argument, FLOAT for
    a Python float, None for anything else. Given the ``library`` of the call's arrays
    (``'dask Array'``), its arrays count too: the generated code is the same for them."""
    if library is not None:
        return tuple([value.shape if type(value) is _ndarray or arrays.is_foreign_array(value)
                      else FLOAT if type(value) is float or type(value) is _float64 else None
                      for value in args])
    return tuple([value.shape if type(value) is _ndarray
                  else FLOAT if type(value) is float or type(value) is _float64 else None
                  for value in args])


def library_of_call(args: Sequence[Any], names: Sequence[str], fname: str) -> Optional[str]:
    """The library of the arrays of a call of ``fname`` when they are not NumPy's (``'dask
    Array'``), else None; ``names`` names the arguments. Arrays of two libraries in one call
    are refused: one of them would have to be converted, which is the user's choice to make,
    not a silent transfer."""
    found = {}          # library name -> the first parameter holding one of its arrays

    def visit(value, pname):
        kind = type(value)
        if kind is _ndarray:
            found.setdefault("NumPy ndarray", pname)
        elif kind is list or kind is tuple:
            for v in value:
                visit(v, pname)
        elif kind is dict:
            for v in value.values():
                visit(v, pname)
        elif arrays.is_foreign_array(value):
            library = arrays.library_name(value)
            found.setdefault(library, pname)
            if arrays.has_unknown_shape(value):
                raise NotDifferentiableError(
                    f"s2s cannot run '{fname}' on '{pname}': it is a "
                    f"{library} of unknown shape {value.shape} (its chunk sizes are not "
                    f"computed), and the generated code is specialized on shapes",
                    hint=f"call {pname}.compute_chunk_sizes() first, or make it with "
                         f"known chunks")
        elif arrays.is_undispatched_array(value):
            raise NotDifferentiableError(
                f"s2s cannot run '{fname}' on '{pname}': it is a "
                f"{arrays.library_name(value)}, which does not implement NumPy's dispatch "
                f"protocols (__array_function__, __array_ufunc__), so the NumPy calls of the "
                f"generated code would convert it instead of running on it",
                hint="pass a NumPy array, or an array of a library that implements them "
                     "(Dask, CuPy)")

    for i, value in enumerate(args):
        visit(value, names[i] if i < len(names) else f"argument {i}")
    if len(found) > 1:
        (lib_a, name_a), (lib_b, name_b) = list(found.items())[:2]
        raise NotDifferentiableError(
            f"s2s cannot run '{fname}' on arrays of two libraries: "
            f"'{name_a}' is a {lib_a} and '{name_b}' a {lib_b}; s2s moves no data between "
            f"libraries behind your back",
            hint="convert one of them yourself (Dask: da.from_array(a); CuPy: "
                 "cupy.asarray(a)), so that the arrays of a call are of one library")
    library = next(iter(found), None)
    return None if library == "NumPy ndarray" else library


_ndarray, _float64 = np.ndarray, np.float64
_MEMO_LIMIT = 64        # shape sets a grad object remembers (beyond: the pipeline's cache)
def _remember(table: Dict[tuple, tuple], key: tuple, compiled: Callable, fn: Callable,
              generated: Optional[Callable] = None) -> None:
    """Keep ``compiled`` for ``key``, watched through the generated code it runs
    (``generated``, where ``compiled`` is its Numba version)."""
    if len(table) < _MEMO_LIMIT or key in table:
        table[key] = (compiled, cache.watch(fn, compiled if generated is None else generated))


_LOOP = re.compile(r"^\s*(for|while) ", re.MULTILINE)


def compiled_by_numba(generated: Callable, args: tuple, jit: Jit, name: str,
                      kept_numpy: set) -> Callable:
    """``generated`` compiled by Numba for these arguments. With ``jit='auto'``,
    ``generated`` itself where it has no loop (NumPy already runs its array operations) or
    where Numba cannot compile it, which the first time is said as a warning, and else the
    faster of the two as the first calls measure it (``jit.choice``); ``kept_numpy`` (the
    ids of code kept in NumPy) belongs to the caller."""
    if jit is True:
        return numba_jit.numba_version(generated, args)
    if id(generated) in kept_numpy:
        return generated
    if not _LOOP.search(generated.__s2s_source__):
        kept_numpy.add(id(generated))
        return generated
    try:
        return numba_jit.FasterOf(numba_jit.numba_version(generated, args), generated)
    except JitError as exc:
        if not kept_numpy:
            warnings.warn(f"s2s: jit='auto' keeps the NumPy gradient of {name}: {exc}",
                          stacklevel=5)
        kept_numpy.add(id(generated))
        return generated


def _lists_as_tuples(value: Any) -> Any:
    if type(value) is list or type(value) is tuple:
        return tuple(_lists_as_tuples(v) for v in value)
    return value


def argument_types(args: tuple) -> tuple:
    """What Numba compiles a function again for, near enough: each argument's type, and an
    array's dtype and number of dimensions."""
    return tuple((type(a), a.dtype, a.ndim) if isinstance(a, np.ndarray) else type(a)
                 for a in args)


class CompiledOnFirstCall:
    """A generated function run through its Numba version, compiled for the types of its
    first call (for the transforms that call generated code with keyword arguments)."""

    def __init__(self, generated: Callable, jit: Jit, name: str):
        self.generated, self.jit, self.name = generated, jit, name
        self.signature = inspect.signature(generated)
        self.runs: Optional[Callable] = None
        self.kept_numpy: set = set()
        self.numpy_types: set = set()       # as GradFunction._numpy_types
        self.__wrapped__ = generated

    def __call__(self, *args, **kwargs):
        if kwargs:
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        if self.numpy_types and argument_types(args) in self.numpy_types:
            return self.generated(*args)
        try:
            # Numba takes tuples, not lists (the transforms rebuild the input's containers)
            as_tuples = tuple(_lists_as_tuples(a) for a in args)
            if self.runs is None:
                self.runs = compiled_by_numba(self.generated, as_tuples, self.jit, self.name,
                                              self.kept_numpy)
                self.__wrapped__ = self.runs
            return self.runs(*(args if self.runs is self.generated else as_tuples))
        except Exception as exc:
            failed = numba_jit.run_error(exc) or numba_jit.compile_error(exc, args)
            if failed is None:
                raise
            if self.jit is True:
                raise failed from None
            if not self.numpy_types and not self.kept_numpy:
                warnings.warn(f"s2s: jit='auto' keeps the NumPy code of {self.name} for "
                              f"these argument types: {failed}", stacklevel=2)
            self.numpy_types.add(argument_types(args))
            return self.generated(*args)


def check_jit(jit: Any) -> Jit:
    """``jit`` if it is one of the values the transforms take (False, True, 'auto')."""
    if jit is False or jit is True or jit == "auto":
        return jit
    raise ValueError(f"jit must be False, True or 'auto', not {jit!r}")


_NO_SELF = object()


def _after_self(position: Position) -> Position:
    """Positions counted from a bound method's first argument, counted from ``self``."""
    if isinstance(position, int) and not isinstance(position, bool):
        return position + 1 if position >= 0 else position
    if isinstance(position, (tuple, list)):
        return tuple(_after_self(p) if isinstance(p, int) and not isinstance(p, bool)
                     else p for p in position)
    return position


def _before_self(position: Position) -> Position:
    if isinstance(position, int) and not isinstance(position, bool):
        return position - 1 if position > 0 else position
    if isinstance(position, tuple):
        return tuple(_before_self(p) for p in position)
    return position


def _takes_star_args(fn: Callable) -> bool:
    """Does ``fn`` collect positional arguments in ``*args`` (a Python function with
    ``*args``, or a primitive whose rule has them, such as ``max`` or ``np.einsum``)? A
    primitive declared without a gradient (``np.floor``) counts too: its parameters are
    unknown, and a caller of it has zero gradients."""
    code = getattr(fn, "__code__", None)
    if code is not None:
        return bool(code.co_flags & inspect.CO_VARARGS)
    rule = rules.reverse_rule(fn)
    if rule is None:
        return rules.is_nondifferentiable(fn)
    return any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(rule).parameters.values())


def fixed_arity(fn: Callable, count: int, keywords: bool = True) -> types.FunctionType:
    """``def max(a0, a1): return target(a0, a1)``: a Python function of ``count``
    parameters that calls ``fn`` and whose source s2s can read, for a callable whose own
    parameters do not say where each argument goes (``*args``, a primitive, a bound method,
    which becomes ``target(bound, a0, ...)``). Its code is shared by every callable of one
    name and arity, so the pipeline's cache serves each one's gradient. A Python ``fn``'s
    caller passes ``**kwargs`` on unless ``keywords`` is false (``s2s.jvp`` and ``s2s.vjp``
    pass none): a caller without them differentiates again, as its code calls ``fn``
    through ``call_vjp`` or ``call_jvp``, primitives whose keywords must be written out."""
    bound = _NO_SELF
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        bound, fn = fn.__self__, fn.__func__
    python = getattr(fn, "__code__", None) is not None
    fname = getattr(fn, "__name__", "function").strip("<>") or "function"
    if keyword.iskeyword(fname):        # a lambda: `def lambda(...)` would not parse
        fname += "_"
    elif not fname.isidentifier():
        fname = "function"
    key = (fname, count, python and keywords, bound is not _NO_SELF)
    code = _shim_code.get(key)
    if code is None:
        params = [f"a{i}" for i in range(count)] + (["**kwargs"] if python and keywords else [])
        passed = (["bound"] if bound is not _NO_SELF else []) + params
        text = f"def {fname}({', '.join(params)}):\n    return target({', '.join(passed)})\n"
        # not "<s2s ...": clear_cache() forgets those, and this code object is kept here
        filename = f"<s2s-caller of {fname} with {count} arguments>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        code = _shim_code[key] = compile(text, filename, "exec").co_consts[0]
    scope = {"target": fn, "__builtins__": builtins}
    if bound is not _NO_SELF:
        scope["bound"] = bound
    return types.FunctionType(code, scope, fname)


_shim_code: Dict[tuple, types.CodeType] = {}


def _normalize_weights(weights):
    """(tuple of weights, whether a single one was given), or (None, False)."""
    if weights is None:
        return None, False
    if isinstance(weights, np.ndarray):
        return (weights,), True
    weights = tuple(weights)
    for w in weights:
        if not isinstance(w, np.ndarray):
            raise TypeError(f"weights must be Parameters (or arrays), not {type(w).__name__}")
    return weights, False


def parameter_names_of(fn: Callable):
    code = fn.__code__
    count = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[:count])
    return names


def grad(fn: Optional[Callable] = None, grad_position: Position = 0, weights: Any = None,
         has_aux: bool = False, sens_param: bool = False, jit: Jit = False,
         holomorphic: bool = False) -> Callable:
    """The gradient of ``fn`` with respect to the arguments at ``grad_position``.

    An int position gives one gradient, a tuple gives a tuple. A non-scalar output is seeded
    with ones (the gradient of its sum). With ``has_aux=True``, ``fn`` returns
    ``(out, aux1, ...)`` and the result is ``(grads, (aux1, ...))``.
    Works as ``s2s.grad(f)``, ``@s2s.grad`` and ``@s2s.grad(grad_position=1)``.

    ``jit=True`` compiles the gradient with Numba (``pip install 's2s[jit]'``) on the first
    call for each shape, and raises ``JitError`` at the user's line where Numba cannot
    compile it. ``jit='auto'`` keeps NumPy for gradients without loops (NumPy runs their
    array operations already) and where Numba cannot compile them (saying so once, as a
    warning); for gradients with loops it compiles, then times the first calls, three of
    each version alternately, and runs the faster from then on (a loop of matrix products
    is faster in NumPy's BLAS; a loop of small operations in Numba). Every call returns the
    gradient, whichever version runs it.

    Complex inputs get ``dL/dRe(z) - 1j * dL/dIm(z)`` of the real part ``L`` of the output
    (autograd's convention). ``holomorphic=True`` takes complex inputs only and gives the
    complex derivative ``f'(z)`` of a holomorphic ``f``, refusing ``abs``, ``conj``, ``real``,
    ``imag``, ``angle`` where they read a differentiated value.
    """
    if fn is None:
        return lambda f: grad(f, grad_position, weights, has_aux, sens_param, jit, holomorphic)
    if getattr(fn, "__s2s_jacobian__", False) is True:
        raise jacobian_in_reverse(fn)
    return GradFunction(fn, grad_position, has_aux, sens_param, return_value=False,
                        weights=weights, jit=jit, holomorphic=holomorphic)


def value_and_grad(fn: Optional[Callable] = None, grad_position: Position = 0,
                   weights: Any = None, has_aux: bool = False,
                   sens_param: bool = False, jit: Jit = False,
                   holomorphic: bool = False) -> Callable:
    """Like ``grad``, but returns ``(value, grads)``; with aux the value is the whole output."""
    if fn is None:
        return lambda f: value_and_grad(f, grad_position, weights, has_aux, sens_param, jit,
                                        holomorphic)
    if getattr(fn, "__s2s_jacobian__", False) is True:
        raise jacobian_in_reverse(fn)
    return GradFunction(fn, grad_position, has_aux, sens_param, return_value=True,
                        weights=weights, jit=jit, holomorphic=holomorphic)


class GradOperation:
    """MindSpore's ``GradOperation(get_all=False, get_by_list=False, sens_param=False)``.

    ``GradOperation(...)(fn)`` or ``GradOperation(...)(fn, weights)`` returns a function
    that returns only gradients:

    - neither flag: the gradient of the first input;
    - ``get_all``: a tuple with the gradients of all positional inputs;
    - ``get_by_list``: a tuple with the gradients of ``weights``;
    - both: ``(input_gradients, weight_gradients)``.

    With ``sens_param=True`` the last positional argument is the sensitivity (the output's
    cotangent). Without it every output is seeded with ones, also when ``fn`` returns a tuple.
    """

    def __init__(self, get_all: bool = False, get_by_list: bool = False,
                 sens_param: bool = False):
        self.get_all = get_all
        self.get_by_list = get_by_list
        self.sens_param = sens_param

    def __call__(self, fn: Callable, weights: Any = None) -> Callable:
        if self.get_by_list and weights is None:
            raise TypeError("GradOperation(get_by_list=True) needs weights: "
                            "GradOperation(get_by_list=True)(fn, net.trainable_params())")
        weights = tuple(weights) if self.get_by_list and not isinstance(
            weights, np.ndarray) else ((weights,) if self.get_by_list else None)
        get_all, get_by_list, sens = self.get_all, self.get_by_list, self.sens_param
        cache: Dict[int, GradFunction] = {}

        def grad_function(*args):
            n_inputs = len(args) - (1 if sens else 0)
            if get_all:
                positions = tuple(range(n_inputs))
            elif get_by_list:
                positions = None
            else:
                positions = 0
            key = n_inputs
            g = cache.get(key)
            if g is None:
                g = cache[key] = GradFunction(fn, positions, False, sens, return_value=False,
                                              weights=weights if get_by_list else None)
            return g(*args)

        grad_function.__name__ = "grad_" + getattr(fn, "__name__", "function")
        return grad_function
