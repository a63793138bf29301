"""Python's arithmetic operators and their NumPy ufunc twins, declared by their derivatives.

``a + b`` on arrays *is* ``np.add(a, b)``, so each declaration serves both; operators bind
their arguments by position, so the parameters follow NumPy (``x1``, ``x2``). Both rules are
written from the partials (see ``s2s.rules.derivative``); each cotangent is unbroadcast to
its operand's shape:

    z = x / y     ->    reverse:  dx = unbroadcast(dz / y, x);  dy = unbroadcast(-dz * z / y, y)
                        forward:  dz = dx / y - dy * (z / y)

Products and powers, whose rules are specialized by hand, are in reverse/ and forward/.
"""
import operator

import numpy as np

from s2s.rules import derivative


@derivative(operator.add, np.add)
def add(x1, x2):
    return 1.0, 1.0


@derivative(operator.sub, np.subtract)
def subtract(x1, x2):
    return 1.0, -1.0


@derivative(operator.truediv, np.divide)
def divide(x1, x2):
    # d(x1 / x2) / dx2 = -x1 / x2**2, with x1 / x2 already in result
    return 1.0 / x2, -result / x2


@derivative(operator.mod, np.mod)
def mod(x1, x2):
    # x1 % x2 == x1 - floor(x1 / x2) * x2, and the floor is locally constant
    return 1.0, -np.floor_divide(x1, x2)


@derivative(operator.neg, np.negative)
def negative(x):
    return -1.0


@derivative(operator.pos, np.positive)
def positive(x):
    return 1.0
