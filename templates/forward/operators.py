"""Forward-mode rules of the products and powers among Python's arithmetic operators.

The other operators are declared by their derivatives in ``templates/operators.py``.
``a * b`` on arrays *is* ``np.multiply(a, b)``, so each rule serves both. The tangent of the
result is a sum of terms, each linear in one operand's tangent; the engine drops the terms of
operands that carry no tangent.

    z = x * y     ->    dz = dx * y + x * dy
"""
import operator

import numpy as np

from s2s.runtime.numpy_helpers import power_dbase, power_dexponent
from s2s.rules import static, tangent


@tangent(operator.mul, np.multiply)
def multiply(x1, x2):
    dresult = dx1 * x2 + x1 * dx2


@tangent(operator.pow, np.power)
def power(x1, x2):
    # the exponent's term is defined for x1 > 0; see power_dexponent
    if static(x2 == 2):
        dresult = dx1 * (2 * x1)
    elif static(x2 == 1):
        dresult = dx1
    else:
        dresult = dx1 * power_dbase(x1, x2) + dx2 * power_dexponent(x1, result)


@tangent(operator.matmul, np.matmul)
def matmul(x1, x2):
    dresult = dx1 @ x2 + x1 @ dx2
