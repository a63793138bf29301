"""Elementwise functions of NumPy, ``math`` and the built-ins, declared by their derivatives.

Each declaration returns the partial derivative in each parameter, reading ``result`` for the
function's value; ``s2s.rules.derivative`` writes both rules from it:

    @derivative(np.tanh, math.tanh)              y = np.tanh(x)
    def tanh(x):                          ->     reverse:  dx = dy * (1.0 - y * y)
        return 1.0 - result * result             forward:  dy = dx * (1.0 - y * y)

A NumPy function and its ``math`` twin share a declaration when the derivative calls neither
module (``math.sin`` differentiates with ``math.cos``, so that a float stays a float).
Constants are Python floats so that float32 stays float32. Functions whose two modes differ
(maxima, clip, where, math.log with a base) have hand-written rules in reverse/ and forward/.
"""
import math

import numpy as np

from s2s.runtime.numpy_helpers import power_dbase, power_dexponent
from s2s.rules import derivative


# --- NumPy and math alike -----------------------------------------------------------------

@derivative(np.tan, math.tan)
def tan(x):
    return 1.0 + result * result


@derivative(np.arctan, math.atan)
def arctan(x):
    return 1.0 / (1.0 + x * x)


@derivative(np.tanh, math.tanh)
def tanh(x):
    return 1.0 - result * result


@derivative(np.arctanh, math.atanh)
def arctanh(x):
    return 1.0 / (1.0 - x * x)


@derivative(np.exp, math.exp)
def exp(x):
    return result


@derivative(np.expm1, math.expm1)
def expm1(x):
    return result + 1.0


@derivative(np.log2, math.log2)
def log2(x):
    return 1.0 / (x * math.log(2.0))


@derivative(np.log10, math.log10)
def log10(x):
    return 1.0 / (x * math.log(10.0))


@derivative(np.log1p, math.log1p)
def log1p(x):
    return 1.0 / (1.0 + x)


@derivative(np.sqrt, math.sqrt)
def sqrt(x):
    return 0.5 / result


@derivative(np.fabs, math.fabs)
def fabs(x):
    # the kink at 0 gets derivative 0 (np.absolute and abs take complex numbers too: their
    # rules are in reverse/complex.py and forward/complex.py)
    return np.sign(x)


@derivative(np.deg2rad, np.radians, math.radians)
def deg2rad(x):
    return math.pi / 180.0


@derivative(np.rad2deg, np.degrees, math.degrees)
def rad2deg(x):
    return 180.0 / math.pi


# --- NumPy ----------------------------------------------------------------------------------

@derivative(np.sin)
def sin(x):
    return np.cos(x)


@derivative(np.cos)
def cos(x):
    return -np.sin(x)


@derivative(np.arcsin)
def arcsin(x):
    return 1.0 / np.sqrt(1.0 - x * x)


@derivative(np.arccos)
def arccos(x):
    return -1.0 / np.sqrt(1.0 - x * x)


@derivative(np.arctan2)
def arctan2(x1, x2):
    # arctan2(y, x): x1 is y, x2 is x
    squared_radius = x1 * x1 + x2 * x2
    return x2 / squared_radius, -x1 / squared_radius


@derivative(np.sinh)
def sinh(x):
    return np.cosh(x)


@derivative(np.cosh)
def cosh(x):
    return np.sinh(x)


@derivative(np.arcsinh)
def arcsinh(x):
    return 1.0 / np.sqrt(x * x + 1.0)


@derivative(np.arccosh)
def arccosh(x):
    return 1.0 / np.sqrt(x * x - 1.0)


@derivative(np.exp2)
def exp2(x):
    return result * math.log(2.0)


@derivative(np.log)
def log(x):
    return 1.0 / x


@derivative(np.cbrt)
def cbrt(x):
    return 1.0 / (3.0 * result * result)


@derivative(np.square)
def square(x):
    return 2.0 * x


@derivative(np.reciprocal)
def reciprocal(x):
    return -result * result


@derivative(np.sinc)
def sinc(x):
    # sinc(x) = sin(pi x) / (pi x); the derivative (cos(pi x) - sinc(x)) / x is -pi**2 x / 3
    # near 0: at x = 0 it is written so, to be 0 with the right derivative (the second of sinc)
    return np.where(x == 0, -3.289868133696453 * x,
                    (np.cos(math.pi * x) - result) / np.where(x == 0, 1.0, x))


@derivative(np.float_power)
def float_power(x1, x2):
    # float_power computes in float64; unbroadcast casts the cotangents back. The exponent's
    # partial is defined for x1 > 0; see power_dexponent
    return power_dbase(x1, x2), power_dexponent(x1, result)


@derivative(np.fmod)
def fmod(x1, x2):
    # fmod(x1, x2) == x1 - trunc(x1 / x2) * x2, and the trunc is locally constant
    return 1.0, -np.trunc(x1 / x2)


@derivative(np.logaddexp)
def logaddexp(x1, x2):
    # d/dx1 log(e^x1 + e^x2) = e^x1 / (e^x1 + e^x2) = e^(x1 - result)
    return np.exp(x1 - result), np.exp(x2 - result)


@derivative(np.logaddexp2)
def logaddexp2(x1, x2):
    return np.exp2(x1 - result), np.exp2(x2 - result)


@derivative(np.hypot)
def hypot(x1, x2):
    return x1 / result, x2 / result


# --- math -----------------------------------------------------------------------------------

@derivative(math.sin)
def math_sin(x):
    return math.cos(x)


@derivative(math.cos)
def math_cos(x):
    return -math.sin(x)


@derivative(math.asin)
def asin(x):
    return 1.0 / math.sqrt(1.0 - x * x)


@derivative(math.acos)
def acos(x):
    return -1.0 / math.sqrt(1.0 - x * x)


@derivative(math.atan2)
def atan2(y, x):
    squared_radius = x * x + y * y
    return x / squared_radius, -y / squared_radius


@derivative(math.sinh)
def math_sinh(x):
    return math.cosh(x)


@derivative(math.cosh)
def math_cosh(x):
    return math.sinh(x)


@derivative(math.asinh)
def asinh(x):
    return 1.0 / math.sqrt(x * x + 1.0)


@derivative(math.acosh)
def acosh(x):
    return 1.0 / math.sqrt(x * x - 1.0)


@derivative(math.pow)
def pow(x, y):
    # the exponent's partial is defined for x > 0; see power_dexponent
    return power_dbase(x, y), power_dexponent(x, result)


@derivative(math.copysign)
def copysign(x, y):
    # |x| with the sign of y; the sign of y is locally constant
    return np.sign(x) * math.copysign(1.0, y), None


@derivative(math.erf)
def erf(x):
    return (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@derivative(math.erfc)
def erfc(x):
    return -(2.0 / math.sqrt(math.pi)) * math.exp(-x * x)
