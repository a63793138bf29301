"""Reverse-mode rules of NumPy functions that move, copy or join entries without arithmetic.

Each adjoint moves the cotangent back the way the entries came: a reshape is undone by a
reshape, a transpose by the inverse permutation, a concatenation by a split. For a
parameter that is a sequence of arrays (``np.stack(arrays)``), the rule assigns one
cotangent per element.

    y = np.transpose(x, (1, 2, 0))     ->    dx = np.transpose(dy, (2, 0, 1))
"""
import numpy as np

from s2s.runtime.numpy_helpers import (diag_adjoint, hstack_adjoint, inverse_permutation, split_like,
                               unblock, unbroadcast, unpack_like, unrepeat, unstack, untake, untile)
from s2s.rules import adjoint


@adjoint(np.reshape)
def reshape(a, shape, order="C", *, copy=None):
    da = np.reshape(dresult, np.shape(a), order=order)


@adjoint(np.ravel)
def ravel(a, order="C"):
    da = np.reshape(dresult, np.shape(a), order=order)


@adjoint(np.squeeze, np.expand_dims)
def squeeze(a, axis=None):
    # both only add or drop axes of length 1
    da = np.reshape(dresult, np.shape(a))


@adjoint(np.transpose)
def transpose(a, axes=None):
    if axes is None:
        da = np.transpose(dresult)
    else:
        da = np.transpose(dresult, inverse_permutation(axes, np.ndim(a)))


@adjoint(np.swapaxes)
def swapaxes(a, axis1, axis2):
    da = np.swapaxes(dresult, axis1, axis2)


@adjoint(np.moveaxis)
def moveaxis(a, source, destination):
    da = np.moveaxis(dresult, destination, source)


@adjoint(np.concatenate)
def concatenate(arrays, axis=0, *, dtype=None, casting="same_kind"):
    darrays = split_like(dresult, arrays, axis)


@adjoint(np.stack)
def stack(arrays, axis=0, *, dtype=None, casting="same_kind"):
    darrays = unstack(dresult, arrays, axis)


@adjoint(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    dtup = split_like(dresult, tup, 0)


@adjoint(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    dtup = hstack_adjoint(dresult, tup)


@adjoint(np.block)
def block(arrays):
    darrays = unblock(dresult, arrays)


@adjoint(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    darray = unbroadcast(dresult, array)


@adjoint(np.tile)
def tile(A, reps):
    dA = untile(dresult, A, reps)


@adjoint(np.repeat)
def repeat(a, repeats, axis=None):
    da = unrepeat(dresult, a, repeats, axis)


@adjoint(np.flip)
def flip(m, axis=None):
    dm = np.flip(dresult, axis)


@adjoint(np.diag)
def diag(v, k=0):
    dv = diag_adjoint(dresult, v, k)


@adjoint(np.take)
def take(a, indices, axis=None, *, mode="raise"):
    da = untake(dresult, a, indices, axis)


@adjoint(np.copy)
def copy(a, order="K", subok=False):
    da = dresult


@adjoint(np.array)
def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0):
    # a list of arrays or numbers gets one cotangent per element
    dobject = unpack_like(dresult, object)


@adjoint(np.asarray)
def asarray(a, dtype=None, order=None, *, copy=None):
    da = unpack_like(dresult, a)


# --- constructors whose entries come from an argument ---------------------------------------

@adjoint(np.full)
def full(shape, fill_value, dtype=None, order="C"):
    dfill_value = unbroadcast(dresult, fill_value)


@adjoint(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    # the entries of a do not matter, only its shape
    dfill_value = unbroadcast(dresult, fill_value)


@adjoint(np.linspace)
def linspace(start, stop, num=50, endpoint=True):
    # result[i] = start + t[i] * (stop - start), with t running from 0 to 1 along axis 0
    steps = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    t = np.reshape(steps, (-1,) + (1,) * (np.ndim(result) - 1))
    dstart = unbroadcast(dresult * (1.0 - t), start)
    dstop = unbroadcast(dresult * t, stop)
