"""Branches on values, and the math module."""
import math

import numpy as np


def relu_square(x):
    if x > 0.0:
        y = x * x
    else:
        y = -x
    return y


def piecewise(x):
    if np.sum(x) > 1.0:
        out = np.sum(np.exp(x))
    else:
        out = np.sum(x ** 3)
    return out


def uses_math(t):
    return math.sin(t) * math.exp(t)
