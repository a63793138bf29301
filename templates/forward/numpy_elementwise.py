"""Forward-mode (tangent) rules of NumPy's elementwise functions (ufuncs and a few friends).

Unary rules multiply the operand's tangent by the derivative; binary rules add one term per
operand. Constants are Python floats so that float32 stays float32. Ties of maximum/minimum
and the bounds of clip follow the reverse rules (a tie shares evenly), so both modes agree.

    y = np.tanh(x)     ->    dy = dx * (1.0 - y * y)
"""
import math

import numpy as np

from s2s.runtime.numpy_helpers import extremum_share, power_dbase, power_dexponent
from s2s.rules import tangent


@tangent(np.sin)
def sin(x):
    dresult = dx * np.cos(x)


@tangent(np.cos)
def cos(x):
    dresult = -dx * np.sin(x)


@tangent(np.tan)
def tan(x):
    dresult = dx * (1.0 + result * result)


@tangent(np.arcsin)
def arcsin(x):
    dresult = dx / np.sqrt(1.0 - x * x)


@tangent(np.arccos)
def arccos(x):
    dresult = -dx / np.sqrt(1.0 - x * x)


@tangent(np.arctan)
def arctan(x):
    dresult = dx / (1.0 + x * x)


@tangent(np.arctan2)
def arctan2(x1, x2):
    # arctan2(y, x): x1 is y, x2 is x
    squared_radius = x1 * x1 + x2 * x2
    dresult = dx1 * (x2 / squared_radius) - dx2 * (x1 / squared_radius)


@tangent(np.sinh)
def sinh(x):
    dresult = dx * np.cosh(x)


@tangent(np.cosh)
def cosh(x):
    dresult = dx * np.sinh(x)


@tangent(np.tanh)
def tanh(x):
    dresult = dx * (1.0 - result * result)


@tangent(np.arcsinh)
def arcsinh(x):
    dresult = dx / np.sqrt(x * x + 1.0)


@tangent(np.arccosh)
def arccosh(x):
    dresult = dx / np.sqrt(x * x - 1.0)


@tangent(np.arctanh)
def arctanh(x):
    dresult = dx / (1.0 - x * x)


@tangent(np.exp)
def exp(x):
    dresult = dx * result


@tangent(np.exp2)
def exp2(x):
    dresult = dx * (result * math.log(2.0))


@tangent(np.expm1)
def expm1(x):
    dresult = dx * (result + 1.0)


@tangent(np.log)
def log(x):
    dresult = dx / x


@tangent(np.log2)
def log2(x):
    dresult = dx / (x * math.log(2.0))


@tangent(np.log10)
def log10(x):
    dresult = dx / (x * math.log(10.0))


@tangent(np.log1p)
def log1p(x):
    dresult = dx / (1.0 + x)


@tangent(np.sqrt)
def sqrt(x):
    dresult = dx * (0.5 / result)


@tangent(np.cbrt)
def cbrt(x):
    dresult = dx / (3.0 * result * result)


@tangent(np.square)
def square(x):
    dresult = dx * (2.0 * x)


@tangent(np.reciprocal)
def reciprocal(x):
    dresult = -dx * (result * result)


@tangent(np.absolute)
def absolute(x):
    # the kink at 0 gets derivative 0
    dresult = dx * np.sign(x)


@tangent(np.sinc)
def sinc(x):
    # sinc(x) = sin(pi x) / (pi x); the derivative (cos(pi x) - sinc(x)) / x is 0 at x = 0
    dresult = dx * ((np.cos(math.pi * x) - result) / np.where(x == 0, 1.0, x))


@tangent(np.deg2rad, np.radians)
def deg2rad(x):
    dresult = dx * (math.pi / 180.0)


@tangent(np.rad2deg, np.degrees)
def rad2deg(x):
    dresult = dx * (180.0 / math.pi)


@tangent(np.float_power)
def float_power(x1, x2):
    dresult = dx1 * power_dbase(x1, x2) + dx2 * power_dexponent(x1, result)


@tangent(np.fmod)
def fmod(x1, x2):
    # fmod(x1, x2) == x1 - trunc(x1 / x2) * x2, and the trunc is locally constant
    dresult = dx1 - dx2 * np.trunc(x1 / x2)


@tangent(np.maximum, np.minimum, np.fmax, np.fmin)
def maximum(x1, x2):
    # the operand equal to the result passes its tangent; on a tie each passes half
    dresult = extremum_share(dx1, x1, x2, result) + extremum_share(dx2, x2, x1, result)


@tangent(np.clip)
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    # a passes through where it is inside the bounds; elsewhere the bound it hit is the result
    dresult = (np.where(a == result, da, 0.0) + np.where(a < result, da_min, 0.0)
               + np.where(a > result, da_max, 0.0) + np.where(a < result, dmin, 0.0)
               + np.where(a > result, dmax, 0.0))


@tangent(np.where)
def where(condition, x=None, y=None):
    dresult = np.where(condition, dx, dy)


@tangent(np.logaddexp)
def logaddexp(x1, x2):
    # d/dx1 log(e^x1 + e^x2) = e^(x1 - result)
    dresult = dx1 * np.exp(x1 - result) + dx2 * np.exp(x2 - result)


@tangent(np.logaddexp2)
def logaddexp2(x1, x2):
    dresult = dx1 * np.exp2(x1 - result) + dx2 * np.exp2(x2 - result)


@tangent(np.hypot)
def hypot(x1, x2):
    dresult = dx1 * (x1 / result) + dx2 * (x2 / result)
