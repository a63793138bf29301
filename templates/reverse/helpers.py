"""Reverse-mode rules of the helpers that generated gradient code calls.

They let s2s take the gradient of a gradient (``grad(grad(f))``). Most helpers are linear in
their cotangent ``g``: the adjoint of a sum over axes is a broadcast, of a split is a join, of
``g @ x2.T`` is ``dresult @ x2``. A helper that is also linear in a primal
(``matmul_adjoint_x1(g, x1, x2)`` in ``x2``) passes a cotangent to it too. Arguments that only
give a shape, an axis or a mask get none (``x`` in ``unbroadcast(g, x)``).

Helpers that name a parameter ``result`` are matched with another name here, as in
``templates/forward/helpers.py`` (generated code passes these arguments by position); that
argument moves with ``x`` and its effect is part of ``x``'s cotangent.

    gx = unbroadcast(g, x)     ->    dg = match_dtype(np.broadcast_to(dgx, np.shape(g)), g)

The reverse rules of ``product_of_others``, ``prod_adjoint``, ``einsum_adjoints``,
``cumprod_adjoint`` and ``norm_adjoint`` are in
``templates/forward/helpers.py``, beside the support functions they share with their
tangent rules.
"""
import numpy as np

from s2s.runtime.numpy_helpers import (cotangent_or_zeros, diag_adjoint, dot_adjoint_a, dot_adjoint_b,
                               expand_reduced, extremum_share, hstack_adjoint, inner_adjoint,
                               match_dtype, matmul_adjoint_x1,
                               matmul_adjoint_x2, matrix_transpose, power_dbase,
                               power_dexponent,
                               restore_reduced_axes, reverse_cumsum, share_among_args,
                               share_among_extrema, solve_adjoint_a, solve_adjoint_b, split_like,
                               split_sum, tensordot_adjoint_a, tensordot_adjoint_b,
                               trace_adjoint, unblock, unbroadcast, unpack_like, unrepeat,
                               unstack, untake, untile)
from s2s.rules import adjoint
from s2s.runtime import (add, add_at, add_at_iteration, fresh_copy, items_cotangent,
                         items_tangent, iteration_cotangent, own, restructure, sorted_tangent,
                         unsort)
from s2s.runtime.shape_helpers import (checked_pad_mode, gradient_adjoint, join_tangents,
                                       pad_adjoint, pad_constant_adjoint, split_joined)


def join_like(pieces, g, axis):
    """The inverse of ``split_like(g, arrays, axis)``: its pieces joined back into ``g``'s
    shape (a piece with fewer dimensions than ``g`` was one slice along ``axis``)."""
    if axis is None:
        return np.reshape(np.concatenate([np.ravel(p) for p in pieces]), np.shape(g))
    ndim = np.ndim(g)
    # one slice of g along axis (a row of a 1-D array that np.vstack stacked is a number)
    one = tuple(1 if d == axis % ndim else n for d, n in enumerate(np.shape(g)))
    slices = [p if np.ndim(p) == ndim else np.reshape(p, one) for p in pieces]
    return np.concatenate(slices, axis=axis)


# --- shapes and dtypes ------------------------------------------------------------------------

@adjoint(match_dtype)
def match_dtype_vjp(g, x):
    dg = match_dtype(dresult, g)


@adjoint(unbroadcast)
def unbroadcast_vjp(g, x):
    # summing over broadcast axes is undone by broadcasting back
    dg = match_dtype(np.broadcast_to(dresult, np.shape(g)), g)


@adjoint(restore_reduced_axes)
def restore_reduced_axes_vjp(g, x, axis, keepdims):
    dg = np.reshape(dresult, np.shape(g))


@adjoint(expand_reduced)
def expand_reduced_vjp(g, x, axis, keepdims):
    # expand_reduced is the adjoint of np.sum(., axis, keepdims=keepdims), and the other way
    dg = unbroadcast(np.sum(dresult, axis=axis, keepdims=keepdims), g)


@adjoint(matrix_transpose)
def matrix_transpose_vjp(x):
    dx = matrix_transpose(dresult)


@adjoint(cotangent_or_zeros)
def cotangent_or_zeros_vjp(g, like):
    dg = unbroadcast(dresult, g)


# --- elementwise ------------------------------------------------------------------------------

@adjoint(power_dbase)
def power_dbase_vjp(x1, x2):
    # see templates/forward/helpers.py: power_dbase_jvp
    dx1 = unbroadcast(dresult * (x2 * power_dbase(x1, x2 - (x2 != 0))), x1)
    dx2 = unbroadcast(dresult * (np.power(x1, x2 - 1) + power_dexponent(x1, result)), x2)


@adjoint(power_dexponent)
def power_dexponent_vjp(x1, power):
    # power * log(x1), taken as 0 where x1 == 0 (as the helper does)
    safe = np.where(x1 == 0, 1, x1)
    dx1 = unbroadcast(dresult * (power / safe), x1)
    dpower = unbroadcast(dresult * np.log(safe), power)


@adjoint(extremum_share)
def extremum_share_vjp(g, x, other, extremum):
    # a fixed mask of weights 0, 1/2 and 1 is its own adjoint
    dg = unbroadcast(extremum_share(dresult, x, other, extremum), g)


@adjoint(share_among_args)
def share_among_args_vjp(g, extremum, args):
    # each share is g times a fixed weight (the weights of a cotangent of one)
    weights = share_among_args(1.0, extremum, args)
    dg = match_dtype(np.sum(np.multiply(dresult, weights)), g)


@adjoint(split_sum)
def split_sum_vjp(g, items):
    # every item got g (summed to its shape): g gets the sum of their cotangents
    dg = match_dtype(np.broadcast_to(sum(dresult), np.shape(g)), g)


# --- reductions -------------------------------------------------------------------------------

@adjoint(share_among_extrema)
def share_among_extrema_vjp(g, x, extremum, axis, keepdims):
    # the adjoint of sharing g among the tied extrema is averaging over them
    hits = x == restore_reduced_axes(extremum, x, axis, keepdims)
    dg = match_dtype(unbroadcast(np.sum(dresult * hits, axis=axis, keepdims=keepdims)
                                 / np.sum(hits, axis=axis, keepdims=keepdims), g), g)


@adjoint(reverse_cumsum)
def reverse_cumsum_vjp(g, axis):
    dg = np.cumsum(dresult, axis=axis)


# --- shapes -----------------------------------------------------------------------------------

@adjoint(split_like)
def split_like_vjp(g, arrays, axis):
    dg = match_dtype(join_like(dresult, g, axis), g)


@adjoint(split_joined)
def split_joined_vjp(g, maker, key):
    # np.r_'s split and the join of the items' tangents are each other's transposes
    dg = match_dtype(join_tangents(maker, key, dresult), g)


@adjoint(join_tangents)
def join_tangents_vjp(maker, key, dkey):
    ddkey = split_joined(dresult, maker, key)


@adjoint(hstack_adjoint)
def hstack_adjoint_vjp(g, tup):
    dg = match_dtype(np.hstack(dresult), g)


@adjoint(unstack)
def unstack_vjp(g, arrays, axis):
    dg = match_dtype(np.stack(dresult, axis=axis), g)


@adjoint(unpack_like)
def unpack_like_vjp(g, obj):
    dg = match_dtype(np.reshape(np.array(dresult), np.shape(g)), g)


@adjoint(unblock)
def unblock_vjp(g, arrays):
    dg = match_dtype(np.reshape(np.block(dresult), np.shape(g)), g)


@adjoint(untile)
def untile_vjp(g, x, reps):
    dg = match_dtype(np.reshape(np.tile(dresult, reps), np.shape(g)), g)


@adjoint(unrepeat)
def unrepeat_vjp(g, x, repeats, axis):
    dg = match_dtype(np.repeat(dresult, repeats, axis=axis), g)


@adjoint(untake)
def untake_vjp(g, x, indices, axis):
    dg = match_dtype(np.take(dresult, indices, axis=axis), g)


@adjoint(items_tangent)
def items_tangent_vjp(tangent, items, kind):
    # listing the items is undone by giving each its own cotangent back
    dtangent = items_cotangent(dresult, items)


@adjoint(items_cotangent)
def items_cotangent_vjp(cotangent, items):
    dcotangent = items_tangent(dresult, items, list)


@adjoint(sorted_tangent)
def sorted_tangent_vjp(tangent, items, key, reverse):
    # taking the items in sorted order is undone by putting each back in its place
    dtangent = unsort(dresult, items, key, reverse)


@adjoint(unsort)
def unsort_vjp(cotangent, items, key, reverse):
    dcotangent = sorted_tangent(dresult, items, key, reverse)


@adjoint(pad_adjoint)
def pad_adjoint_vjp(g, array, pad_width, mode, reflect_type):
    # summing the copies of each entry is undone by copying it again
    dg = match_dtype(np.pad(dresult, pad_width, checked_pad_mode(mode, reflect_type)), g)


@adjoint(pad_constant_adjoint)
def pad_constant_adjoint_vjp(g, array, pad_width, constant_values):
    # summing the entries each value fills is undone by filling them with it
    dg = match_dtype(np.pad(np.zeros(np.shape(array)), pad_width, constant_values=dresult), g)


@adjoint(gradient_adjoint)
def gradient_adjoint_vjp(g, f, varargs, axis, edge_order):
    # np.gradient is linear in f: the transpose of its transpose (a list for several axes)
    dg = np.gradient(dresult, *varargs, axis=axis, edge_order=edge_order)


@adjoint(diag_adjoint)
def diag_adjoint_vjp(g, v, k):
    # reading a diagonal and writing one are adjoint to each other
    dg = match_dtype(np.diag(dresult, k), g)


# --- linear algebra ---------------------------------------------------------------------------

@adjoint(matmul_adjoint_x1)
def matmul_adjoint_x1_vjp(g, x1, x2):
    # <dresult, matmul_adjoint_x1(g, x1, x2)> = <g, dresult @ x2>
    dg = unbroadcast(np.matmul(dresult, x2), g)
    dx2 = matmul_adjoint_x2(g, dresult, x2)


@adjoint(matmul_adjoint_x2)
def matmul_adjoint_x2_vjp(g, x1, x2):
    # <dresult, matmul_adjoint_x2(g, x1, x2)> = <g, x1 @ dresult>
    dg = unbroadcast(np.matmul(x1, dresult), g)
    dx1 = matmul_adjoint_x1(g, x1, dresult)


@adjoint(dot_adjoint_a)
def dot_adjoint_a_vjp(g, a, b):
    dg = unbroadcast(np.dot(dresult, b), g)
    db = dot_adjoint_b(g, dresult, b)


@adjoint(dot_adjoint_b)
def dot_adjoint_b_vjp(g, a, b):
    dg = unbroadcast(np.dot(a, dresult), g)
    da = dot_adjoint_a(g, a, dresult)


@adjoint(inner_adjoint)
def inner_adjoint_vjp(g, x, other, x_is_first):
    if x_is_first:
        dg = unbroadcast(np.inner(dresult, other), g)
        dother = inner_adjoint(g, other, dresult, False)
    else:
        dg = unbroadcast(np.inner(other, dresult), g)
        dother = inner_adjoint(g, other, dresult, True)


@adjoint(tensordot_adjoint_a)
def tensordot_adjoint_a_vjp(g, a, b, axes):
    dg = unbroadcast(np.tensordot(dresult, b, axes), g)
    db = tensordot_adjoint_b(g, dresult, b, axes)


@adjoint(tensordot_adjoint_b)
def tensordot_adjoint_b_vjp(g, a, b, axes):
    dg = unbroadcast(np.tensordot(a, dresult, axes), g)
    da = tensordot_adjoint_a(g, a, dresult, axes)


@adjoint(trace_adjoint)
def trace_adjoint_vjp(g, x, offset, axis1, axis2):
    dg = match_dtype(np.trace(dresult, offset, axis1, axis2), g)


@adjoint(solve_adjoint_b)
def solve_adjoint_b_vjp(g, a, b):
    # result = A^-T g:  dg = A^-1 dresult (again a solve shaped by b), and
    # da = -result (A^-1 dresult)^T, which is what solve_adjoint_a computes
    solved = solve_adjoint_b(dresult, matrix_transpose(a), b)
    dg = unbroadcast(solved, g)
    da = unbroadcast(solve_adjoint_a(result, solved, b), a)


@adjoint(solve_adjoint_a)
def solve_adjoint_a_vjp(gb, solution, b):
    # result = -gb solution^T; with a 1-D b both are (stacks of) vectors: an outer product
    if np.ndim(b) == 1:
        dgb = unbroadcast(-np.einsum("...ij,...j->...i", dresult, solution), gb)
        dsolution = unbroadcast(-np.einsum("...ij,...i->...j", dresult, gb), solution)
    else:
        dgb = unbroadcast(-np.matmul(dresult, solution), gb)
        dsolution = unbroadcast(-np.matmul(matrix_transpose(dresult), gb), solution)


# --- the runtime helpers ----------------------------------------------------------------------

@adjoint(add)
def add_vjp(a, b):
    da = dresult
    db = dresult


@adjoint(add_at)
def add_at_vjp(buffer, key, value):
    # buffer[key] += value: the old buffer passes through, value gets the entries it reached
    dbuffer = dresult
    dvalue = unbroadcast(dresult[key], value)


@adjoint(add_at_iteration)
def add_at_iteration_vjp(buffer, index, value):
    # add_at for a loop's items: the buffer passes through, value gets its item
    dbuffer = dresult
    dvalue = iteration_cotangent(dresult, index, value)


@adjoint(own)
def own_vjp(cotangent, primal):
    dcotangent = dresult


@adjoint(fresh_copy)
def fresh_copy_vjp(value):
    dvalue = dresult


@adjoint(restructure)
def restructure_vjp(cotangent, primal):
    # back to the cotangent's own container types
    dcotangent = restructure(dresult, cotangent)
