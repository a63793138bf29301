"""Reverse-mode rules of NumPy reductions and cumulative operations.

A reduction's cotangent gets its reduced axes back (``restore_reduced_axes``) and is then
broadcast over them (``expand_reduced``). ``axis`` may be None, an int, a negative int or a
tuple. Parameters that follow NumPy's unsupported ``out`` are keyword-only here, so a call
that passes ``out`` by position fails to bind instead of binding to the wrong parameter.

Max and min split the cotangent evenly among tied extrema (as autograd and JAX do), so the
gradient of ``np.max([1, 3, 3])`` is ``[0, 0.5, 0.5]``.

    s = np.sum(x, axis=1)     ->    dx = expand_reduced(ds, x, 1, False)
"""
import numpy as np

from s2s.runtime.numpy_helpers import (cumprod_adjoint, expand_reduced, match_dtype, prod_adjoint,
                               restore_reduced_axes, reverse_cumsum, share_among_extrema, size_of)
from s2s.rules import adjoint, static


@adjoint(np.sum)
def sum(a, axis=None, dtype=None, *, keepdims=False):
    da = expand_reduced(dresult, a, axis, keepdims)


@adjoint(np.nansum)
def nansum(a, axis=None, dtype=None, *, keepdims=False):
    da = ~np.isnan(a) * expand_reduced(dresult, a, axis, keepdims)


@adjoint(np.mean)
def mean(a, axis=None, dtype=None, *, keepdims=False):
    if static(axis is None):
        da = expand_reduced(dresult / size_of(a), a, axis, keepdims)
    else:
        da = expand_reduced(dresult * (size_of(result) / size_of(a)), a, axis, keepdims)


@adjoint(np.nanmean)
def nanmean(a, axis=None, dtype=None, *, keepdims=False):
    valid = ~np.isnan(a)
    count = np.sum(valid, axis=axis, keepdims=keepdims, dtype=result.dtype)
    da = valid * expand_reduced(dresult / count, a, axis, keepdims)


@adjoint(np.prod)
def prod(a, axis=None, dtype=None, *, keepdims=False):
    # exact when entries are zero; see prod_adjoint
    da = prod_adjoint(dresult, a, result, axis, keepdims)


@adjoint(np.max, np.min, np.amax, np.amin)
def max(a, axis=None, *, keepdims=False):
    da = share_among_extrema(dresult, a, result, axis, keepdims)


@adjoint(np.var)
def var(a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    # complex entries: var is the mean of |centered|**2, whose cotangent holds conj(centered)
    count = size_of(a) // size_of(result)
    centered = a - np.mean(a, axis=axis, keepdims=True)
    dsquares = restore_reduced_axes(np.real(dresult), a, axis, keepdims) * (2.0 / (count - ddof))
    da = match_dtype(dsquares * np.conj(centered), a)


@adjoint(np.std)
def std(a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    # d std = d var / (2 std); at zero deviation (every centered entry 0) the cotangent is 0,
    # the subgradient central differences see where no entry can move the std
    count = size_of(a) // size_of(result)
    centered = a - np.mean(a, axis=axis, keepdims=True)
    dsquares = restore_reduced_axes(np.real(dresult) / np.where(result == 0.0, 1.0, result), a,
                                    axis, keepdims) * (1.0 / (count - ddof))
    da = match_dtype(dsquares * np.conj(centered), a)


@adjoint(np.cumsum)
def cumsum(a, axis=None, dtype=None):
    if axis is None:
        da = match_dtype(np.reshape(reverse_cumsum(dresult, 0), np.shape(a)), a)
    else:
        da = match_dtype(reverse_cumsum(dresult, axis), a)


@adjoint(np.cumprod)
def cumprod(a, axis=None, dtype=None):
    # exact when entries are zero; see cumprod_adjoint
    if axis is None:
        da = np.reshape(cumprod_adjoint(dresult, np.ravel(a), result, 0), np.shape(a))
    else:
        da = cumprod_adjoint(dresult, a, result, axis)
