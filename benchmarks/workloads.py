"""The benchmarked functions, written as plain NumPy user code, and their inputs.

s2s reads the source of these functions, so they live in a real module and are written the way
a NumPy user would write them: Python loops, ``math`` on Python floats, in-place writes into
arrays. Nothing here knows about any AD tool. Their hand-written gradients are in
``handwritten.py``.

Each ``*_inputs(small)`` returns the arguments in float64: the benchmark size, or with
``small=True`` a tiny instance (all dimensions different) on which the hand-written gradient
is checked coordinate by coordinate against finite differences.
"""
import linecache
import math

import numpy as np

DT = 0.01           # time step of the Euler integration
STEPS = 1000        # number of Euler steps


def scalar_loop(y):
    # math.sin, not np.sin: y is a Python float, and this is what one writes for floats
    for _ in range(100):
        y = y * 0.99 + math.sin(y) * 0.1
    return y


def mlp_loss(W1, b1, W2, b2, X, Y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    return np.mean((prediction - Y) ** 2)


def elementwise(x):
    return np.sum(np.tanh(x) * x ** 2)


def rnn_loss(Wh, Wx, xs, h0):
    h = h0
    for x_t in xs:
        h = np.tanh(h @ Wh + x_t @ Wx)
    return np.sum(h ** 2)


def euler_oscillators(stiffness, damping, x0, v0):
    """Final energy of damped oscillators x'' = -k x - c x', integrated by explicit Euler."""
    x = x0
    v = v0
    for _ in range(STEPS):
        acceleration = -stiffness * x - damping * v
        x = x + DT * v
        v = v + DT * acceleration
    return 0.5 * np.sum(stiffness * x ** 2 + v ** 2)


def logistic_loss(w, b, X, y):
    """Mean logistic loss for labels y in {-1, +1}; logaddexp keeps it finite for any margin."""
    margins = y * (X @ w + b)
    return np.mean(np.logaddexp(0.0, -margins))


def linear_recurrence(a, u):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    return np.sum(out)


def tiny(x, y):
    """A near-empty function, to measure the fixed cost around the generated code."""
    return np.sum(x * y)


def straight_line(statements):
    """A function of ``statements`` lines ``y = np.sin(y) * 0.5 + y * c`` and a sum, for the
    transform time by function size. Its source is registered with linecache, as a module's
    source would be, so that s2s can read it."""
    lines = ["def straight_line(x, c):", "    y = x"]
    lines += ["    y = np.sin(y) * 0.5 + y * c"] * statements
    lines += ["    return np.sum(y)"]
    source = "\n".join(lines) + "\n"
    filename = f"<benchmarks straight_line {statements}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["straight_line"]


def straight_line_inputs():
    return (np.linspace(0.1, 1.0, 4), 0.3)


# -- inputs ----------------------------------------------------------------------------------
def _rng():
    return np.random.default_rng(0)


def scalar_loop_inputs(small=False):
    return (0.5,)


def mlp_inputs(small=False):
    batch, n_in, n_hidden, n_out = (4, 5, 6, 3) if small else (32, 64, 128, 10)
    rng = _rng()
    return (rng.normal(size=(n_in, n_hidden)) / math.sqrt(n_in),
            rng.normal(size=n_hidden) * 0.1,
            rng.normal(size=(n_hidden, n_out)) / math.sqrt(n_hidden),
            rng.normal(size=n_out) * 0.1,
            rng.normal(size=(batch, n_in)),
            rng.normal(size=(batch, n_out)))


def elementwise_inputs(small=False):
    return (_rng().normal(size=7 if small else 10 ** 6),)


def rnn_inputs(small=False):
    steps, batch, n_in, n_state = (3, 2, 4, 5) if small else (50, 16, 8, 32)
    rng = _rng()
    return (rng.normal(size=(n_state, n_state)) / math.sqrt(n_state),
            rng.normal(size=(n_in, n_state)) / math.sqrt(n_in),
            rng.normal(size=(steps, batch, n_in)),
            rng.normal(size=(batch, n_state)) * 0.5)


def euler_inputs(small=False):
    n = 3 if small else 64
    rng = _rng()
    return (rng.uniform(1.0, 4.0, size=n),     # stiffness
            rng.uniform(0.1, 0.5, size=n),     # damping
            rng.normal(size=n),                # initial position
            rng.normal(size=n))                # initial velocity


def logistic_inputs(small=False):
    n, d = (6, 4) if small else (4096, 64)
    rng = _rng()
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + rng.normal(size=n) > 0.0, 1.0, -1.0)
    return (rng.normal(size=d) * 0.1, 0.2, X, y)


def recurrence_inputs(small=False):
    return (0.9, _rng().normal(size=6 if small else 1000))


def tiny_inputs(small=False):
    rng = _rng()
    return (rng.normal(size=4), rng.normal(size=4))
