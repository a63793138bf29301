"""Forward-mode (tangent) rules of Python built-in functions.

The rule functions here are named after the built-ins they differentiate (``sum``, ``max``,
``float``...), which shadows those built-ins in this module: rule bodies call them through
``builtins.``.

    y = max(a, b)     ->    dy = np.vdot(share_among_args(1.0, y, (a, b)), (da, db))
"""
import builtins

import numpy as np

from s2s.runtime import items_tangent, sorted_tangent
from s2s.runtime.numpy_helpers import (match_dtype, power_dbase, power_dexponent,
                                       share_among_args)
from s2s.rules import linear, tangent

linear(builtins.float)


@tangent(builtins.pow)
def pow(base, exp, mod=None):
    # the exponent's term is defined for base > 0; see power_dexponent
    dresult = dbase * power_dbase(base, exp) + dexp * power_dexponent(base, result)


@tangent(builtins.sum)
def sum(iterable, start=0):
    dresult = builtins.sum(diterable) + dstart


@tangent(builtins.max, builtins.min)
def max(*args):
    # the arguments equal to the result share it evenly, as in the reverse rule
    dresult = match_dtype(np.vdot(share_among_args(1.0, result, args), dargs), result)


@tangent(builtins.sorted)
def sorted(iterable, *, key=None, reverse=False):
    dresult = sorted_tangent(diterable, iterable, key, reverse)


@tangent(builtins.list)
def list(iterable=()):
    dresult = items_tangent(diterable, iterable, builtins.list)


@tangent(builtins.tuple)
def tuple(iterable=()):
    dresult = items_tangent(diterable, iterable, builtins.tuple)
