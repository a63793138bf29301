"""Reverse-mode rules of NumPy functions that move, copy or join entries without arithmetic.

Each adjoint moves the cotangent back the way the entries came: a reshape is undone by a
reshape, a transpose by the inverse permutation, a concatenation by a split. For a
parameter that is a sequence of arrays (``np.stack(arrays)``), the rule assigns one
cotangent per element.

    y = np.transpose(x, (1, 2, 0))     ->    dx = np.transpose(dy, (2, 0, 1))
"""
import numpy as np

from s2s.runtime.numpy_helpers import (diag_adjoint, hstack_adjoint, inverse_permutation,
                               match_dtype, split_like, unblock, unbroadcast, unpack_like,
                               unrepeat, unstack, untake, untile)
from s2s.runtime.shape_helpers import (atleast_adjoint, cross_adjoint, diff_pieces,
                                       gradient_adjoint, gradient_spacing_error, kron_axes,
                                       kron_blocks, pad_adjoint, pad_constant_adjoint,
                                       pad_values_error, padded_shape, padding_along,
                                       rollaxis_destination, select_adjoint,
                                       select_default_mask, split_joined, unsplit,
                                       untake_along_axis)
from s2s.rules import adjoint, static


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


@adjoint(np.flipud)
def flipud(m):
    dm = np.flipud(dresult)


@adjoint(np.fliplr)
def fliplr(m):
    dm = np.fliplr(dresult)


@adjoint(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    dm = np.rot90(dresult, -k, axes)


@adjoint(np.roll)
def roll(a, shift, axis=None):
    da = np.roll(dresult, np.negative(shift), axis)


@adjoint(np.rollaxis)
def rollaxis(a, axis, start=0):
    da = np.moveaxis(dresult, rollaxis_destination(axis, start, np.ndim(a)), axis)


@adjoint(np.triu)
def triu(m, k=0):
    # a 1-D m is repeated along the rows first
    dm = unbroadcast(np.triu(dresult, k), m)


@adjoint(np.tril)
def tril(m, k=0):
    dm = unbroadcast(np.tril(dresult, k), m)


@adjoint(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_1d(*arys):
    darys = atleast_adjoint(dresult, arys)


# np.r_[a, 1.0, b] and np.c_[a, b]: the index expression's rule, its items in ``key``
@adjoint(type(np.r_).__getitem__)
def concatenator_getitem(self, key):
    dkey = split_joined(dresult, self, key)


@adjoint(np.append)
def append(arr, values, axis=None):
    pieces = split_like(dresult, [arr, values], axis)
    darr = pieces[0]
    dvalues = pieces[1]


@adjoint(np.column_stack)
def column_stack(tup):
    # 1-D arrays become columns
    dtup = split_like(dresult, tup, 1)


@adjoint(np.dstack)
def dstack(tup):
    # arrays of 1 or 2 axes were promoted to (1, n, 1) and (m, n, 1)
    dtup = split_like(dresult, tup, 2)


@adjoint(np.diff)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    # a difference is undone by minus a difference of the cotangent padded with zeros:
    # n times over, (-1)^n times the n-th difference of dresult with n zeros at both ends
    padded = np.pad(dresult, padding_along(axis, np.ndim(dresult), n, n))
    doperand = np.diff(padded, n, axis) * (-1.0) ** n
    if static(prepend is None and append is None):
        da = doperand
    else:
        pieces = diff_pieces(a, axis, prepend, append)
        dprepend = unbroadcast(doperand[pieces[0]], prepend)
        da = match_dtype(doperand[pieces[1]], a)
        dappend = unbroadcast(doperand[pieces[2]], append)


@adjoint(np.kron)
def kron(a, b):
    # laid out as (a0, b0, a1, b1, ...), each block of the result is a[i] * b
    blocks = np.reshape(dresult, kron_blocks(a, b))
    ndim = max(np.ndim(a), np.ndim(b))
    da = np.reshape(np.tensordot(blocks, np.reshape(b, padded_shape(b, ndim)),
                                 (kron_axes(a, b, 1), tuple(range(ndim)))), np.shape(a))
    db = np.reshape(np.tensordot(blocks, np.reshape(a, padded_shape(a, ndim)),
                                 (kron_axes(a, b, 0), tuple(range(ndim)))), np.shape(b))


@adjoint(np.split, np.array_split)
def split(ary, indices_or_sections, axis=0):
    # dresult holds one cotangent per piece
    dary = unsplit(dresult, ary, indices_or_sections, axis)


@adjoint(np.vsplit)
def vsplit(ary, indices_or_sections):
    dary = unsplit(dresult, ary, indices_or_sections, 0)


@adjoint(np.hsplit)
def hsplit(ary, indices_or_sections):
    # along axis 1, or 0 for a 1-D array
    dary = unsplit(dresult, ary, indices_or_sections, min(1, np.ndim(ary) - 1))


@adjoint(np.dsplit)
def dsplit(ary, indices_or_sections):
    dary = unsplit(dresult, ary, indices_or_sections, 2)


@adjoint(np.sort)
def sort(a, axis=-1, kind=None, order=None):
    # the cotangent of the i-th smallest entry goes back where that entry came from; with
    # axis=None (or an axis known only at run time) the entries were flattened first
    permutation = np.argsort(a, axis=axis, kind=kind)
    if static(axis is not None):
        da = np.take_along_axis(dresult, np.argsort(permutation, axis=axis), axis=axis)
    else:
        da = np.reshape(np.take_along_axis(dresult, np.argsort(permutation, axis=axis),
                                           axis=axis), np.shape(a))


@adjoint(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    permutation = np.argpartition(a, kth, axis=axis, kind=kind)
    if static(axis is not None):
        da = np.take_along_axis(dresult, np.argsort(permutation, axis=axis), axis=axis)
    else:
        da = np.reshape(np.take_along_axis(dresult, np.argsort(permutation, axis=axis),
                                           axis=axis), np.shape(a))


@adjoint(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    darr = untake_along_axis(dresult, arr, indices, axis)


@adjoint(np.select)
def select(condlist, choicelist, default=0):
    # the first choice whose condition holds takes the cotangent; default where none holds
    dchoicelist = select_adjoint(dresult, condlist, choicelist)
    ddefault = unbroadcast(np.where(select_default_mask(condlist), dresult, 0.0), default)


@adjoint(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    da = cross_adjoint(dresult, a, b, axisa, axisb, axisc, axis, 0)
    db = cross_adjoint(dresult, a, b, axisa, axisb, axisc, axis, 1)


@adjoint(np.pad)
def pad(array, pad_width, mode="constant", *, stat_length=None, constant_values=0,
        end_values=0, reflect_type="even"):
    darray = pad_adjoint(dresult, array, pad_width, mode, reflect_type)
    dconstant_values = pad_constant_adjoint(dresult, array, pad_width, constant_values)
    dend_values = pad_values_error(end_values)


@adjoint(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    # dresult is a list, one cotangent per axis, when f has several axes
    df = gradient_adjoint(dresult, f, varargs, axis, edge_order)
    dvarargs = gradient_spacing_error(varargs)


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
def linspace(start, stop, num=50, endpoint=True, dtype=None):
    # result[i] = start + t[i] * (stop - start), with t running from 0 to 1 along axis 0
    steps = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    t = np.reshape(steps, (-1,) + (1,) * (np.ndim(result) - 1))
    dstart = unbroadcast(dresult * (1.0 - t), start)
    dstop = unbroadcast(dresult * t, stop)
