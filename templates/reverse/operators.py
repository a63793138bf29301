"""Reverse-mode rules of the products and powers among Python's arithmetic operators.

The other operators are declared by their derivatives in ``templates/operators.py``.
``a * b`` on arrays *is* ``np.multiply(a, b)``, so each rule serves both. Operators bind their
arguments by position, so the parameter names follow NumPy (``x1``, ``x2``). Broadcasting
is undone with ``unbroadcast``. ``np.matmul`` and ``@`` live with the linear algebra rules.

    z = x * y     ->    dx = unbroadcast(dz * y, x);  dy = unbroadcast(dz * x, y)
"""
import operator

import numpy as np

from s2s.runtime.numpy_helpers import power_dbase, power_dexponent, unbroadcast
from s2s.rules import adjoint, static


@adjoint(operator.mul, np.multiply)
def multiply(x1, x2):
    dx1 = unbroadcast(dresult * x2, x1)
    dx2 = unbroadcast(dresult * x1, x2)


@adjoint(operator.pow, np.power)
def power(x1, x2):
    # a constant exponent (x ** 2) gets the closed form; the exponent's cotangent is
    # defined for x1 > 0, see power_dexponent
    if static(x2 == 1):
        dx1 = dresult
    elif static(x2 == 2):
        dx1 = dresult * (2 * x1)
    elif static(x2 != 0):
        dx1 = dresult * (x2 * x1 ** (x2 - 1))
    else:
        dx1 = unbroadcast(dresult * power_dbase(x1, x2), x1)
    dx2 = unbroadcast(dresult * power_dexponent(x1, result), x2)

