"""Straight-line NumPy code: a small regression loss and friends."""
import numpy as np

SCALE = 0.5
OFFSET = (1.0, -2.0)


def loss(w, x, y):
    pred = np.tanh(x @ w)
    err = pred - y
    return SCALE * np.mean(err ** 2)


def softplus(x):
    return np.sum(np.log1p(np.exp(x)) + OFFSET[0] * x)


def two_outputs(a, b):
    return np.sin(a) * b, a * b
