"""Hand-written NumPy gradients of the functions in ``workloads.py``: the yardstick.

Each ``grad_<name>`` takes the same arguments as the workload and returns what
``s2s.grad(<name>, grad_position=...)`` returns: one gradient for an int position, a tuple for
a tuple of positions. They are written the way a careful person would: the forward pass keeps
what the backward pass needs, then the chain rule runs backwards once, with no AD machinery.
``run.py`` checks every one against central finite differences before timing anything.
"""
import math

import numpy as np

from workloads import DT, STEPS


def grad_scalar_loop(y):
    ys = []
    for _ in range(100):
        ys.append(y)
        y = y * 0.99 + math.sin(y) * 0.1
    dy = 1.0
    for y in reversed(ys):
        dy = dy * (0.99 + 0.1 * math.cos(y))
    return dy


def grad_mlp_loss(W1, b1, W2, b2, X, Y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    dprediction = (2.0 / prediction.size) * (prediction - Y)
    dW2 = hidden.T @ dprediction
    db2 = dprediction.sum(axis=0)
    dpreactivation = (dprediction @ W2.T) * (1.0 - hidden * hidden)
    dW1 = X.T @ dpreactivation
    db1 = dpreactivation.sum(axis=0)
    return dW1, db1, dW2, db2


def grad_elementwise(x):
    t = np.tanh(x)
    # d/dx [tanh(x) x^2] = (1 - tanh^2) x^2 + 2 tanh(x) x
    return x * ((1.0 - t * t) * x + 2.0 * t)


def grad_rnn_loss(Wh, Wx, xs, h0):
    hs = [h0]                                   # hs[t] is the state before step t
    for x_t in xs:
        hs.append(np.tanh(hs[-1] @ Wh + x_t @ Wx))
    dWh = np.zeros_like(Wh)
    dWx = np.zeros_like(Wx)
    dh = 2.0 * hs[-1]
    for t in range(len(xs) - 1, -1, -1):        # backpropagation through time
        dpreactivation = dh * (1.0 - hs[t + 1] * hs[t + 1])
        dWh += hs[t].T @ dpreactivation
        dWx += xs[t].T @ dpreactivation
        dh = dpreactivation @ Wh.T
    return dWh, dWx


def grad_euler_oscillators(stiffness, damping, x0, v0):
    xs = []                                     # the state before each step
    vs = []
    x = x0
    v = v0
    for _ in range(STEPS):
        xs.append(x)
        vs.append(v)
        acceleration = -stiffness * x - damping * v
        x = x + DT * v
        v = v + DT * acceleration
    # loss = 0.5 * sum(k x^2 + v^2) on the final state
    dstiffness = 0.5 * x * x
    ddamping = np.zeros_like(damping)
    dx = stiffness * x
    dv = v
    for t in range(STEPS - 1, -1, -1):
        dacceleration = DT * dv
        dstiffness = dstiffness - dacceleration * xs[t]
        ddamping = ddamping - dacceleration * vs[t]
        dx, dv = dx - stiffness * dacceleration, dv + DT * dx - damping * dacceleration
    return dstiffness, ddamping


def grad_logistic_loss(w, b, X, y):
    margins = y * (X @ w + b)
    # d/dm log(1 + exp(-m)) = -1 / (1 + exp(m)) = -exp(-logaddexp(0, m)): finite for any m
    dmargins = -np.exp(-np.logaddexp(0.0, margins)) / margins.size
    dz = y * dmargins
    return X.T @ dz, np.sum(dz)


def grad_linear_recurrence(a, u):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    dout = np.ones_like(u)                      # from np.sum(out)
    da = 0.0
    for i in range(len(u) - 1, 0, -1):
        da += dout[i] * out[i - 1]
        dout[i - 1] += dout[i] * a
    return da, dout                             # u[i] enters out[i] with weight 1


def grad_tiny(x, y):
    return y.copy()
