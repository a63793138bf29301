"""Forward-mode rules of ``np.ndarray`` methods, keyed by the method descriptor.

``x.sum(axis=0)`` is the call ``np.ndarray.sum(x, axis=0)``, so the array is the parameter
``self`` and its tangent ``dself``. The bodies match the NumPy functions' tangent rules, with
the tangent passed to the NumPy function (``np.sum(dself)``) rather than calling a method on
it, since a tangent may be a NumPy scalar or a broadcast view. Parameters mirror the reverse
rules in ``templates/reverse/numpy_methods.py``.

    s = x.sum(axis=0)     ->    ds = np.sum(dx, axis=0)
"""
import numpy as np

from s2s.runtime import fresh_copy
from s2s.runtime.numpy_helpers import (match_dtype, normalize_axes, product_of_others,
                               restore_reduced_axes, size_of)
from s2s.rules import linear, tangent

linear(np.ndarray.sum, through=np.sum)
linear(np.ndarray.mean, through=np.mean)
linear(np.ndarray.cumsum, through=np.cumsum)
linear(np.ndarray.ravel, np.ndarray.flatten, through=np.ravel)
linear(np.ndarray.squeeze, through=np.squeeze)
linear(np.ndarray.swapaxes, through=np.swapaxes)
linear(np.ndarray.repeat, through=np.repeat)


@tangent(np.ndarray.copy)
def copy(self, order="C"):
    # a copy in the tangent's own library (np.copy would make Dask compute)
    dresult = fresh_copy(dself)


@tangent(np.ndarray.max, np.ndarray.min)
def max(self, axis=None, *, keepdims=False):
    # tied extrema share evenly, as in the reverse rule
    hits = self == restore_reduced_axes(result, self, axis, keepdims)
    dresult = match_dtype(np.sum(dself * hits, axis=axis, keepdims=keepdims)
                          / np.sum(hits, axis=axis, keepdims=keepdims), result)


@tangent(np.ndarray.prod)
def prod(self, axis=None, dtype=None, *, keepdims=False):
    others = product_of_others(self, normalize_axes(axis, self.ndim))
    dresult = np.sum(dself * others, axis=axis, dtype=dtype, keepdims=keepdims)


@tangent(np.ndarray.var)
def var(self, axis=None, dtype=None, *, ddof=0, keepdims=False):
    centered = self - np.mean(self, axis=axis, keepdims=True)
    scale = 2.0 / (self.size // size_of(result) - ddof)
    dresult = np.real(np.sum(np.conj(centered) * dself, axis=axis, dtype=dtype,
                             keepdims=keepdims)) * scale


@tangent(np.ndarray.std)
def std(self, axis=None, dtype=None, *, ddof=0, keepdims=False):
    centered = self - np.mean(self, axis=axis, keepdims=True)
    scale = 1.0 / ((self.size // size_of(result) - ddof) * result)
    dresult = np.real(np.sum(np.conj(centered) * dself, axis=axis, dtype=dtype,
                             keepdims=keepdims)) * scale


@tangent(np.ndarray.reshape)
def reshape(self, *shape, order="C"):
    # x.reshape(2, 3) and x.reshape((2, 3)) both land in *shape; the result knows the shape
    dresult = np.reshape(dself, result.shape, order=order)


@tangent(np.ndarray.transpose)
def transpose(self, *axes):
    # x.transpose(), x.transpose(1, 0, 2) and x.transpose((1, 0, 2)) all land in *axes
    if axes == () or axes == (None,):
        dresult = np.transpose(dself)
    else:
        # (a tuple: Dask tests the axes it is given for truth, which an array cannot answer)
        dresult = np.transpose(dself, tuple(np.ravel(axes)))


@tangent(np.ndarray.dot)
def dot(self, b):
    dresult = np.dot(dself, b) + np.dot(self, db)


@tangent(np.ndarray.astype)
def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    # the tangent takes the result's floating dtype; a cast to integers or booleans is
    # piecewise constant
    if result.dtype.kind in "fc":
        dresult = match_dtype(dself, result)
    else:
        dresult = np.zeros(result.shape)


@tangent(np.ndarray.clip)
def clip(self, min=None, max=None):
    # self passes through where it is inside the bounds; elsewhere the bound hit is the
    # result. A bound may be a Python float: the tangent keeps the result's dtype.
    dresult = match_dtype(np.where(self == result, dself, 0.0) + np.where(self < result, dmin, 0.0)
                          + np.where(self > result, dmax, 0.0), result)
