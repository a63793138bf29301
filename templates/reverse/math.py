"""Reverse-mode rules of the ``math`` module: scalar functions of Python floats.

Cotangents stay Python floats where the derivative is written with ``math``; a few rules use a
NumPy helper and give a NumPy float64 scalar instead (a ``float`` subclass).

    y = math.sin(x)     ->    dx = dy * math.cos(x)
"""
import math

import numpy as np

from s2s.runtime.numpy_helpers import power_dbase, power_dexponent
from s2s.rules import adjoint, nondifferentiable


@adjoint(math.sin)
def sin(x):
    dx = dresult * math.cos(x)


@adjoint(math.cos)
def cos(x):
    dx = -dresult * math.sin(x)


@adjoint(math.tan)
def tan(x):
    dx = dresult * (1.0 + result * result)


@adjoint(math.asin)
def asin(x):
    dx = dresult / math.sqrt(1.0 - x * x)


@adjoint(math.acos)
def acos(x):
    dx = -dresult / math.sqrt(1.0 - x * x)


@adjoint(math.atan)
def atan(x):
    dx = dresult / (1.0 + x * x)


@adjoint(math.atan2)
def atan2(y, x):
    squared_radius = x * x + y * y
    dy = dresult * x / squared_radius
    dx = -dresult * y / squared_radius


@adjoint(math.sinh)
def sinh(x):
    dx = dresult * math.cosh(x)


@adjoint(math.cosh)
def cosh(x):
    dx = dresult * math.sinh(x)


@adjoint(math.tanh)
def tanh(x):
    dx = dresult * (1.0 - result * result)


@adjoint(math.asinh)
def asinh(x):
    dx = dresult / math.sqrt(x * x + 1.0)


@adjoint(math.acosh)
def acosh(x):
    dx = dresult / math.sqrt(x * x - 1.0)


@adjoint(math.atanh)
def atanh(x):
    dx = dresult / (1.0 - x * x)


@adjoint(math.exp)
def exp(x):
    dx = dresult * result


@adjoint(math.expm1)
def expm1(x):
    dx = dresult * (result + 1.0)


@adjoint(math.log)
def log(x, base=None):
    if base is None:
        dx = dresult / x
    else:
        # log(x, b) = ln x / ln b
        dx = dresult / (x * math.log(base))
        dbase = -dresult * result / (base * math.log(base))


@adjoint(math.log2)
def log2(x):
    dx = dresult / (x * math.log(2.0))


@adjoint(math.log10)
def log10(x):
    dx = dresult / (x * math.log(10.0))


@adjoint(math.log1p)
def log1p(x):
    dx = dresult / (1.0 + x)


@adjoint(math.sqrt)
def sqrt(x):
    dx = dresult * 0.5 / result


@adjoint(math.pow)
def pow(x, y):
    # the exponent's cotangent is defined for x > 0; see power_dexponent
    dx = dresult * power_dbase(x, y)
    dy = dresult * power_dexponent(x, result)


@adjoint(math.fabs)
def fabs(x):
    # the kink at 0 gets gradient 0
    dx = dresult * np.sign(x)


@adjoint(math.copysign)
def copysign(x, y):
    # |x| with the sign of y; the sign of y is locally constant
    dx = dresult * np.sign(x) * math.copysign(1.0, y)


@adjoint(math.hypot)
def hypot(*coordinates):
    # d|v|/dv_i = v_i / |v|, for any number of coordinates
    dcoordinates = np.multiply(coordinates, dresult / result).tolist()


@adjoint(math.erf)
def erf(x):
    dx = dresult * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@adjoint(math.erfc)
def erfc(x):
    dx = -dresult * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@adjoint(math.degrees)
def degrees(x):
    dx = dresult * (180.0 / math.pi)


@adjoint(math.radians)
def radians(x):
    dx = dresult * (math.pi / 180.0)


nondifferentiable(
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
    math.isclose, math.factorial, math.gcd, math.comb, math.perm, math.isqrt,
)
