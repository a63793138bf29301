"""Forward-mode rules of NumPy functions that move, copy or join entries without arithmetic.

These functions are linear, so the tangent goes through the same call: a reshape of the
tangent, a transpose of the tangent, a concatenation of the tangents. For a parameter that is
a sequence of arrays (``np.stack(arrays)``), ``darrays`` holds one tangent per element (the
engine passes zeros for elements that carry none). Parameters mirror the reverse rules in
``templates/reverse/numpy_shape.py``.

    y = np.transpose(x, (1, 2, 0))     ->    dy = np.transpose(dx, (1, 2, 0))
"""
import numpy as np

from s2s.runtime.shape_helpers import (checked_pad_mode, gradient_spacing_error, join_tangents,
                                       pad_values_error, select_default_mask,
                                       zeros_unless_absent)
from s2s.rules import linear, static, tangent

linear(np.reshape, np.ravel, np.squeeze, np.expand_dims, np.transpose, np.swapaxes, np.moveaxis,
       np.concatenate, np.stack, np.vstack, np.hstack, np.broadcast_to, np.tile, np.repeat,
       np.flip, np.diag, np.take, np.copy, np.block, np.flipud, np.fliplr, np.rot90, np.roll,
       np.rollaxis, np.triu, np.tril, np.column_stack, np.dstack, np.split, np.array_split,
       np.vsplit, np.hsplit, np.dsplit, np.take_along_axis)


@tangent(np.sort)
def sort(a, axis=-1, kind=None, order=None):
    dresult = np.take_along_axis(da, np.argsort(a, axis=axis, kind=kind), axis=axis)


@tangent(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    dresult = np.take_along_axis(da, np.argpartition(a, kth, axis=axis, kind=kind), axis=axis)


@tangent(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    dresult = (np.gradient(df, *varargs, axis=axis, edge_order=edge_order)
               + gradient_spacing_error(dvarargs))


@tangent(np.atleast_1d)
def atleast_1d(*arys):
    dresult = np.atleast_1d(*darys)


@tangent(np.atleast_2d)
def atleast_2d(*arys):
    dresult = np.atleast_2d(*darys)


@tangent(np.atleast_3d)
def atleast_3d(*arys):
    dresult = np.atleast_3d(*darys)


@tangent(type(np.r_).__getitem__)
def concatenator_getitem(self, key):
    # np.r_[a, 1.0, b] and np.c_[a, b]: the index expression's items in ``key``
    dresult = join_tangents(self, key, dkey)


# --- functions linear in two arguments: one term per argument, each shaped like the result ---

@tangent(np.append)
def append(arr, values, axis=None):
    dresult = (np.append(darr, np.zeros(np.shape(values), result.dtype), axis)
               + np.append(np.zeros(np.shape(arr), result.dtype), dvalues, axis))


@tangent(np.diff)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    if static(prepend is None and append is None):
        dresult = np.diff(da, n, axis)
    else:
        dresult = (np.diff(da, n, axis, prepend=zeros_unless_absent(prepend, result.dtype),
                           append=zeros_unless_absent(append, result.dtype))
                   + np.diff(np.zeros(np.shape(a), result.dtype), n, axis,
                             prepend=dprepend + zeros_unless_absent(prepend, result.dtype),
                             append=dappend + zeros_unless_absent(append, result.dtype)))


@tangent(np.kron)
def kron(a, b):
    dresult = np.kron(da, b) + np.kron(a, db)


@tangent(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    dresult = (np.cross(da, b, axisa, axisb, axisc, axis)
               + np.cross(a, db, axisa, axisb, axisc, axis))


@tangent(np.select)
def select(condlist, choicelist, default=0):
    dresult = (np.select(condlist, dchoicelist, np.zeros((), result.dtype))
               + np.where(select_default_mask(condlist), ddefault, np.zeros((), result.dtype)))


@tangent(np.pad)
def pad(array, pad_width, mode="constant", *, stat_length=None, constant_values=0,
        end_values=0, reflect_type="even"):
    # linear in the array (padded with zeros, or copies) and in constant_values
    dresult = (np.pad(darray, pad_width, checked_pad_mode(mode, reflect_type))
               + np.pad(np.zeros(np.shape(array), result.dtype), pad_width,
                        constant_values=dconstant_values)
               + pad_values_error(dend_values))


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
def linspace(start, stop, num=50, endpoint=True, dtype=None):
    # result[i] = start + t[i] * (stop - start), with t running from 0 to 1 along axis 0
    steps = np.linspace(0.0, 1.0, num, endpoint=endpoint, dtype=result.dtype)
    t = np.reshape(steps, (-1,) + (1,) * (np.ndim(result) - 1))
    dresult = dstart * (1.0 - t) + dstop * t
