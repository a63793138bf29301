"""Functions differentiated with ``jit=True`` by tests/test_jit.py: the loops Numba
compiles (scalar recurrences, explicit Euler, item recurrences, a while loop) and one
function per construct that the Numba dialect refuses. They live in a real module so that
s2s can read their source."""
import math

import numpy as np

from jit_helpers import clipped, spring

DT = 0.05           # read by euler on each call: changing it must change the gradient
STEPS = 20


def scalar_loop(y):
    for _ in range(30):
        y = y * 0.99 + math.sin(y) * 0.1
    return y


def euler(stiffness, damping, x0, v0):
    x = x0
    v = v0
    for _ in range(STEPS):
        acceleration = -stiffness * x - damping * v
        x = x + DT * v
        v = v + DT * acceleration
    return 0.5 * np.sum(stiffness * x ** 2 + v ** 2)


def euler_pairs(stiffness, damping, x0, v0):
    """Euler with a tuple assignment: the reverse loop walks two saved lists at once
    (``zip(reversed(v_stack), reversed(x_stack))``)."""
    x = x0
    v = v0
    for _ in range(STEPS):
        acceleration = -stiffness * x - damping * v
        x, v = x + DT * v, v + DT * acceleration
    return 0.5 * np.sum(stiffness * x ** 2 + v ** 2)


def recurrence(a, u):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    return np.sum(out)


def while_growth(x):
    while x < 10.0:
        x = x * 1.5 + np.sin(x)
    return x


def rows_then_sum(x, A):
    total = 0.0
    for row in A:
        total = total + np.sum(np.tanh(row * x))
    return total


def axis_sums(x):
    """Sums over one axis (a positive and a negative one, a function and a method)."""
    total = 0.0
    for _ in range(2):
        x = np.tanh(x)
        total = total + np.sum(np.sum(x * x, axis=0) ** 2) + np.sum(np.cos(x.sum(axis=-1)))
    return total


def scaled_loop(x):
    """Compiles for float64 arrays; for float32 ones Numba types ``y * 2.0`` as float64,
    which the loop cannot hold in y."""
    y = x
    for _ in range(3):
        y = y * 2.0 + np.sin(x)
    return np.sum(y)


def layers(params, x):
    """A tuple (or list) of weights: unpacked, and read by a constant index."""
    w, b = params
    y = x
    for _ in range(3):
        y = np.tanh(w * y + b) + params[1] * 0.1
    return np.sum(y * y)


class Model:
    """Weights held as attributes, for weights=."""

    def __init__(self, size):
        self.w = np.linspace(0.2, 0.6, size)
        self.b = 0.1
        self.inner = type("Inner", (), {})()
        self.inner.s = np.linspace(1.5, 0.5, size)


model = Model(3)


def model_loss(x):
    y = x
    for _ in range(3):
        y = np.tanh(model.w * y + model.b) * model.inner.s
    return np.sum(y * y)


def scaled_by_model(v):
    return v * model.w


def model_in_helper(x):
    return np.sum(scaled_by_model(x) ** 2)


def no_loop(x):
    return np.sum(np.tanh(x) * x)



def elementwise_chain(x, scale):
    """Runs of elementwise statements in a loop and after it, fused into loops over the
    elements by jit=True."""
    y = x
    for _ in range(4):
        u = np.tanh(y) * scale - y ** 2 * 0.1
        y = y + 0.2 * u + np.exp(-y * y) * 0.05
    z = np.cos(y) * x
    return np.sum(z * z + y)

# -- refused: one construct each ---------------------------------------------------------------
def with_lambda(x):
    scale = lambda v: v * 2.0
    s = 0.0
    for _ in range(3):
        s = s + scale(x)
    return s


def with_dict(x):
    d = {"a": x}
    for _ in range(2):
        d["a"] = d["a"] * x
    return d["a"]


def with_local_function(x):
    def h(v):
        return np.sin(v)
    y = x
    for _ in range(2):
        y = h(y)
    return y


def branching_helper(v):
    if v > 0:
        return v * v
    return -v


def helper_loop(x):
    """A helper of this module that branches, in a loop."""
    y = x
    for _ in range(2):
        y = branching_helper(y)
    return y


def euler_step(x, v, k):
    """A helper that reads this module's DT."""
    return x + DT * v, v - DT * k * x


def calls_helpers(k, x0, c):
    """Helpers of this module and of another (which calls a third and reads its module's
    GAIN), a helper of two results, and helpers given only constants (their forward code
    runs compiled too)."""
    x = x0
    v = x0 * 0.0
    for _ in range(4):
        x, v = euler_step(x, v, k)
        x = spring(x, k) + clipped(c) * 0.01
    return np.sum(x * x + v) + clipped(np.sum(x))


def recursive_helper(n, x):
    if n == 0:
        return x
    return recursive_helper(n - 1, x) * x


def calls_recursion(x):
    y = x
    for _ in range(2):
        y = recursive_helper(2, y)
    return y


def with_axis_tuple(x):
    return np.sum(np.sum(x * x, axis=(0, 1)) ** 2)


def with_set(x):
    y = x
    for i in {1, 2}:
        y = y * x
    return y


def loop_for_auto(x):
    """Compiled by jit='auto' when Numba is there; the test of a missing Numba uses it."""
    for _ in range(4):
        x = np.cos(x) + x * 0.5
    return x


def sine_loop(x):
    """An array to an array, for jvp, vjp and the Jacobians."""
    y = x
    for _ in range(3):
        y = np.sin(y) * x + y * 0.5
    return y


def sine_loop_sum(x):
    """An array loop for jit='auto', which times its two versions on the first calls; and
    a helper with a loop, whose pullback runs the reverse loop over a range it saved."""
    return np.sum(sine_loop(x))


def mean_loss(w, X, y):
    """np.mean's gradient reads the size of its input (size_of)."""
    return np.mean((np.tanh(X @ w) - y) ** 2)


def outer_broadcasts(x, y):
    """Broadcasts that stretch axes of length 1 on both sides, and add leading axes:
    unbroadcast sums the cotangents back (x (3, 1, 4), y (3, 1, 5, 1))."""
    total = 0.0
    for _ in range(2):
        total = total + np.sum(np.tanh(x * y)) + np.sum(x[:, None] * 0.5 + y)
    return total


def shrinking(x):
    """The array the loop saves loses an item each step: the Numba version's storage has
    one row shape, and stops at run time."""
    y = x
    for _ in range(2):
        y = np.sin(y[1:]) * 2.0
    return np.sum(y)


def takes_function(x, g):
    y = x
    for _ in range(2):
        y = y * g(y)
    return y
