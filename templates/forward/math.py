"""Forward-mode (tangent) rules of the ``math`` module: scalar functions of Python floats.

    y = math.sin(x)     ->    dy = dx * math.cos(x)
"""
import math

import numpy as np

from s2s.runtime.numpy_helpers import power_dbase, power_dexponent
from s2s.rules import tangent


@tangent(math.sin)
def sin(x):
    dresult = dx * math.cos(x)


@tangent(math.cos)
def cos(x):
    dresult = -dx * math.sin(x)


@tangent(math.tan)
def tan(x):
    dresult = dx * (1.0 + result * result)


@tangent(math.asin)
def asin(x):
    dresult = dx / math.sqrt(1.0 - x * x)


@tangent(math.acos)
def acos(x):
    dresult = -dx / math.sqrt(1.0 - x * x)


@tangent(math.atan)
def atan(x):
    dresult = dx / (1.0 + x * x)


@tangent(math.atan2)
def atan2(y, x):
    squared_radius = x * x + y * y
    dresult = dy * (x / squared_radius) - dx * (y / squared_radius)


@tangent(math.sinh)
def sinh(x):
    dresult = dx * math.cosh(x)


@tangent(math.cosh)
def cosh(x):
    dresult = dx * math.sinh(x)


@tangent(math.tanh)
def tanh(x):
    dresult = dx * (1.0 - result * result)


@tangent(math.asinh)
def asinh(x):
    dresult = dx / math.sqrt(x * x + 1.0)


@tangent(math.acosh)
def acosh(x):
    dresult = dx / math.sqrt(x * x - 1.0)


@tangent(math.atanh)
def atanh(x):
    dresult = dx / (1.0 - x * x)


@tangent(math.exp)
def exp(x):
    dresult = dx * result


@tangent(math.expm1)
def expm1(x):
    dresult = dx * (result + 1.0)


@tangent(math.log)
def log(x, base=None):
    if base is None:
        dresult = dx / x
    else:
        # log(x, b) = ln x / ln b
        dresult = dx / (x * math.log(base)) - dbase * (result / (base * math.log(base)))


@tangent(math.log2)
def log2(x):
    dresult = dx / (x * math.log(2.0))


@tangent(math.log10)
def log10(x):
    dresult = dx / (x * math.log(10.0))


@tangent(math.log1p)
def log1p(x):
    dresult = dx / (1.0 + x)


@tangent(math.sqrt)
def sqrt(x):
    dresult = dx * (0.5 / result)


@tangent(math.pow)
def pow(x, y):
    # the exponent's term is defined for x > 0; see power_dexponent
    dresult = dx * power_dbase(x, y) + dy * power_dexponent(x, result)


@tangent(math.fabs)
def fabs(x):
    # the kink at 0 gets derivative 0
    dresult = dx * np.sign(x)


@tangent(math.copysign)
def copysign(x, y):
    # |x| with the sign of y; the sign of y is locally constant
    dresult = dx * (np.sign(x) * math.copysign(1.0, y))


@tangent(math.hypot)
def hypot(*coordinates):
    # d|v| = v . dv / |v|, for any number of coordinates
    dresult = np.dot(coordinates, dcoordinates) / result


@tangent(math.erf)
def erf(x):
    dresult = dx * ((2.0 / math.sqrt(math.pi)) * math.exp(-x * x))


@tangent(math.erfc)
def erfc(x):
    dresult = -dx * ((2.0 / math.sqrt(math.pi)) * math.exp(-x * x))


@tangent(math.degrees)
def degrees(x):
    dresult = dx * (180.0 / math.pi)


@tangent(math.radians)
def radians(x):
    dresult = dx * (math.pi / 180.0)
