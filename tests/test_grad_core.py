"""Reverse-mode core: every case in CASES is checked against central finite differences.

A row is ``(function, args, grad_position)``; the functions live in cases_core.py so
their source is readable. Inputs are drawn from a seeded generator and kept away from
kinks and domain edges (ties of max/min, zeros of abs, bounds of clip, poles) so that
the finite-difference oracle is valid. Adding a case is one function and one row.
"""
import copy
import linecache
from collections import Counter

import numpy as np
import pytest

import cases_core as c
import s2s
from finite_diff import assert_close, flatten, numerical_grad

rng = np.random.default_rng(20240601)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def unit(*shape):
    """Inside (-1, 1) with a margin, for arcsin, arctanh and friends."""
    return rng.uniform(-0.8, 0.8, shape)


def nonzero(*shape):
    """Both signs, at least 0.3 away from zero (abs, sign, division)."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 1.5, shape)


def well_conditioned(n):
    return rng.standard_normal((n, n)) + 3.0 * np.eye(n)


# Pairs far apart elementwise, so maximum/minimum/fmax/fmin have no near-ties.
FAR_X = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(1.2, 2.0, (3, 4))
FAR_Y = rng.uniform(-0.5, 0.5, 4)
# Values of clip's input stay well inside or well outside [-1, 1].
CLIP_X = np.array([-1.8, -0.6, 0.1, 0.7, 1.5, -0.3])
# x / y and 5.3 / x stay away from integers, where % jumps.
MOD_X = np.array([2.3, 5.7, -1.4, 0.8])
MOD_Y = np.array([1.1, 2.0, 0.9, 1.7])

A = normal(3, 4)
B = normal(4, 2)
V3, V4 = normal(3), normal(4)
SQ = well_conditioned(3)

CASES = [
    # assignment, unpacking, augmented assignment
    (c.reassign_twice, (normal(3),), 0),
    (c.chain_of_temporaries, (normal(4),), 0),
    (c.tuple_unpack, (normal(3),), 0),
    (c.tuple_unpack_swap, (1.3, -0.4), 0),
    (c.tuple_unpack_swap, (1.3, -0.4), 1),
    (c.nested_unpack, (normal(3),), 0),
    (c.unpack_from_call, (SQ,), 0),
    (c.aug_add, (normal(3), normal(3)), (0, 1)),
    (c.aug_sub, (normal(3), normal(3)), (0, 1)),
    (c.aug_mul, (normal(3), normal(3)), (0, 1)),
    (c.aug_div, (normal(3), nonzero(3)), (0, 1)),
    (c.aug_pow, (normal(4),), 0),
    (c.aug_matmul, (normal(3, 3), normal(3, 3)), (0, 1)),
    (c.aug_on_parameter, (normal(4),), 0),
    (c.aug_add, (0.7, 1.1), 0),
    # operators, with constants on either side
    (c.op_add, (A, normal(3, 4)), (0, 1)),
    (c.op_sub, (A, normal(3, 4)), (0, 1)),
    (c.op_mul, (A, normal(3, 4)), (0, 1)),
    (c.op_div, (A, nonzero(3, 4)), (0, 1)),
    (c.op_mul, (1.5, -2.0), (0, 1)),
    (c.op_div, (1.5, -2.0), 1),
    (c.op_floordiv, (np.array([2.3, 5.75, -1.3, 0.8]),), 0),
    (c.op_mod, (MOD_X, MOD_Y), (0, 1)),
    (c.op_pow, (positive(4), normal(4)), (0, 1)),
    (c.op_pow, (1.7, 2.5), (0, 1)),
    (c.op_matmul, (A, B), (0, 1)),
    (c.op_neg, (normal(4),), 0),
    (c.op_pos, (normal(4),), 0),
    (c.const_left_sub, (normal(4),), 0),
    (c.const_left_div, (nonzero(4),), 0),
    (c.const_left_pow, (normal(4),), 0),
    (c.const_right_pow, (normal(4),), 0),
    (c.const_right_pow_float, (positive(4),), 0),
    (c.const_left_mod, (MOD_Y,), 0),
    (c.const_left_matmul, (normal(3, 2),), 0),
    (c.const_int_mul, (normal(4),), 0),
    # array attributes and methods
    (c.attr_T, (A,), 0),
    (c.attr_T_scaled, (A,), 0),
    (c.attr_shape_constant, (A,), 0),
    (c.attr_ndim_size, (A,), 0),
    (c.method_sum_axis, (A,), 0),
    (c.method_mean, (A,), 0),
    (c.method_max, (A,), 0),
    (c.method_min, (A,), 0),
    (c.method_reshape, (A,), 0),
    (c.method_reshape_minus_one, (A,), 0),
    (c.method_transpose, (A,), 0),
    (c.method_transpose_axes, (A,), 0),
    (c.method_dot, (A, B), (0, 1)),
    (c.method_astype, (A.astype(np.float32),), 0),
    (c.method_copy, (A,), 0),
    # subscripts
    (c.index_int, (V4,), 0),
    (c.index_negative, (V4,), 0),
    (c.index_slice, (V4,), 0),
    (c.index_step, (normal(5),), 0),
    (c.index_2d, (A,), 0),
    (c.index_row_and_slice, (A,), 0),
    (c.index_newaxis, (V4,), 0),
    (c.index_np_newaxis, (A,), 0),
    (c.index_ellipsis, (normal(2, 3, 4),), 0),
    (c.index_tuple_mixed, (A,), 0),
    (c.index_int_list, (V4,), 0),
    (c.index_int_array_repeated, (V4,), 0),
    (c.index_bool_mask_const, (V4,), 0),
    (c.index_bool_mask_computed, (nonzero(6),), 0),
    (c.index_2d_int_array, (A,), 0),
    # math module and builtins
    (c.math_sin_cos, (0.7,), 0),
    (c.math_tan, (0.4,), 0),
    (c.math_exp_log, (1.3,), 0),
    (c.math_sqrt, (2.1,), 0),
    (c.math_pow, (1.6, 2.3), (0, 1)),
    (c.math_atan2, (0.8, -1.3), (0, 1)),
    (c.math_hypot, (0.8, -1.3), (0, 1)),
    (c.math_tanh, (0.3,), 0),
    (c.math_inverse_trig, (0.4,), 0),
    (c.math_hyperbolic, (0.9,), 0),
    (c.math_logs, (1.3,), 0),
    (c.math_fabs, (-0.8,), 0),
    (c.math_constant_pi, (0.6,), 0),
    (c.builtin_abs, (nonzero(4),), 0),
    (c.builtin_abs, (-1.2,), 0),
    (c.builtin_sum, (V4,), 0),
    (c.builtin_max_min, (0.8, -0.5), (0, 1)),
    (c.builtin_pow, (normal(3),), 0),
    (c.builtin_float, (1.4,), 0),
    (c.builtin_len, (V4,), 0),
    # broadcasting: gradients are summed back to each input's shape
    (c.bcast_matrix_row, (A, V4), (0, 1)),
    (c.bcast_column_row, (normal(3, 1), normal(1, 4)), (0, 1)),
    (c.bcast_scalar_array, (1.7, A), (0, 1)),
    (c.bcast_scalar_array, (np.float64(-0.6), A), 0),
    (c.bcast_column_sub, (A, normal(3, 1)), (0, 1)),
    (c.bcast_row_div, (V4, nonzero(3, 4)), (0, 1)),
    (c.bcast_three_dims, (normal(2, 1, 4), normal(3, 1)), (0, 1)),
    # elementwise NumPy
    (c.np_sin, (A,), 0),
    (c.np_cos, (A,), 0),
    (c.np_tan, (unit(3, 4),), 0),
    (c.np_arcsin, (unit(5),), 0),
    (c.np_arccos, (unit(5),), 0),
    (c.np_arctan, (normal(5),), 0),
    (c.np_arctan2, (normal(5), nonzero(5)), (0, 1)),
    (c.np_arctan2, (A, V4), (0, 1)),
    (c.np_sinh, (normal(5),), 0),
    (c.np_cosh, (normal(5),), 0),
    (c.np_tanh, (A,), 0),
    (c.np_arcsinh, (normal(5),), 0),
    (c.np_arccosh, (1.0 + positive(5),), 0),
    (c.np_arctanh, (unit(5),), 0),
    (c.np_exp, (normal(5),), 0),
    (c.np_exp2, (normal(5),), 0),
    (c.np_expm1, (normal(5),), 0),
    (c.np_log, (positive(5),), 0),
    (c.np_log2, (positive(5),), 0),
    (c.np_log10, (positive(5),), 0),
    (c.np_log1p, (positive(5),), 0),
    (c.np_sqrt, (positive(5),), 0),
    (c.np_cbrt, (nonzero(5),), 0),
    (c.np_square, (normal(5),), 0),
    (c.np_reciprocal, (nonzero(5),), 0),
    (c.np_absolute, (nonzero(5),), 0),
    (c.np_abs, (nonzero(3, 4),), 0),
    (c.np_negative, (normal(5),), 0),
    (c.np_positive, (normal(5),), 0),
    (c.np_power, (positive(5), normal(5)), (0, 1)),
    (c.np_power, (positive(3, 4), normal(4)), (0, 1)),
    (c.np_power_const_exponent, (normal(5),), 0),
    (c.np_float_power, (positive(5), normal(5)), (0, 1)),
    (c.np_maximum, (FAR_X, FAR_Y), (0, 1)),
    (c.np_minimum, (FAR_X, FAR_Y), (0, 1)),
    (c.np_maximum_scalar, (nonzero(6),), 0),
    (c.np_fmax, (FAR_Y, FAR_X), (0, 1)),
    (c.np_fmin, (FAR_X, FAR_Y), (0, 1)),
    (c.np_clip, (CLIP_X,), 0),
    (c.np_where, (nonzero(3, 4), V4), (0, 1)),
    (c.np_where_same_input, (nonzero(5),), 0),
    (c.np_logaddexp, (normal(5), normal(5)), (0, 1)),
    (c.np_hypot, (normal(5), nonzero(5)), (0, 1)),
    (c.np_sinc, (nonzero(5),), 0),
    (c.np_deg2rad, (normal(5) * 90.0,), 0),
    (c.np_rad2deg, (normal(5),), 0),
    (c.np_imported_name, (normal(5),), 0),
    # reductions
    (c.np_sum, (A,), 0),
    (c.np_sum_axis0, (A,), 0),
    (c.np_sum_axis_negative, (A,), 0),
    (c.np_sum_axis_tuple, (normal(2, 3, 4),), 0),
    (c.np_sum_keepdims, (positive(3, 4),), 0),
    (c.np_sum_axis_argument, (A, 1), 0),
    (c.np_mean, (A,), 0),
    (c.np_mean_axis, (A,), 0),
    (c.np_mean_keepdims, (A,), 0),
    (c.np_prod, (positive(3, 4),), 0),
    (c.np_prod, (nonzero(5),), 0),
    (c.np_prod_axis, (nonzero(3, 4),), 0),
    (c.np_max, (A,), 0),
    (c.np_max_axis_keepdims, (A,), 0),
    (c.np_min_axis, (A,), 0),
    (c.np_amax, (A,), 0),
    (c.np_amin, (A,), 0),
    (c.np_var, (A,), 0),
    (c.np_var_axis_ddof, (A,), 0),
    (c.np_std, (A,), 0),
    (c.np_std_axis_keepdims, (A,), 0),
    (c.np_cumsum, (A,), 0),
    (c.np_cumsum_axis, (A,), 0),
    (c.np_cumprod, (nonzero(5),), 0),
    (c.np_cumprod_axis, (nonzero(3, 4),), 0),
    (c.softmax_cross_entropy, (normal(5, 3),), 0),
    # linear algebra
    (c.np_dot_vectors, (V4, normal(4)), (0, 1)),
    (c.np_dot_matrix_vector, (A, V4), (0, 1)),
    (c.np_dot_matrices, (A, B), (0, 1)),
    (c.np_dot_scalar, (1.3, V4), (0, 1)),
    (c.np_vdot, (A, normal(3, 4)), (0, 1)),
    (c.np_matmul, (A, B), (0, 1)),
    (c.np_matmul_batched, (normal(2, 3, 4), B), (0, 1)),
    (c.np_matmul_vector_matrix, (V3, A), (0, 1)),
    (c.np_inner, (V4, normal(4)), (0, 1)),
    (c.np_inner_matrices, (normal(2, 4), A), (0, 1)),
    (c.np_outer, (V3, V4), (0, 1)),
    (c.np_tensordot_one, (normal(2, 3), A), (0, 1)),
    (c.np_tensordot_axes_lists, (A, B), (0, 1)),
    (c.np_tensordot_two, (normal(2, 3, 4), A), (0, 1)),
    (c.einsum_matmul, (A, B), (0, 1)),
    (c.einsum_trace, (normal(3, 3),), 0),
    (c.einsum_column_sum, (A,), 0),
    (c.einsum_dot, (V4, normal(4)), (0, 1)),
    (c.einsum_batched, (normal(2, 3, 4), normal(2, 4, 2)), (0, 1)),
    (c.einsum_frobenius, (A,), 0),
    (c.np_trace, (normal(3, 3),), 0),
    (c.np_trace_offset, (A,), 0),
    (c.norm_vector, (V4,), 0),
    (c.norm_frobenius, (A,), 0),
    (c.norm_axis, (A,), 0),
    (c.norm_ord_one, (nonzero(5),), 0),
    (c.norm_imported, (V4,), 0),
    (c.np_inv, (SQ,), 0),
    (c.np_det, (SQ,), 0),
    (c.np_det, (normal(2, 2) + 2.0 * np.eye(2),), 0),
    (c.np_slogdet_logabs, (SQ,), 0),
    (c.np_slogdet_logabs, (-SQ,), 0),
    (c.np_solve_vector, (SQ, V3), (0, 1)),
    (c.np_solve_matrix, (SQ, normal(3, 2)), (0, 1)),
    # shape manipulation
    (c.np_reshape, (A,), 0),
    (c.np_ravel, (A,), 0),
    (c.np_transpose, (A,), 0),
    (c.np_transpose_axes, (normal(2, 3, 4),), 0),
    (c.np_swapaxes, (normal(2, 3, 4),), 0),
    (c.np_moveaxis, (normal(2, 3, 4),), 0),
    (c.np_squeeze, (normal(3, 1, 4),), 0),
    (c.np_squeeze_all, (normal(1, 4),), 0),
    (c.np_expand_dims, (V4,), 0),
    (c.np_concatenate, (V3, V4), (0, 1)),
    (c.np_concatenate_axis, (normal(2, 3), normal(2, 2)), (0, 1)),
    (c.np_concatenate_constant, (normal(3),), 0),
    (c.np_stack, (V3, normal(3)), (0, 1)),
    (c.np_stack_axis, (V3, normal(3)), (0, 1)),
    (c.np_vstack, (V3, normal(2, 3)), (0, 1)),
    (c.np_hstack, (V3, V4), (0, 1)),
    (c.np_broadcast_to, (V4,), 0),
    (c.np_tile, (V4,), 0),
    (c.np_tile_2d, (normal(2, 3),), 0),
    (c.np_repeat, (V4,), 0),
    (c.np_repeat_axis, (normal(2, 3),), 0),
    (c.np_flip, (V4,), 0),
    (c.np_flip_axis, (A,), 0),
    (c.np_diag_from_vector, (V4,), 0),
    (c.np_diag_of_matrix, (A,), 0),
    (c.np_take, (normal(2, 3),), 0),
    (c.np_take_axis, (normal(2, 3),), 0),
    (c.np_copy, (A,), 0),
    (c.np_array_of_scalars, (0.6, -1.1), (0, 1)),
    (c.np_array_of_array, (A,), 0),
    (c.np_asarray, (V4,), 0),
    # zero-gradient functions inside
    (c.zero_grad_shape, (A,), 0),
    (c.zero_grad_argmax, (normal(5),), 0),
    (c.zero_grad_argmin, (normal(5),), 0),
    (c.zero_grad_floor, (2.0 * normal(5),), 0),
    (c.zero_grad_ceil, (2.0 * normal(5),), 0),
    (c.zero_grad_round, (normal(5),), 0),
    (c.zero_grad_sign, (nonzero(5),), 0),
    (c.zero_grad_comparison, (nonzero(5),), 0),
    (c.zero_grad_only, (nonzero(5),), 0),
    # constructors used as constants
    (c.ctor_zeros, (V4,), 0),
    (c.ctor_ones, (V4,), 0),
    (c.ctor_zeros_like, (A,), 0),
    (c.ctor_ones_like, (nonzero(4),), 0),
    (c.ctor_full, (V4,), 0),
    (c.ctor_eye, (normal(3, 3),), 0),
    (c.ctor_arange, (V4,), 0),
    (c.ctor_linspace, (V4,), 0),
    (c.ctor_local_random_draw, (normal(3, 3),), 0),
    # dtypes: the gradient keeps the input's dtype
    (c.np_tanh, (A.astype(np.float32),), 0),
    (c.op_matmul, (A.astype(np.float32), B.astype(np.float32)), (0, 1)),
    (c.bcast_matrix_row, (A.astype(np.float32), V4.astype(np.float32)), (0, 1)),
    (c.np_sum_keepdims, (positive(3, 4).astype(np.float32),), 0),
    (c.float32_mixed_with_float64_constant, (V4.astype(np.float32),), 0),
    (c.float32_astype_float64, (V4.astype(np.float32),), 0),
    (c.np_sin, (V4.astype(np.float16),), 0),
    (c.np_sin, (np.float32(0.3),), 0),
    (c.scalar_polynomial, (np.float32(2.0),), 0),
    (c.scalar_polynomial, (2,), 0),
    (c.scalar_polynomial, (2.0,), 0),
    (c.bcast_scalar_array, (np.float32(1.5), A.astype(np.float32)), (0, 1)),
    # pytrees
    (c.dense_dict, ({"w": normal(3, 2), "b": normal(2)}, normal(4, 3)), 0),
    (c.dense_dict, ({"w": normal(3, 2), "b": normal(2)}, normal(4, 3)), (0, 1)),
    (c.dense_tuple, ((normal(3, 2), normal(2)), normal(4, 3)), 0),
    (c.dense_list, ([normal(3, 2), normal(2)], normal(4, 3)), 0),
    (c.nested_tree, ({"layer": (normal(3, 2), normal(2)), "scale": 1.5}, normal(4, 3)), 0),
    (c.tree_with_unused_leaf, ({"used": V4, "unused": normal(2, 2)},), 0),
    (c.tree_of_scalars, ((0.5, (1.5, -2.0)),), 0),
    (c.dense_dict, ({"w": normal(3, 2).astype(np.float32), "b": normal(2).astype(np.float32)},
                    normal(4, 3).astype(np.float32)), 0),
    # calls to other user functions are differentiated too
    (c.calls_user_function, (normal(4),), 0),
    (c.calls_user_function_twice, (normal(4, 3), normal(3, 2), normal(2)), (0, 1, 2)),
]

# Test ids of the most central rows, which also run in the quick subset.
QUICK = {"reassign_twice-0", "bcast_matrix_row-(0, 1)-float64(3x4)", "np_tanh-0-float32(3x4)",
         "softmax_cross_entropy-0", "np_matmul-(0, 1)", "scalar_polynomial-0-int",
         "dense_dict-0-float64(3x2)"}

#: (rtol, atol) for the lowest-precision float among the differentiated inputs.
TOLERANCE = {np.float16: (2e-2, 2e-2), np.float32: (2e-4, 2e-5), np.float64: (1e-5, 1e-7)}


def _positions(position):
    return position if isinstance(position, tuple) else (position,)


def _differentiated_leaves(args, position):
    return [leaf for p in _positions(position) for leaf in flatten(args[p])[0]]


def _tolerance(args, position):
    dtypes = [np.asarray(leaf).dtype for leaf in _differentiated_leaves(args, position)]
    lowest = min((d for d in dtypes if d.kind == "f"), key=lambda d: d.itemsize,
                 default=np.dtype(np.float64))
    return TOLERANCE[lowest.type]


def _assert_like_input(grad, arg):
    """Array and NumPy-scalar gradients keep the input's dtype and shape; Python
    numbers (ints included) get a float gradient."""
    for g, leaf in zip(flatten(grad)[0], flatten(arg)[0]):
        if isinstance(leaf, np.ndarray):
            assert isinstance(g, np.ndarray), f"expected an ndarray, got {type(g).__name__}"
            assert (g.dtype, g.shape) == (leaf.dtype, leaf.shape)
        elif isinstance(leaf, np.generic):
            assert (np.asarray(g).dtype, np.shape(g)) == (leaf.dtype, ())
        else:
            assert np.shape(g) == () and np.asarray(g).dtype.kind == "f", repr(g)


def _describe(leaf):
    if isinstance(leaf, (np.ndarray, np.generic)):
        shape = "x".join(map(str, leaf.shape))
        return f"{leaf.dtype.name}({shape})" if shape else leaf.dtype.name
    return type(leaf).__name__


def _ids(cases):
    """``function-position``, made unique by the first differentiated input's kind."""
    names = [f"{fn.__name__}-{pos}" for fn, _, pos in cases]
    counts = Counter(names)
    ids = [f"{name}-{_describe(_differentiated_leaves(args, pos)[0])}" if counts[name] > 1
           else name for name, (_, args, pos) in zip(names, cases)]
    seen, counts = Counter(), Counter(ids)
    unique = []
    for case_id in ids:
        seen[case_id] += 1
        unique.append(f"{case_id}-{seen[case_id]}" if counts[case_id] > 1 else case_id)
    return unique


def _params(cases):
    return [pytest.param(*row, id=case_id,
                         marks=[pytest.mark.quick] if case_id in QUICK else [])
            for row, case_id in zip(cases, _ids(cases))]


@pytest.mark.parametrize("fn, args, position", _params(CASES))
def test_grad_matches_finite_differences(fn, args, position):
    expected = numerical_grad(fn, args, position)
    # deepcopy: a case may update its argument in place (x += 1)
    actual = s2s.grad(fn, grad_position=position)(*copy.deepcopy(args))
    rtol, atol = _tolerance(args, position)
    assert_close(actual, expected, rtol, atol)
    grads = actual if isinstance(position, tuple) else (actual,)
    for p, grad in zip(_positions(position), grads):
        _assert_like_input(grad, args[p])


def test_table_is_large_and_covers_every_case_function():
    assert len(CASES) >= 170
    assert QUICK <= set(_ids(CASES))
    tested = {fn.__name__ for fn, _, _ in CASES}
    defined = {name for name, obj in vars(c).items()
               if callable(obj) and getattr(obj, "__module__", None) == c.__name__
               and not name.startswith("user_")}
    assert defined - tested == set()


def _straight_line(line: str, statements: int):
    """``def f(x)`` of ``statements`` copies of ``line`` on y, its source in linecache."""
    source = "def long(x):\n    y = x\n" + f"    {line}\n" * statements + "    return np.sum(y)\n"
    filename = f"<test straight line {line} x {statements}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["long"]


@pytest.mark.parametrize("line", ["y = y * 0.99", "y = np.sin(y)"])
def test_long_chains_of_statements(line):
    """260 statements, each feeding the next: the passes that fuse them stop at a bounded
    depth, so nothing (deepcopy, the compiler) recurses as deep as the function is long."""
    f = _straight_line(line, 260)
    x = rng.uniform(0.1, 0.5, 3)
    assert_close(s2s.grad(f)(x), numerical_grad(f, (x,)))
