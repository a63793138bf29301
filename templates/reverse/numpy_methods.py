"""Reverse-mode rules of ``np.ndarray`` methods, keyed by the method descriptor.

``x.sum(axis=0)`` is the call ``np.ndarray.sum(x, axis=0)``, so the array is the parameter
``self`` and its cotangent ``dself``. The bodies match the NumPy functions' rules and use the
same helpers. As there, parameters after NumPy's unsupported ``out`` are keyword-only.

    s = x.sum(axis=0)     ->    dx = expand_reduced(ds, x, 0, False)
"""
import numpy as np

from s2s.runtime.numpy_helpers import (dot_adjoint_a, dot_adjoint_b, expand_reduced,
                               inverse_permutation, match_dtype, prod_adjoint,
                               restore_reduced_axes, reverse_cumsum, share_among_extrema, size_of,
                               unbroadcast, unrepeat)
from s2s.rules import adjoint


@adjoint(np.ndarray.sum)
def sum(self, axis=None, dtype=None, *, keepdims=False):
    dself = expand_reduced(dresult, self, axis, keepdims)


@adjoint(np.ndarray.mean)
def mean(self, axis=None, dtype=None, *, keepdims=False):
    dself = expand_reduced(dresult * (size_of(result) / size_of(self)), self, axis, keepdims)


@adjoint(np.ndarray.max, np.ndarray.min)
def max(self, axis=None, *, keepdims=False):
    # ties share the cotangent evenly
    dself = share_among_extrema(dresult, self, result, axis, keepdims)


@adjoint(np.ndarray.prod)
def prod(self, axis=None, dtype=None, *, keepdims=False):
    dself = prod_adjoint(dresult, self, result, axis, keepdims)


@adjoint(np.ndarray.var)
def var(self, axis=None, dtype=None, *, ddof=0, keepdims=False):
    count = size_of(self) // size_of(result)
    centered = self - np.mean(self, axis=axis, keepdims=True)
    dsquares = restore_reduced_axes(np.real(dresult), self, axis, keepdims) * (2.0 / (count - ddof))
    dself = match_dtype(dsquares * np.conj(centered), self)


@adjoint(np.ndarray.std)
def std(self, axis=None, dtype=None, *, ddof=0, keepdims=False):
    count = size_of(self) // size_of(result)
    centered = self - np.mean(self, axis=axis, keepdims=True)
    dsquares = restore_reduced_axes(np.real(dresult) / result, self, axis, keepdims) * (
        1.0 / (count - ddof))
    dself = match_dtype(dsquares * np.conj(centered), self)


@adjoint(np.ndarray.cumsum)
def cumsum(self, axis=None, dtype=None):
    if axis is None:
        dself = match_dtype(np.reshape(reverse_cumsum(dresult, 0), self.shape), self)
    else:
        dself = match_dtype(reverse_cumsum(dresult, axis), self)


@adjoint(np.ndarray.reshape)
def reshape(self, *shape, order="C"):
    # x.reshape(2, 3) and x.reshape((2, 3)) both land in *shape
    dself = np.reshape(dresult, self.shape, order=order)


@adjoint(np.ndarray.ravel, np.ndarray.flatten)
def ravel(self, order="C"):
    dself = np.reshape(dresult, self.shape, order=order)


@adjoint(np.ndarray.squeeze)
def squeeze(self, axis=None):
    dself = np.reshape(dresult, self.shape)


@adjoint(np.ndarray.transpose)
def transpose(self, *axes):
    # x.transpose(), x.transpose(1, 0, 2) and x.transpose((1, 0, 2)) all land in *axes
    if axes == () or axes == (None,):
        dself = np.transpose(dresult)
    else:
        dself = np.transpose(dresult, inverse_permutation(np.ravel(axes), self.ndim))


@adjoint(np.ndarray.swapaxes)
def swapaxes(self, axis1, axis2):
    dself = np.swapaxes(dresult, axis1, axis2)


@adjoint(np.ndarray.dot)
def dot(self, b):
    dself = dot_adjoint_a(dresult, self, b)
    db = dot_adjoint_b(dresult, self, b)


@adjoint(np.ndarray.astype)
def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    # the cotangent goes back to the input's own (floating) dtype; a cast to an integer
    # type is piecewise constant
    dself = match_dtype(dresult, self) * float(np.dtype(dtype).kind in "fc")


@adjoint(np.ndarray.copy)
def copy(self, order="C"):
    dself = dresult


@adjoint(np.ndarray.clip)
def clip(self, min=None, max=None):
    # self passes through where it is inside the bounds; elsewhere the bound hit is the result
    dself = unbroadcast(np.where(self == result, dresult, 0.0), self)
    dmin = unbroadcast(np.where(self < result, dresult, 0.0), min)
    dmax = unbroadcast(np.where(self > result, dresult, 0.0), max)


@adjoint(np.ndarray.repeat)
def repeat(self, repeats, axis=None):
    dself = unrepeat(dresult, self, repeats, axis)
