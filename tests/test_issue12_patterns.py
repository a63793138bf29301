"""Every pattern of issue 12 ("Trust"), in both modes, in one place.

Each row of the issue's tables and lists is a function here, or imported from the file
that holds it already (one copy of each program). A gradient row is checked in reverse mode
(``s2s.grad``) and forward mode (``s2s.jvp`` along a random direction) against central
finite differences in float64; a refused row must raise an ``S2SError`` that points at the
program's file, at the line marked ``# refused`` (``# here`` in test_nested_trust.py), in
each mode it names. The other tests of these patterns (tests/test_lists_trust.py,
test_nested_trust.py, test_containers.py, test_callables.py, test_cache.py,
test_operand_trust.py, test_swallow.py) go deeper into each; this file is the issue's
checklist.
"""
import copy
import functools
import inspect
import sys
import threading

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, flatten, numerical_grad
from s2s.errors import S2SError
# the programs that the deeper files hold already: one copy of each
from test_lists_trust import (concat_then_index as list_joined, concatenate_of_nested_lists
                              as concatenate_lists, dot_of_lists, max_of_literal, max_with_ties,
                              repeat_then_sum as list_repeated_sum,
                              repeated_fancy_update as repeated_fancy_add)
from test_nested_trust import closure_calls_closure as local_calls_local, recursive_local

RNG = np.random.default_rng(12)
V3 = np.array([0.4, -0.7, 1.1])
M23 = np.array([[0.3, -0.5, 0.8], [1.2, 0.1, -0.4]])


# --- the table: silently wrong once -------------------------------------------------------


def def_in_loop(x):
    total = 0.0
    for k in range(3):
        def term(u):
            return u * k + x
        total = total + term(x)
    return total


def lambdas_in_list(x):
    fs = [lambda u: u * 2.0, lambda u: u * x]  # refused
    return fs[0](x) + fs[1](x)


def closure_appends(x):
    acc = []

    def push(u):
        acc.append(u * x)  # refused
    push(2.0)
    push(x)
    return acc[0] + acc[1]


def closure_sets_item(x):
    d = {"a": 1.0}

    def put(u):
        d["a"] = u * x  # refused
    put(3.0)
    return d["a"] * x


def default_bound_to_x(x):
    g = lambda u, s=x: u * s  # noqa: E731  # refused
    return g(2.0)


REDUCTIONS = []
for _red in (np.sum, np.prod, np.max):
    def _reduced(a, _r=_red):
        return _r(a * a)
    REDUCTIONS.append(_reduced)


def scale(factor):
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            return factor * fn(*args)
        return wrapper
    return decorate


@scale(3.0)
def scaled_helper(u):
    return u * u


def calls_decorated(x):
    return scaled_helper(x) + x


def nested_list_array(x):
    return np.sum(np.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]]) ** 2)


ADD_AT_INDEX = np.array([0, 2, 0])


def add_at(x):
    y = np.zeros(3)
    np.add.at(y, ADD_AT_INDEX, x)
    return np.sum(y * np.array([1.0, 2.0, 3.0]))


class Quad:
    def __init__(self, A):
        self.A = A

    def energy(self, v):
        return v @ self.A @ v


def object_built_inside(A, v):
    q = Quad(A)  # refused
    return q.energy(v)  # refused


# --- crashes once ----------------------------------------------------------------------------

def dense(params, u):
    w, b = params
    return np.tanh(w @ u + b)


def dense_pytree(W, b, u):
    return np.sum(dense((W, b), u))


def predict(params, X):
    return X @ params["w"] + params["b"]


def predict_dict(w, b, X):
    return np.sum(predict({"w": w, "b": b}, X) ** 2)


def tuple_joined(x, y):
    t = (x, y) + (x * y,)
    return t[0] * t[2] + t[1]


def star_args(*args):
    return args[0] * args[1] ** 2


def wraps_wrapper(x, y):
    return scaled_helper(x) * y


class Base:
    def value(self, x):
        return x * 2.0


class Derived(Base):
    def value(self, x):
        return super().value(x) + x ** 2


def uses_super(x):
    return Derived().value(x)


def lambdas_by_comprehension(x):
    fs = [lambda u: u * k for k in (1.0, 2.0, 3.0)]
    return fs[0](x) + fs[2](x)


class Spring:
    def __init__(self, k):
        self.k = k

    def energy(self, x):
        return 0.5 * self.k * x ** 2

    def scaled(self, x, factor=2.0):
        return factor * self.k * x ** 3


# --- the reliability probe: silently wrong once ----------------------------------------------

def update_through_view(y):
    y = y * 1.0
    z = y[1:]
    z += 1.0  # refused
    return np.sum(y * y)


def scalar_plus_array_in_loop(s, x):
    w = x
    for j in range(2):
        w = s + x
    return np.sum(w * x)


def copy_set_use_in_loop(x):
    total = 0.0
    for i in range(3):
        c = x.copy()
        c[i] = c[i] * 2.0
        total = total + np.sum(c * x)
    return total


def chained(x):
    source = "def long_chain(x):\n    v = x\n" + "    v = v * 1.001 + 0.001\n" * 250 \
             + "    return v\n"
    return source


def _long_chain():
    import linecache
    text = chained(None)
    filename = "<issue12 long chain>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {}
    exec(compile(text, filename, "exec"), namespace)
    return namespace["long_chain"]


long_chain = _long_chain()


def deep_recursion(x, n):  # refused
    if n == 0:
        return x
    return deep_recursion(x * 1.0001, n - 1)


def deep_400(x):
    return deep_recursion(x, 400)


deep_400.refused_in = deep_recursion        # the error points at the recursive function


def copies_updated(v):
    a = v[0]
    a += 1.0
    b = v[np.array([0, 2])]
    b += 2.0
    return np.sum(a * b) + np.sum(v)


def kw_get(x, **kw):
    return x * kw.get("scale", 2.0)


def calls_kw_get(x):
    return kw_get(x, scale=x)


def once_missing_rules(x):
    return (np.sum(np.diff(x) ** 2) + np.sum(np.sort(x) * np.arange(3.0))
            + np.sum(np.kron(x, x)) + np.sum(np.linalg.cholesky(np.outer(x, x) + np.eye(3)))
            + np.sum(np.fabs(x)))


def dict_slot_overwritten(x):
    # found by the fuzzer: the old value's cotangent restarts at zero of its own shape
    d = {"w": x * 0.5, "b": np.array([x, [0.5, 0.5, 0.5]]).T @ np.array([0.5, -1.0])}
    d["b"] = d["w"]
    return np.sum(d["w"] * d["b"]) + np.sum(np.sin(d["w"]))


def einsum_direct(a, b):
    return np.einsum("i,i->", a, b)


# --- rows: (id, function, arguments, positions) ----------------------------------------------
# right in both modes, against finite differences
ROWS = [
    ("list + list", list_joined, (0.7, 1.3), (0, 1)),
    ("sum([x] * 3)", list_repeated_sum, (0.7,), (0,)),
    ("max of a literal list", max_of_literal, (0.7,), (0,)),
    ("local calls local", local_calls_local, (0.7,), (0,)),
    ("def in a loop", def_in_loop, (0.7,), (0,)),
    ("loop-made sum", REDUCTIONS[0], (V3,), (0,)),
    ("loop-made prod", REDUCTIONS[1], (V3,), (0,)),
    ("loop-made max", REDUCTIONS[2], (V3,), (0,)),
    ("functools.wraps helper", calls_decorated, (0.7,), (0,)),
    ("np.array of nested lists", nested_list_array, (0.7,), (0,)),
    ("np.concatenate of lists", concatenate_lists, (0.7,), (0,)),
    ("max with ties", max_with_ties, (0.7,), (0,)),
    ("repeated fancy +=", repeated_fancy_add, (V3,), (0,)),
    ("pytree tuple to a helper", dense_pytree, (M23, V3[:2], V3), (0, 1, 2)),
    ("pytree dict to a helper", predict_dict, (V3, 0.3, M23), (0, 1, 2)),
    ("tuple concatenation", tuple_joined, (0.7, 1.3), (0, 1)),
    ("np.dot of lists", dot_of_lists, (0.7,), (0,)),
    ("*args function", star_args, (0.7, 1.3), (0, 1)),
    ("functools.wraps wrapper", scaled_helper, (0.7,), (0,)),
    ("wrapper called", wraps_wrapper, (0.7, 1.3), (0, 1)),
    ("zero-argument super()", uses_super, (0.7,), (0,)),
    ("bound method", Spring(2.0).energy, (0.7,), (0,)),
    ("bound method with a default", Spring(2.0).scaled, (0.7,), (0,)),
    ("scalar + array in a loop", scalar_plus_array_in_loop, (0.4, V3), (0, 1)),
    ("copy, set an item, use, in a loop", copy_set_use_in_loop, (V3,), (0,)),
    ("250 chained statements", long_chain, (0.7,), (0,)),
    ("s2s.grad(max)", max, (0.7, 1.3), (0, 1)),
    ("s2s.grad(min)", min, (0.7, 1.3), (0, 1)),
    ("s2s.grad(np.einsum)", einsum_direct, (V3, V3 * 2.0), (0, 1)),
    ("copies updated in place", copies_updated, (V3,), (0,)),
    ("kw.get", calls_kw_get, (0.7,), (0,)),
    ("a dict slot overwritten", dict_slot_overwritten, (V3,), (0,)),
    ("np.diff, np.sort, np.kron, cholesky, fabs", once_missing_rules, (V3,), (0,)),
    ("np.add.at", add_at, (V3,), (0,)),
]

# refused in the modes named (a located error), right in the others
PARTLY = [
    ("recursive local", recursive_local, (0.7,), (0,), ("jvp",)),
]
ROWS += [(f"{name} ({'grad' if modes == ('jvp',) else 'jvp'})", fn, args, positions)
         for name, fn, args, positions, modes in PARTLY]


def _forward(fn, args, positions, rng):
    """``s2s.jvp`` along a random direction of the positions, and central differences."""
    direction = [None] * len(args)
    for p in positions:
        leaves, rebuild = flatten(args[p])
        direction[p] = rebuild([rng.standard_normal(np.shape(v)) if isinstance(v, np.ndarray)
                                else float(rng.standard_normal()) for v in leaves])
    tangents = tuple(d if d is not None else (np.zeros_like(a) if isinstance(a, np.ndarray)
                                              else 0.0 * a if isinstance(a, float) else a)
                     for d, a in zip(direction, args))
    _, tangent = s2s.jvp(fn, tuple(args), tangents)
    grads = numerical_grad(fn, args, positions)
    expected = sum(float(np.sum(np.asarray(g) * np.asarray(direction[p])))
                   for p, g in zip(positions, grads))
    return float(np.sum(tangent)), expected


REVERSE = [r for r in ROWS if not r[0].endswith("(jvp)")]
FORWARD = [r for r in ROWS if not r[0].endswith("(grad)")]


@pytest.mark.parametrize("fn, args, positions", [r[1:] for r in REVERSE],
                         ids=[r[0] for r in REVERSE])
def test_gradient_rows_in_reverse_mode(fn, args, positions):
    grads = s2s.grad(fn, grad_position=positions)(*copy.deepcopy(args))
    assert_close(grads, numerical_grad(fn, args, positions))


@pytest.mark.parametrize("fn, args, positions", [r[1:] for r in FORWARD],
                         ids=[r[0] for r in FORWARD])
def test_gradient_rows_in_forward_mode(fn, args, positions):
    got, expected = _forward(fn, copy.deepcopy(args), positions, np.random.default_rng(3))
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-7)


# --- refused rows: a located S2SError in each mode ---------------------------------------

def r_and_c(x):
    return np.sum(np.r_[x, x] * 2.0)  # refused


def c_(x):
    return np.sum(np.c_[x, x] * 2.0)  # refused


def uses_eval(x):
    return eval("x * 3.0")  # refused


def through_a_string(x):
    return float(str(x))  # refused


def string_output(x):  # refused
    return "value"  # refused


def none_output(x):  # refused
    return None  # refused


def object_output(x):
    return Quad(x)  # refused


def add_with_out(x):
    x = x * 1.0
    np.add(x, 1.0, out=x)  # refused
    return np.sum(x)


def sort_in_place(x):
    x = x * 1.0
    x.sort()  # refused
    return np.sum(x * np.arange(3.0))


def vectorized(x):
    f = np.vectorize(lambda u: u * 2.0)
    return np.sum(f(x))  # refused


BOTH = ("grad", "jvp")
REFUSED = [
    # (id, function, arguments, modes, a piece of the message)
    ("recursive local in jvp", recursive_local, (0.7,), ("jvp",), "recursive local function"),
    ("lambdas in a list", lambdas_in_list, (0.7,), BOTH, "stored in a container"),
    ("closure appends", closure_appends, (0.7,), BOTH, "updates 'acc'"),
    ("closure sets an item", closure_sets_item, (0.7,), BOTH, "updates 'd'"),
    ("default bound to x", default_bound_to_x, (0.7,), BOTH, "default of a lambda"),
    ("object built inside", object_built_inside, (np.eye(3), V3), BOTH, "object built"),
    ("update through a slice view", update_through_view, (V3,), BOTH, "update in place"),
    ("recursion deeper than 332", deep_400, (0.7,), BOTH, "depth of recursion"),
    ("np.r_", r_and_c, (V3,), BOTH, "r_"),
    ("np.c_", c_, (V3,), BOTH, "c_"),
    ("eval", uses_eval, (0.7,), BOTH, "eval"),
    ("float(str(x))", through_a_string, (0.7,), BOTH, "str"),
    ("a string output", string_output, (0.7,), BOTH, "'value'"),
    ("a None output", none_output, (0.7,), BOTH, "None"),
    ("an object output", object_output, (0.7,), BOTH, "Quad"),
    ("np.add(..., out=x)", add_with_out, (V3,), BOTH, "out"),
    ("x.sort()", sort_in_place, (V3,), BOTH, "sort"),
    ("np.vectorize", vectorized, (V3,), BOTH, "vectorize"),
]
def _marked_lines(fn):
    """The file of ``fn`` and its lines marked ``# refused`` (``# here`` in the files the
    program comes from): where an error may point (reverse mode points at the output,
    forward mode at the def, for an output that is not a number)."""
    fn = getattr(fn, "refused_in", fn)
    lines, start = inspect.getsourcelines(fn)
    return inspect.getsourcefile(fn), {start + i for i, line in enumerate(lines)
                                       if "# refused" in line or "# here" in line}


def _run(mode, fn, args):
    if mode == "grad":
        return s2s.grad(fn)(*copy.deepcopy(args))
    return s2s.jvp(fn, tuple(copy.deepcopy(args)),
                   tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args))


REFUSED_RUNS = [(name, fn, args, construct, mode) for name, fn, args, modes, construct in REFUSED
                for mode in modes]


@pytest.mark.parametrize("fn, args, construct, mode", [r[1:] for r in REFUSED_RUNS],
                         ids=[f"{r[0]}-{r[4]}" for r in REFUSED_RUNS])
def test_refused_rows_are_located(fn, args, construct, mode):
    try:
        result = _run(mode, fn, args)
    except S2SError as error:
        filename, lines = _marked_lines(fn)
        assert error.filename == filename, str(error)
        assert error.lineno in lines, str(error)
        assert construct in str(error), str(error)
        return
    # a construct that became supported must be right: np.r_ and np.c_ may get rules
    assert construct in ("r_", "c_"), f"{mode} of {fn.__name__} gave {result!r}, no error"
    if mode == "grad":
        assert_close(result, numerical_grad(fn, args, 0))


# --- noticed beside the issue ------------------------------------------------------------

def transposed(x, axes):
    return np.transpose(x, axes) * np.arange(1.0, 7.0).reshape(3, 2)


def test_an_int_tuple_argument_stays_ints():
    # axes=(1, 0) is a constant: vjp and jvp must not make it floats for np.transpose
    x = M23
    out, pullback = s2s.vjp(transposed, x, (1, 0))
    assert_close(pullback(np.ones((3, 2)))[0], numerical_grad(transposed, (x, (1, 0)), 0))
    _, tangent = s2s.jvp(transposed, (x, (1, 0)), (np.ones_like(x), (0, 0)))
    assert_close(np.sum(tangent), float(np.sum(numerical_grad(transposed, (x, (1, 0)), 0))))


def slogdet_directly(a):
    return np.linalg.slogdet(a)


def slogdet_sum(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign + logdet


SPD = np.array([[2.0, 0.3], [0.1, 1.5]])


@pytest.mark.parametrize("transform", ["grad", "vjp", "jvp", "jacrev", "jacfwd"])
def test_returning_slogdet_directly(transform):
    # a named tuple output is a tuple of outputs: its sign has derivative zero
    want = numerical_grad(slogdet_sum, (SPD,), 0)
    if transform == "grad":
        got = s2s.grad(slogdet_directly)(SPD)
    elif transform == "vjp":
        got = s2s.vjp(slogdet_directly, SPD)[1]((1.0, 1.0))[0]
    elif transform == "jvp":
        direction = np.array([[0.3, -0.2], [0.5, 0.1]])
        tangent = s2s.jvp(slogdet_directly, (SPD,), (direction,))[1]
        assert tangent.sign == 0.0
        assert tangent.logabsdet == pytest.approx(float(np.sum(want * direction)), rel=1e-6)
        return
    else:
        jac = getattr(s2s, transform)(slogdet_directly)(SPD)
        assert type(jac).__name__ == "SlogdetResult"
        got = jac.sign + jac.logabsdet
    assert_close(got, want)


def qr_complete(a):
    q, r = np.linalg.qr(a, mode="complete")  # refused
    return np.sum(q) + np.sum(r)


def svd_full(a):
    u, s, vh = np.linalg.svd(a)  # refused
    return np.sum(u[:, 0] * s[0])


LINALG_REFUSED = [(qr_complete, M23.T, "mode 'reduced' or 'r'"),
                  (svd_full, M23.T, "full_matrices=False")]


@pytest.mark.parametrize("transform", ["grad", "vjp", "jvp", "jacrev", "jacfwd"])
@pytest.mark.parametrize("fn, a, message", LINALG_REFUSED,
                         ids=[f.__name__ for f, _, _ in LINALG_REFUSED])
def test_linalg_refusals_at_run_time_are_located(fn, a, message, transform):
    with pytest.raises(ValueError, match=message) as info:
        if transform == "grad":
            s2s.grad(fn)(a)
        elif transform == "vjp":
            s2s.vjp(fn, a)[1](1.0)
        elif transform == "jvp":
            s2s.jvp(fn, (a,), (np.ones_like(a),))
        else:
            getattr(s2s, transform)(fn)(a)
    error = info.value
    assert isinstance(error, S2SError)
    filename, lines = _marked_lines(fn)
    assert (error.filename, error.lineno) == (filename, min(lines)), str(error)


def two_arguments(x, y):
    return x * y


def sum_of_two(x, y):
    return np.sum(x * y)


@pytest.mark.parametrize("call", [
    lambda: s2s.grad(two_arguments)(0.7),
    lambda: s2s.value_and_grad(two_arguments)(0.7, 1.0, 2.0),
    lambda: s2s.jvp(two_arguments, (0.7,), (1.0,)),
    lambda: s2s.jvp(two_arguments, (0.7, 1.0, 2.0), (1.0, 1.0, 1.0)),
    lambda: s2s.vjp(two_arguments, 0.7),
    lambda: s2s.vjp(two_arguments, 0.7, 1.0, 2.0),
    lambda: s2s.jacfwd(two_arguments)(0.7),
    lambda: s2s.jacfwd(two_arguments)(0.7, 1.0, 2.0),
    lambda: s2s.jacrev(two_arguments)(0.7),
    lambda: s2s.jacrev(two_arguments)(0.7, 1.0, 2.0),
    lambda: s2s.hessian(sum_of_two)(V3),
    lambda: s2s.hvp(sum_of_two, (V3,), (V3,)),
], ids=["grad", "value_and_grad", "jvp", "jvp-3", "vjp", "vjp-3", "jacfwd", "jacfwd-3",
        "jacrev", "jacrev-3", "hessian", "hvp"])
def test_argument_count_errors_name_the_users_function(call):
    # as Python words them: "f() missing 1 required positional argument: 'y'", "f() takes
    # 2 positional arguments but 3 were given" (they named jvp_f, vjp_f or failed further in)
    with pytest.raises(TypeError, match=r"^(two_arguments|sum_of_two)\(\) (missing 1 "
                                        r"required positional argument: 'y'|takes 2 "
                                        r"positional arguments but 3 were given)$"):
        call()


@pytest.mark.parametrize("transform", [s2s.jacfwd, s2s.jacrev])
def test_a_jacobian_takes_positional_arguments_only(transform):
    with pytest.raises(TypeError, match=r"^jacobian_two_arguments\(\) takes positional "
                                        r"arguments only, not 'y'"):
        transform(two_arguments)(0.7, y=1.0)


@pytest.mark.parametrize("value", ["text", None, object()], ids=["str", "None", "object"])
def test_argument_type_errors_are_located(value):
    with pytest.raises(S2SError) as info:
        s2s.grad(two_arguments)(value, 1.0)
    assert (info.value.filename, info.value.lineno) == (
        __file__, two_arguments.__code__.co_firstlineno)


# --- weights= (the table) ----------------------------------------------------------

from s2s import nn  # noqa: E402

class Model:
    """Parameters held by an object the loss reads as a global (float64: the oracle's
    central differences perturb them in place)."""

    def __init__(self):
        self.weight = nn.Parameter(np.array([[0.3, -0.8, 0.5], [1.1, 0.2, -0.4]]), name="w")
        self.bias = nn.Parameter(np.array([0.1, -0.3]), name="b")

    def trainable_params(self):
        return [self.weight, self.bias]


NET = Model()
SCALE = nn.Parameter(np.array([0.5, -1.5]), name="scale")
X4 = np.array([[0.2, -0.4, 0.9], [1.1, 0.3, -0.6], [0.5, 0.5, -0.2], [-0.7, 0.8, 0.1]])


def reads_attribute(x):
    return np.sum(np.tanh(x @ NET.weight.T + NET.bias) ** 2)


def reads_global(x):
    return np.sum((x[:, :2] * SCALE) ** 2)


def takes_parameter(x, scale):
    return np.sum(np.sin(x[:, :2] * scale))


def parameter_differences(fn, params, args):
    """Central differences of ``fn`` with respect to each Parameter, perturbed in place."""
    grads = []
    for p in params:
        grad = np.zeros(p.shape)
        for index in np.ndindex(p.shape):
            kept = p[index]
            p[index] = kept + 1e-6
            up = fn(*args)
            p[index] = kept - 1e-6
            down = fn(*args)
            p[index] = kept
            grad[index] = (up - down) / 2e-6
        grads.append(grad)
    return grads


WEIGHTED = [
    (reads_attribute, (X4,), lambda: NET.trainable_params()),
    (reads_global, (X4,), lambda: [SCALE]),
    (takes_parameter, (X4, SCALE), lambda: [SCALE]),
]


@pytest.mark.parametrize("fn, args, params", WEIGHTED,
                         ids=["attribute in an expression", "global Parameter", "argument"])
def test_weights_find_every_read(fn, args, params):
    got = s2s.grad(fn, None, weights=params())(*args)
    for g, want in zip(got, parameter_differences(fn, params(), args)):
        assert_close(g, want)


def test_weights_from_several_threads():
    df = s2s.grad(reads_attribute, None, weights=NET.trainable_params())
    inputs = [X4 * (1.0 + 0.1 * k) for k in range(6)]
    results = [None] * len(inputs)

    def work(k):
        for _ in range(10):
            results[k] = df(inputs[k])
    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, got in zip(inputs, results):
        want = parameter_differences(reads_attribute, NET.trainable_params(), (x,))
        for g, w in zip(got, want):
            assert_close(g, w)


# --- the rest of the probe's crashes ----------------------------------------------------------

def cubes(x):
    return np.sum(x ** 3)


def test_hessian_at_an_empty_array():
    assert s2s.hessian(cubes)(np.zeros(0)).shape == (0, 0)
    x = np.array([0.3, -0.5])
    assert_close(s2s.hessian(cubes)(x), np.diag(6.0 * x))


def pair(a, b):
    return a * b, a + b


def test_a_pullback_given_too_few_cotangents_is_an_error():
    _, pullback = s2s.vjp(pair, 0.7, 1.3)
    with pytest.raises(ValueError, match="cotangent"):
        pullback((1.0,))
    assert_close(pullback((1.0, 1.0)), (2.3, 1.7))


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match statements need Python 3.10")
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_a_match_statement_is_refused(mode):
    from nested_match import match_statement
    with pytest.raises(S2SError) as info:
        _run(mode, match_statement, (0.7,))
    assert info.value.filename.endswith("nested_match.py")
