"""s2s's transforms inside a function s2s differentiates: closed under composition.

A differentiated function may itself call s2s: ``s2s.jvp(f, (x,), (t,))``, ``s2s.vjp(f, x)``
and the pullback it returns, ``s2s.grad(f)(x)``. s2s never reads its own library source for
them. Each transform call is a known operation with a forward and a reverse rule, registered
here through ``s2s.rules`` like the rule of ``np.sin`` (so the compiler knows nothing of the
api), and each rule differentiates the *generated code* of the inner transform, which is
plain Python:

    inner call                     forward rule (jvp of it)          reverse rule (vjp of it)
    s2s.jvp(f, xs, ts)             jvp of jvp_f over (xs, ts)         vjp of jvp_f over (xs, ts)
    out, pb = s2s.vjp(f, *xs)      dout: jvp of f; dpb: a tangent     dout: vjp of f; the
                                   function of pb (below)             cotangent of pb (below)
    pb(ct)                         jvp of grad_f(xs, sens=ct)         vjp of grad_f(xs, sens=ct)

A pullback and a ``grad(f)`` object stand for plain Python functions (``__s2s_function__``,
read by the run-time dispatch ``call_vjp``/``call_jvp``): the pullback for a closure over the
inputs that calls the cotangent code ``grad_f(x, w, sens)``, ``grad(f)`` for its generated
code. Through those closures a pullback depends on the inputs: in forward mode its tangent
is a function ``dpb(ct, dct) -> (pb(ct), tangent)``, in reverse mode its cotangent is a dict
by input name, which ``vjp``'s reverse rule hands to the inputs.

So every order and mode composes: ``jvp`` of ``jvp``, ``jvp`` of ``vjp``, ``vjp`` of ``jvp``,
``grad`` of ``vjp``, and on to third derivatives, each level differentiating the code the
level below generated.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, List, Sequence, Tuple

from s2s import runtime
from s2s.api import grad as api
from s2s.api.transforms import (_as_tuple, _check_tangents, _differentiable, _flatten, _fname,
                                _is_differentiable, _param_names, _plain, _shaped_like,
                                _view_of, _zero_tree, cotangent_code, jvp, pullback_function,
                                pullback_inputs, sens_parameter, vjp)
from s2s.compiler import pipeline
from s2s.rules import adjoint, tangent


def _inputs(transform: str, fn: Callable, inputs: Sequence[Any], has_aux: bool):
    """The function, arguments and differentiated positions of an inner ``s2s.<transform>``
    call, as that call prepares them."""
    if has_aux:
        raise NotImplementedError(f"s2s cannot differentiate s2s.{transform}(..., "
                                  "has_aux=True) again: call it without has_aux inside a "
                                  "differentiated function")
    fn = _plain(fn, len(inputs))
    positions = tuple(i for i, a in enumerate(inputs) if _is_differentiable(a))
    args, positions = _differentiable(fn, inputs, positions)
    return fn, args, positions


def _jvp_view(fn: Callable, args: Sequence[Any], v: Sequence[Any], has_aux: bool):
    """The generated jvp code of ``jvp(fn, args, v)`` as the inner jvp runs it: (its view,
    the prepared arguments, differentiated positions, and their tangents)."""
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_flags & inspect.CO_VARARGS:
        # its jvp code calls it through call_jvp, whose derivative is this one again
        raise NotImplementedError(
            f"s2s cannot differentiate s2s.jvp of '{_fname(fn)}', which takes *args, again: "
            f"give '{_fname(fn)}' named parameters (def {_fname(fn)}(x, y): ...)")
    fn, args, positions = _inputs("jvp", fn, args, has_aux)
    tangents = _check_tangents([args[p] for p in positions], [v[p] for p in positions])
    view = _view_of(fn, args).extend(positions, single=False)
    if len(view.levels) > 1:
        raise NotImplementedError(f"s2s cannot differentiate s2s.jvp of the jacfwd/hessian "
                                  f"function '{_fname(fn)}' again")
    return view, args, positions, tangents


def _dense(tangent: Any, like: Any) -> Any:
    """A tangent the forward rules pass as ``0.0`` where it is zero, as a value like ``like``."""
    if type(tangent) is float and tangent == 0.0 and type(like) is not float:
        return _zero_tree(like)
    return tangent


def _dense_all(tangents: Any, args: Sequence[Any], single: bool) -> List[Any]:
    """The tangents of the arguments ``args`` (a tuple of them, or one when ``single``),
    each dense (``_dense``); ``0.0`` for all of them is zeros for each."""
    if single:
        tangents = (tangents,)
    elif type(tangents) is float and tangents == 0.0:
        return [_zero_tree(a) for a in args]
    return [_dense(t, a) for t, a in zip(tangents, args)]


# -- s2s.jvp --------------------------------------------------------------------------------------
def jvp_tangents(fn: Callable, inputs: Any, v: Any, dinputs: Any, dv: Any,
                 has_aux: bool = False) -> tuple:
    """The tangent ``(dout, dtangent)`` of ``jvp(fn, inputs, v)`` for the tangents
    ``dinputs`` of ``inputs`` and ``dv`` of ``v``: forward mode over the generated jvp code
    of ``fn``."""
    args, single = _as_tuple(inputs)
    view, args, positions, tangents = _jvp_view(fn, args, _as_tuple(v)[0], has_aux)
    dargs, dtangents = _dense_all(dinputs, args, single), _dense_all(dv, args, single)
    names, inner = view.params, view.levels[-1].tangents
    outer = pipeline.jvp_of(view.fn, tuple(names[p] for p in positions) + tuple(inner))
    given = dict(zip(inner, tangents))
    given.update(zip(outer.__s2s_tangents__,
                     [dargs[p] for p in positions] + [dtangents[p] for p in positions]))
    raw, draw = outer(*args, **given)          # raw: (value, tangent); draw its tangent
    out = view.output(raw)
    return _shaped_like(view.output(draw), out), _shaped_like(draw[1], out)


def jvp_cotangents(fn: Callable, inputs: Any, v: Any, cotangent: Any,
                   has_aux: bool = False) -> tuple:
    """The cotangents of ``inputs`` and ``v`` for a cotangent ``(dout, dtangent)`` of
    ``jvp(fn, inputs, v)``: reverse mode over the generated jvp code of ``fn``."""
    args, single = _as_tuple(inputs)
    view, args, positions, tangents = _jvp_view(fn, args, _as_tuple(v)[0], has_aux)
    names = view.params
    tangent_names = view.levels[-1].tangents
    trees = [p for p in positions if isinstance(args[p], (tuple, list, dict))]
    compiled = pipeline.grad_of(
        view.fn, tuple(names[p] for p in positions) + tuple(tangent_names),
        tree_params=tuple(names[p] for p in trees)
        + tuple(tangent_names[positions.index(p)] for p in trees), mode="vjp")
    value, pullback = compiled(*args, **dict(zip(tangent_names, tangents)))
    seed = [runtime.zeros_like(part) if c is None else c for part, c in zip(value, cotangent)]
    grads = pullback(tuple(seed))
    n = len(positions)
    d_args = [_zero_tree(a) for a in args]
    d_tangents = [_zero_tree(a) for a in args]
    for p, g, t in zip(positions, grads[:n], grads[n:]):
        d_args[p] = _shaped_like(runtime.zeros_like(args[p]) if g is None else g, args[p])
        d_tangents[p] = _shaped_like(runtime.zeros_like(args[p]) if t is None else t, args[p])
    if single:
        return d_args[0], d_tangents[0]
    return tuple(d_args), tuple(d_tangents)


# -- s2s.vjp and its pullback ----------------------------------------------------------------------
def _vjp_inputs(fn: Callable, inputs: Sequence[Any], has_aux: bool):
    return _inputs("vjp", fn, inputs, has_aux)


def vjp_tangents(fn: Callable, inputs: Sequence[Any], dinputs: Sequence[Any],
                 has_aux: bool = False) -> Tuple[Any, Callable]:
    """The tangent of ``vjp(fn, *inputs)`` for the tangents ``dinputs`` of ``inputs``: the
    output's tangent, and the pullback's, a function ``(ct, dct) -> (pb(ct), tangent)``
    (forward mode over the cotangent code of ``fn``)."""
    fn, args, positions = _vjp_inputs(fn, inputs, has_aux)
    names = _param_names(fn)
    wrt = tuple(names[p] for p in positions)
    dargs = [_dense_all(dinputs, args, False)[p] for p in positions]
    forward = pipeline.jvp_of(fn, wrt)
    out, dout = forward(*args, **dict(zip(forward.__s2s_tangents__, dargs)))
    gradient = cotangent_code(fn, args, positions)
    sens = sens_parameter(fn, gradient)
    outer = pipeline.jvp_of(gradient, wrt + (sens,))

    def pullback_tangent(cotangent: Any, dcotangent: Any) -> Tuple[tuple, tuple]:
        given = dict(zip(outer.__s2s_tangents__, dargs + [dcotangent]))
        grads, dgrads = outer(*args, **{sens: cotangent}, **given)
        value = [_zero_tree(a) for a in args]
        tangent = [_zero_tree(a) for a in args]
        for p, g, dg in zip(positions, grads, dgrads):
            value[p] = api._match_dtype(g, args[p])
            tangent[p] = _shaped_like(dg, args[p])
        return tuple(value), tuple(tangent)

    return _shaped_like(dout, out), pullback_tangent


def vjp_cotangents(fn: Callable, inputs: Sequence[Any], cotangent: Any,
                   has_aux: bool = False) -> tuple:
    """The cotangents of ``inputs`` for a cotangent ``(dout, dpullback)`` of
    ``vjp(fn, *inputs)``: ``dout`` pulled back through ``fn``, plus what the pullback's
    cotangent (a dict by input name, from the calls of the pullback) holds for each."""
    fn, args, positions = _vjp_inputs(fn, inputs, has_aux)
    dout, dpullback = cotangent
    grads: List[Any] = [_zero_tree(a) for a in args]
    if dout is not None:
        _, pullback = vjp(fn, *args)
        grads = list(pullback(dout))
    if isinstance(dpullback, dict):
        for p, (_, leaves) in enumerate(pullback_inputs(fn, args)):
            extra = [dpullback.get(n) for n, _ in leaves]
            if p in positions and any(e is not None for e in extra):
                summed, rebuild = _flatten(grads[p])
                grads[p] = rebuild([g if e is None else g + e for g, e in zip(summed, extra)])
    return tuple(grads)


# -- generated code that calls a function known only at run time, transformed again ----------
def _run_time_target(fn: Callable, simple: bool, args: Sequence[Any]) -> Callable:
    target, bound = runtime.function_behind(fn, args)
    if getattr(getattr(target, "__code__", None), "co_filename", "").startswith("<s2s-pullback"):
        if bound is not None or not simple:     # a pullback s2s made, differentiated twice
            differentiated_again(f"the derivative '{target.__name__}' of a transform called "
                                 f"inside")
    if bound is not None or not simple:
        name = getattr(target, '__name__', target)
        raise NotImplementedError(
            f"s2s cannot differentiate again the derivative of a call of {name!r} through "
            f"a bound method, keyword, starred or closed-over arguments: make {name!r} a "
            f"function of its own that takes what it reads (the enclosing function's "
            f"values, the object's attributes) as positional arguments, and call it so")
    return target


def call_jvp_tangents(fn: Callable, args: tuple, tangents: tuple, dargs: Any, dtangents: Any,
                      keywords: Any = None) -> tuple:
    """The tangent of ``call_jvp(fn, args, tangents)`` (generated forward code calling a
    function passed in): ``jvp_tangents`` of the function behind ``fn``."""
    target = _run_time_target(fn, not keywords, args)
    inner = tuple(runtime.zeros_like(a) if t is None else t for a, t in zip(args, tangents))
    dtangents = _dense_all(dtangents, args, False)
    return jvp_tangents(target, tuple(args), inner, dargs, tuple(dtangents))


def call_jvp_cotangents(fn: Callable, args: tuple, tangents: tuple, cotangent: Any,
                        keywords: Any = None) -> tuple:
    """The cotangents of ``args`` and ``tangents`` for a cotangent of
    ``call_jvp(fn, args, tangents)``: ``jvp_cotangents`` of the function behind ``fn``."""
    target = _run_time_target(fn, not keywords, args)
    inner = tuple(runtime.zeros_like(a) if t is None else t for a, t in zip(args, tangents))
    return jvp_cotangents(target, tuple(args), inner, cotangent)


def _call_target(fn: Callable, spec: tuple, args: Sequence[Any]) -> Callable:
    """The function behind ``fn`` in ``call_vjp(fn, spec, ...)``, for a call with
    positional arguments only (a trailing ``*rest`` among them: they are all in ``args``)."""
    positions, star_from, keywords, weights, free, star_keywords, callee_active = spec
    return _run_time_target(fn, not keywords and not weights and not free
                            and not star_keywords and not callee_active, args)


def _call_positions(spec: tuple, args: Sequence[Any]) -> tuple:
    """The differentiated positions of ``call_vjp(fn, spec, *args)``, those of a trailing
    ``*rest`` included (as ``call_vjp`` counts them)."""
    positions, star_from = spec[0], spec[1]
    return positions + (tuple(range(star_from, len(args))) if star_from is not None else ())


def call_vjp_tangents(fn: Callable, spec: tuple, args: tuple, dargs: Any) -> tuple:
    """The tangent of ``call_vjp(fn, spec, *args)`` (generated reverse code calling a
    function known at run time, such as ``s2s.grad(f)``): ``vjp_tangents`` of the function
    behind ``fn``, its pullback's tangent giving ``(positional, keyword, closed_over)``."""
    positions = _call_positions(spec, args)
    target = _call_target(fn, spec, args)
    dout, pullback_tangent = vjp_tangents(target, args, _dense_all(dargs, args, False))

    def call_pullback_tangent(cotangent: Any, dcotangent: Any) -> Tuple[tuple, tuple]:
        grads, dgrads = pullback_tangent(cotangent, dcotangent)
        value = [grads[i] if i in positions else None for i in range(len(args))]
        tangent_ = [dgrads[i] if i in positions else None for i in range(len(args))]
        return (value, {}, {}), (tangent_, {}, {})

    return dout, call_pullback_tangent


def call_vjp_cotangents(fn: Callable, spec: tuple, args: tuple, cotangent: Any) -> tuple:
    """The cotangents of ``args`` for a cotangent ``(dout, dpullback)`` of
    ``call_vjp(fn, spec, *args)``: ``vjp_cotangents`` of the function behind ``fn`` (its
    pullback, ``call_pullback_function``, closes over the inputs as ``vjp``'s does)."""
    return vjp_cotangents(_call_target(fn, spec, args), args, cotangent)


def call_pullback_function(fn: Callable, spec: tuple, args: tuple) -> Callable:
    """The pullback of ``call_vjp(fn, spec, *args)`` as plain Python over the inputs."""
    target, args, positions = _vjp_inputs(_call_target(fn, spec, args), args, False)
    return pullback_function(target, args, positions, False, call_form=True)


def _register() -> None:
    """The forward and reverse rules of ``s2s.jvp`` and ``s2s.vjp``; their free names
    (``dinputs``, ``dv``, ``dresult``) are the rules' own, read by the expander."""
    @tangent(jvp)
    def jvp_tangent(fn, inputs, v, has_aux=False):
        dresult = jvp_tangents(fn, inputs, v, dinputs, dv, has_aux)  # noqa: F821

    @adjoint(jvp)
    def jvp_adjoint(fn, inputs, v, has_aux=False):
        both = jvp_cotangents(fn, inputs, v, dresult, has_aux)  # noqa: F821
        dinputs = both[0]
        dv = both[1]

    @tangent(vjp)
    def vjp_tangent(fn, *inputs, has_aux=False):
        dresult = vjp_tangents(fn, inputs, dinputs, has_aux)  # noqa: F821

    @adjoint(vjp)
    def vjp_adjoint(fn, *inputs, has_aux=False):
        dinputs = vjp_cotangents(fn, inputs, dresult, has_aux)  # noqa: F821

    @tangent(pipeline.call_jvp)
    def call_jvp_tangent(fn, args, tangents, keywords=None, keyword_tangents=None):
        dresult = call_jvp_tangents(fn, args, tangents, dargs, dtangents,  # noqa: F821
                                    keywords)

    @adjoint(pipeline.call_jvp)
    def call_jvp_adjoint(fn, args, tangents, keywords=None, keyword_tangents=None):
        both = call_jvp_cotangents(fn, args, tangents, dresult, keywords)  # noqa: F821
        dargs = both[0]
        dtangents = both[1]

    @tangent(pipeline.call_vjp)
    def call_vjp_tangent(fn, spec, *args):
        dresult = call_vjp_tangents(fn, spec, args, dargs)  # noqa: F821

    @adjoint(pipeline.call_vjp)
    def call_vjp_adjoint(fn, spec, *args):
        dargs = call_vjp_cotangents(fn, spec, args, dresult)  # noqa: F821


def differentiated_again(label: str) -> None:
    """Refuse the derivative of a rule's own code above (a transform called inside a
    function, differentiated twice more): raised where generated code would run it, so the
    error names the user's line behind that code (``notes.refusal``)."""
    raise NotImplementedError(
        f"s2s cannot differentiate {label} a third time: a transform called inside a "
        f"differentiated function (s2s.grad, s2s.jvp or s2s.vjp, or a gradient passed in) "
        f"is differentiated to the second order at most: call the innermost transform "
        f"outside, or take the higher derivatives of one function with nested transforms "
        f"(s2s.jacfwd(s2s.hessian(f)))")


_register()
pipeline.plain_call_pullback = call_pullback_function
# their results hold containers: (value, tangent) of any structure, and a pullback whose
# cotangent is a dict by input name
for _transform in (jvp, vjp, pipeline.call_jvp, pipeline.call_vjp):
    _transform.__s2s_pytree_result__ = True
