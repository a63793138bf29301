"""Forward-mode rules of NumPy functions that move, copy or join entries without arithmetic.

These functions are linear, so the tangent goes through the same call: a reshape of the
tangent, a transpose of the tangent, a concatenation of the tangents. For a parameter that is
a sequence of arrays (``np.stack(arrays)``), ``darrays`` holds one tangent per element (the
engine passes zeros for elements that carry none). Parameters mirror the reverse rules in
``templates/reverse/numpy_shape.py``.

    y = np.transpose(x, (1, 2, 0))     ->    dy = np.transpose(dx, (1, 2, 0))
"""
import numpy as np

from s2s.rules import tangent


@tangent(np.reshape)
def reshape(a, shape, order="C"):
    dresult = np.reshape(da, shape, order=order)


@tangent(np.ravel)
def ravel(a, order="C"):
    dresult = np.ravel(da, order=order)


@tangent(np.squeeze, np.expand_dims)
def squeeze(a, axis=None):
    # both only add or drop axes of length 1
    dresult = np.reshape(da, np.shape(result))


@tangent(np.transpose)
def transpose(a, axes=None):
    dresult = np.transpose(da, axes)


@tangent(np.swapaxes)
def swapaxes(a, axis1, axis2):
    dresult = np.swapaxes(da, axis1, axis2)


@tangent(np.moveaxis)
def moveaxis(a, source, destination):
    dresult = np.moveaxis(da, source, destination)


@tangent(np.concatenate)
def concatenate(arrays, axis=0, *, dtype=None, casting="same_kind"):
    dresult = np.concatenate(darrays, axis=axis, dtype=dtype)


@tangent(np.stack)
def stack(arrays, axis=0, *, dtype=None, casting="same_kind"):
    dresult = np.stack(darrays, axis=axis, dtype=dtype)


@tangent(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    dresult = np.vstack(dtup, dtype=dtype)


@tangent(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    dresult = np.hstack(dtup, dtype=dtype)


@tangent(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    dresult = np.broadcast_to(darray, shape)


@tangent(np.tile)
def tile(A, reps):
    dresult = np.tile(dA, reps)


@tangent(np.repeat)
def repeat(a, repeats, axis=None):
    dresult = np.repeat(da, repeats, axis=axis)


@tangent(np.flip)
def flip(m, axis=None):
    dresult = np.flip(dm, axis=axis)


@tangent(np.diag)
def diag(v, k=0):
    dresult = np.diag(dv, k=k)


@tangent(np.take)
def take(a, indices, axis=None, *, mode="raise"):
    dresult = np.take(da, indices, axis=axis, mode=mode)


@tangent(np.copy)
def copy(a, order="K", subok=False):
    dresult = np.copy(da, order=order)


@tangent(np.array)
def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0):
    # a list of arrays or numbers has a list of tangents, which np.array joins the same way;
    # a result of integers or booleans is piecewise constant
    if result.dtype.kind in "fc":
        dresult = np.array(dobject, dtype=result.dtype, ndmin=ndmin)
    else:
        dresult = np.zeros(result.shape)


@tangent(np.asarray)
def asarray(a, dtype=None, order=None, *, copy=None):
    if result.dtype.kind in "fc":
        dresult = np.asarray(da, dtype=result.dtype)
    else:
        dresult = np.zeros(result.shape)


# --- constructors whose entries come from an argument ---------------------------------------

@tangent(np.full)
def full(shape, fill_value, dtype=None, order="C"):
    if result.dtype.kind in "fc":
        dresult = np.full(shape, dfill_value, dtype=result.dtype)
    else:
        dresult = np.zeros(result.shape)


@tangent(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    # the entries of a do not matter, only its shape (and dtype, unless dtype is given)
    if result.dtype.kind in "fc":
        dresult = np.full_like(result, dfill_value)
    else:
        dresult = np.zeros(result.shape)


@tangent(np.linspace)
def linspace(start, stop, num=50, endpoint=True):
    # result[i] = start + t[i] * (stop - start), with t running from 0 to 1 along axis 0
    steps = np.linspace(0.0, 1.0, num, endpoint=endpoint, dtype=result.dtype)
    t = np.reshape(steps, (-1,) + (1,) * (np.ndim(result) - 1))
    dresult = dstart * (1.0 - t) + dstop * t
