"""Reverse-mode rules of NumPy's elementwise functions (ufuncs and a few friends).

Unary rules multiply ``dresult`` by the derivative; binary rules also ``unbroadcast`` each
cotangent to its operand's shape. Constants are Python floats so that float32 stays float32.
Arithmetic ufuncs that are also operators (``np.add``, ``np.multiply``, ``np.power``...) have
their rules in ``operators.py``.

    y = np.tanh(x)     ->    dx = dy * (1.0 - y * y)
"""
import math

import numpy as np

from s2s.runtime.numpy_helpers import extremum_share, power_dbase, power_dexponent, unbroadcast
from s2s.rules import adjoint


@adjoint(np.sin)
def sin(x):
    dx = dresult * np.cos(x)


@adjoint(np.cos)
def cos(x):
    dx = -dresult * np.sin(x)


@adjoint(np.tan)
def tan(x):
    dx = dresult * (1.0 + result * result)


@adjoint(np.arcsin)
def arcsin(x):
    dx = dresult / np.sqrt(1.0 - x * x)


@adjoint(np.arccos)
def arccos(x):
    dx = -dresult / np.sqrt(1.0 - x * x)


@adjoint(np.arctan)
def arctan(x):
    dx = dresult / (1.0 + x * x)


@adjoint(np.arctan2)
def arctan2(x1, x2):
    # arctan2(y, x): x1 is y, x2 is x
    squared_radius = x1 * x1 + x2 * x2
    dx1 = unbroadcast(dresult * x2 / squared_radius, x1)
    dx2 = unbroadcast(-dresult * x1 / squared_radius, x2)


@adjoint(np.sinh)
def sinh(x):
    dx = dresult * np.cosh(x)


@adjoint(np.cosh)
def cosh(x):
    dx = dresult * np.sinh(x)


@adjoint(np.tanh)
def tanh(x):
    dx = dresult * (1.0 - result * result)


@adjoint(np.arcsinh)
def arcsinh(x):
    dx = dresult / np.sqrt(x * x + 1.0)


@adjoint(np.arccosh)
def arccosh(x):
    dx = dresult / np.sqrt(x * x - 1.0)


@adjoint(np.arctanh)
def arctanh(x):
    dx = dresult / (1.0 - x * x)


@adjoint(np.exp)
def exp(x):
    dx = dresult * result


@adjoint(np.exp2)
def exp2(x):
    dx = dresult * result * math.log(2.0)


@adjoint(np.expm1)
def expm1(x):
    dx = dresult * (result + 1.0)


@adjoint(np.log)
def log(x):
    dx = dresult / x


@adjoint(np.log2)
def log2(x):
    dx = dresult / (x * math.log(2.0))


@adjoint(np.log10)
def log10(x):
    dx = dresult / (x * math.log(10.0))


@adjoint(np.log1p)
def log1p(x):
    dx = dresult / (1.0 + x)


@adjoint(np.sqrt)
def sqrt(x):
    dx = dresult * 0.5 / result


@adjoint(np.cbrt)
def cbrt(x):
    dx = dresult / (3.0 * result * result)


@adjoint(np.square)
def square(x):
    dx = dresult * 2.0 * x


@adjoint(np.reciprocal)
def reciprocal(x):
    dx = -dresult * result * result


@adjoint(np.absolute)
def absolute(x):
    # the kink at 0 gets gradient 0
    dx = dresult * np.sign(x)


@adjoint(np.sinc)
def sinc(x):
    # sinc(x) = sin(pi x) / (pi x); the derivative (cos(pi x) - sinc(x)) / x is 0 at x = 0
    dx = dresult * (np.cos(math.pi * x) - result) / np.where(x == 0, 1.0, x)


@adjoint(np.deg2rad, np.radians)
def deg2rad(x):
    dx = dresult * (math.pi / 180.0)


@adjoint(np.rad2deg, np.degrees)
def rad2deg(x):
    dx = dresult * (180.0 / math.pi)


@adjoint(np.float_power)
def float_power(x1, x2):
    # float_power computes in float64; unbroadcast casts the cotangents back
    dx1 = unbroadcast(dresult * power_dbase(x1, x2), x1)
    dx2 = unbroadcast(dresult * power_dexponent(x1, result), x2)


@adjoint(np.fmod)
def fmod(x1, x2):
    # fmod(x1, x2) == x1 - trunc(x1 / x2) * x2, and the trunc is locally constant
    dx1 = unbroadcast(dresult, x1)
    dx2 = unbroadcast(-dresult * np.trunc(x1 / x2), x2)


@adjoint(np.maximum, np.minimum, np.fmax, np.fmin)
def maximum(x1, x2):
    # the operand equal to the result takes the cotangent; on a tie each takes half
    dx1 = unbroadcast(extremum_share(dresult, x1, x2, result), x1)
    dx2 = unbroadcast(extremum_share(dresult, x2, x1, result), x2)


@adjoint(np.clip)
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    # a passes through where it is inside the bounds; elsewhere the bound it hit is the result
    da = unbroadcast(np.where(a == result, dresult, 0.0), a)
    da_min = unbroadcast(np.where(a < result, dresult, 0.0), a_min)
    da_max = unbroadcast(np.where(a > result, dresult, 0.0), a_max)
    dmin = unbroadcast(np.where(a < result, dresult, 0.0), min)
    dmax = unbroadcast(np.where(a > result, dresult, 0.0), max)


@adjoint(np.where)
def where(condition, x=None, y=None):
    # no gradient for the condition; np.where(condition) alone returns indices
    dx = unbroadcast(np.where(condition, dresult, 0.0), x)
    dy = unbroadcast(np.where(condition, 0.0, dresult), y)


@adjoint(np.logaddexp)
def logaddexp(x1, x2):
    # d/dx1 log(e^x1 + e^x2) = e^x1 / (e^x1 + e^x2) = e^(x1 - result)
    dx1 = unbroadcast(dresult * np.exp(x1 - result), x1)
    dx2 = unbroadcast(dresult * np.exp(x2 - result), x2)


@adjoint(np.logaddexp2)
def logaddexp2(x1, x2):
    dx1 = unbroadcast(dresult * np.exp2(x1 - result), x1)
    dx2 = unbroadcast(dresult * np.exp2(x2 - result), x2)


@adjoint(np.hypot)
def hypot(x1, x2):
    dx1 = unbroadcast(dresult * x1 / result, x1)
    dx2 = unbroadcast(dresult * x2 / result, x2)
