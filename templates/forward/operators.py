"""Forward-mode (tangent) rules of Python's arithmetic operators and their NumPy ufunc twins.

``a * b`` on arrays *is* ``np.multiply(a, b)``, so each rule serves both. The tangent of the
result is a sum of terms, each linear in one operand's tangent; the engine drops the terms of
operands that carry no tangent.

    z = x * y     ->    dz = dx * y + x * dy
"""
import operator

import numpy as np

from s2s.runtime.numpy_helpers import power_dbase, power_dexponent
from s2s.rules import static, tangent


@tangent(operator.add, np.add)
def add(x1, x2):
    dresult = dx1 + dx2


@tangent(operator.sub, np.subtract)
def subtract(x1, x2):
    dresult = dx1 - dx2


@tangent(operator.mul, np.multiply)
def multiply(x1, x2):
    dresult = dx1 * x2 + x1 * dx2


@tangent(operator.truediv, np.divide)
def divide(x1, x2):
    # d(x1 / x2) = dx1 / x2 - dx2 * x1 / x2**2, with x1 / x2 already in result
    dresult = dx1 / x2 - dx2 * (result / x2)


@tangent(operator.mod, np.mod)
def mod(x1, x2):
    # x1 % x2 == x1 - floor(x1 / x2) * x2, and the floor is locally constant
    dresult = dx1 - dx2 * np.floor_divide(x1, x2)


@tangent(operator.pow, np.power)
def power(x1, x2):
    # the exponent's term is defined for x1 > 0; see power_dexponent
    if static(x2 == 2):
        dresult = dx1 * (2 * x1)
    elif static(x2 == 1):
        dresult = dx1
    else:
        dresult = dx1 * power_dbase(x1, x2) + dx2 * power_dexponent(x1, result)


@tangent(operator.neg, np.negative)
def negative(x):
    dresult = -dx


@tangent(operator.pos, np.positive)
def positive(x):
    dresult = dx


@tangent(operator.matmul, np.matmul)
def matmul(x1, x2):
    dresult = dx1 @ x2 + x1 @ dx2
