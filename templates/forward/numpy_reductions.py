"""Forward-mode rules of NumPy reductions and cumulative operations.

A reduction is linear or nearly so: the tangent of a sum is the sum of the tangent, and the
tangent of a product, a variance or an extremum is a weighted sum of the input's tangent.
Parameters mirror the reverse rules in ``templates/reverse/numpy_reductions.py``.

Max and min give tied extrema equal weight, matching the reverse rule that splits the
cotangent evenly: the tangent of ``np.max([1, 3, 3])`` is the mean of the last two tangents.

    s = np.sum(x, axis=1)     ->    ds = np.sum(dx, axis=1)
"""
import numpy as np

from s2s.runtime.numpy_helpers import (match_dtype, normalize_axes, product_of_others,
                                       restore_reduced_axes, size_of)
from s2s.rules import linear, tangent

linear(np.sum, np.mean, np.cumsum)


@tangent(np.nansum)
def nansum(a, axis=None, dtype=None, *, keepdims=False):
    dresult = np.sum(np.where(np.isnan(a), 0.0, da), axis=axis, dtype=dtype, keepdims=keepdims)


@tangent(np.nanmean)
def nanmean(a, axis=None, dtype=None, *, keepdims=False):
    # the tangent is averaged over the same entries as the input: those that are not NaN
    dresult = np.nanmean(np.where(np.isnan(a), np.nan, da), axis=axis, dtype=dtype,
                         keepdims=keepdims)


@tangent(np.prod)
def prod(a, axis=None, dtype=None, *, keepdims=False):
    # each entry's tangent times the product of the others: exact when entries are zero
    others = product_of_others(a, normalize_axes(axis, np.ndim(a)))
    dresult = np.sum(da * others, axis=axis, dtype=dtype, keepdims=keepdims)


@tangent(np.max, np.min, np.amax, np.amin)
def max(a, axis=None, *, keepdims=False):
    hits = a == restore_reduced_axes(result, a, axis, keepdims)
    # the mean of the tangents over the tied extrema (sums: differentiable again)
    dresult = match_dtype(np.sum(da * hits, axis=axis, keepdims=keepdims)
                          / np.sum(hits, axis=axis, keepdims=keepdims), result)


@tangent(np.var)
def var(a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    # the tangent of the mean drops out: the centered entries sum to zero
    centered = a - np.mean(a, axis=axis, keepdims=True)
    # complex entries: the real part of conj(centered) * da (var is the mean of |centered|**2)
    scale = 2.0 / (size_of(a) // size_of(result) - ddof)
    dresult = np.real(np.sum(np.conj(centered) * da, axis=axis, dtype=dtype,
                             keepdims=keepdims)) * scale


@tangent(np.std)
def std(a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    # d std = d var / (2 std), and 0 at zero deviation (every centered entry 0), as in reverse
    centered = a - np.mean(a, axis=axis, keepdims=True)
    scale = 1.0 / ((size_of(a) // size_of(result) - ddof) * np.where(result == 0.0, 1.0, result))
    dresult = np.real(np.sum(np.conj(centered) * da, axis=axis, dtype=dtype,
                             keepdims=keepdims)) * scale


@tangent(np.cumprod)
def cumprod(a, axis=None, dtype=None):
    # a cumulative product is a polynomial in a, so the complex step gives its exact
    # directional derivative, zeros included: cumprod(a + h i da) = result + h i dresult + O(h^2)
    if np.iscomplexobj(a):
        # complex entries leave no room for the step: the logarithmic derivative (a zero entry
        # gives NaN, never a wrong number)
        dresult = result * np.cumsum(da / a, axis=axis)
    else:
        dresult = np.imag(np.cumprod(a + 1e-20j * da, axis=axis)) * 1e20
