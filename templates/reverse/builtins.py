"""Reverse-mode rules of Python built-in functions.

The rule functions here are named after the built-ins they differentiate (``sum``, ``max``,
``float``...), which shadows those built-ins in this module: rule bodies must not call them.

    y = max(a, b)     ->    da = share_among_args(dy, y, (a, b))[0]; ...
"""
import builtins

from s2s.runtime import items_cotangent, unsort
from s2s.runtime.numpy_helpers import (match_dtype, power_dbase, power_dexponent, share_among_args,
                               split_sum, unbroadcast)
from s2s.rules import adjoint


@adjoint(builtins.pow)
def pow(base, exp, mod=None):
    # the exponent's cotangent is defined for base > 0; see power_dexponent
    dbase = unbroadcast(dresult * power_dbase(base, exp), base)
    dexp = unbroadcast(dresult * power_dexponent(base, result), exp)


@adjoint(builtins.sum)
def sum(iterable, start=0):
    diterable = split_sum(dresult, iterable)
    dstart = unbroadcast(dresult, start)


@adjoint(builtins.max, builtins.min)
def max(*args):
    # ties share the cotangent evenly, as the max/min reductions do
    dargs = share_among_args(dresult, result, args)


@adjoint(builtins.float)
def float(x=0.0):
    dx = match_dtype(dresult, x)



@adjoint(builtins.sorted)
def sorted(iterable, *, key=None, reverse=False):
    # each item gets the cotangent of the place it was sorted to
    diterable = unsort(dresult, iterable, key, reverse)


@adjoint(builtins.list, builtins.tuple)
def list(iterable=()):
    diterable = items_cotangent(dresult, iterable)
