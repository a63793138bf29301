"""Straight-line functions differentiated by tests/test_grad_core.py.

They live in a real module so that s2s can read their source. Each one exercises one
construct or one rule, always called from user code rather than handed to s2s directly.
Names say what is exercised; the table in test_grad_core.py gives the inputs.
"""
import math

import numpy
import numpy as np
from numpy import sin as imported_sin
from numpy.linalg import norm as imported_norm

CONST_ROW = np.array([0.5, -1.0, 2.0, 0.25])
CONST_MAT = np.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 1.5], [0.2, -0.4, 2.0]])
MASK = np.array([True, False, True, True])


# --- assignment, unpacking, augmented assignment --------------------------------------

def reassign_twice(x):
    x = x * 2
    x = x * 2
    return x * x


def chain_of_temporaries(x):
    a = np.sin(x)
    b = a * x
    c = b + a
    return c * c


def tuple_unpack(x):
    a, b = x[0], x[1]
    return a * b + np.sin(a)


def tuple_unpack_swap(x, y):
    a, b = x, y
    a, b = b, a
    return a * 3.0 + b * b


def nested_unpack(x):
    (a, b), c = (x[0], x[1]), x[2]
    return a * b * c


def unpack_from_call(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


def aug_add(x, y):
    z = x * 1.0
    z += y
    return z * z


def aug_sub(x, y):
    z = x * 1.0
    z -= y * y
    return np.sin(z)


def aug_mul(x, y):
    z = x + 0.0
    z *= y
    return z * z


def aug_div(x, y):
    z = x + 0.0
    z /= y
    return np.sin(z)


def aug_pow(x):
    z = x + 0.0
    z **= 3
    return z


def aug_matmul(a, b):
    z = a + 0.0
    z @= b
    return z


def aug_on_parameter(x):
    x += 1.0
    x *= x
    return x


# --- operators --------------------------------------------------------------------------

def op_add(x, y):
    return x + y


def op_sub(x, y):
    return x - y


def op_mul(x, y):
    return x * y


def op_div(x, y):
    return x / y


def op_floordiv(x):
    # floor division is piecewise constant: only the `+ x` term carries gradient
    return x // 0.7 + x


def op_mod(x, y):
    return x % y


def op_pow(x, y):
    return x ** y


def op_matmul(a, b):
    return a @ b


def op_neg(x):
    return -x * x


def op_pos(x):
    return +x * 2.0


def const_left_sub(x):
    return 2.0 - x


def const_left_div(x):
    return 3.0 / x


def const_left_pow(x):
    return 2.0 ** x


def const_right_pow(x):
    return x ** 3


def const_right_pow_float(x):
    return x ** 2.5


def const_left_mod(x):
    return 5.3 % x


def const_left_matmul(x):
    return CONST_MAT @ x


def const_int_mul(x):
    return 3 * x + x * 2 - 1


# --- array attributes and methods ----------------------------------------------------

def attr_T(x):
    return x.T @ x


def attr_T_scaled(x):
    return x.T * 2.0


def attr_shape_constant(x):
    return np.ones(x.shape) * x * x


def attr_ndim_size(x):
    return x.sum() / x.size + x.ndim * x


def method_sum_axis(x):
    return x.sum(axis=0) ** 2


def method_mean(x):
    return x.mean(axis=1, keepdims=True) * x


def method_max(x):
    return x.max(axis=0)


def method_min(x):
    return x.min() * x.sum()


def method_reshape(x):
    return x.reshape(2, 6) @ x.reshape((6, 2))


def method_reshape_minus_one(x):
    return np.sin(x.reshape(-1))


def method_transpose(x):
    return x.transpose() @ x


def method_transpose_axes(x):
    return np.cos(x.transpose(1, 0)) * CONST_ROW[:, None]


def method_dot(x, w):
    return np.tanh(x.dot(w))


def method_astype(x):
    return np.exp(x.astype(np.float64))


def method_copy(x):
    y = x.copy()
    return y * x


# --- subscripts -------------------------------------------------------------------------

def index_int(x):
    return x[1] * x[2]


def index_negative(x):
    return x[-1] ** 2


def index_slice(x):
    return x[1:3] * x[:2]


def index_step(x):
    return x[::2] * 2.0


def index_2d(x):
    return x[1, 2] * x[0, -1]


def index_row_and_slice(x):
    return x[1, ::2] * x[:, 0].sum()


def index_newaxis(x):
    return x[:, None] * x[None, :]


def index_np_newaxis(x):
    return x[np.newaxis, :, 1] * 3.0


def index_ellipsis(x):
    return x[..., 0] * x[..., -1]


def index_tuple_mixed(x):
    return x[0, ..., None] * x[None, 1, :]


def index_int_list(x):
    return x[[0, 2]] * 2.0


def index_int_array_repeated(x):
    # a repeated index must accumulate its cotangents
    return np.sin(x[np.array([0, 2, 2, 1])])


def index_bool_mask_const(x):
    return x[MASK] ** 2


def index_bool_mask_computed(x):
    return x[x > 0] * 3.0


def index_2d_int_array(x):
    return x[np.array([2, 0]), :] * x[:, np.array([1])].T[:, :2].sum()


# --- math module and builtins ------------------------------------------------------------

def math_sin_cos(x):
    return math.sin(x) * math.cos(x)


def math_tan(x):
    return math.tan(x)


def math_exp_log(x):
    return math.exp(x) + math.log(x)


def math_sqrt(x):
    return math.sqrt(x) * x


def math_pow(x, y):
    return math.pow(x, y)


def math_atan2(y, x):
    return math.atan2(y, x)


def math_hypot(x, y):
    return math.hypot(x, y)


def math_tanh(x):
    return math.tanh(x) * 2.0


def math_inverse_trig(x):
    return math.asin(x) + math.acos(x * 0.5) + math.atan(x)


def math_hyperbolic(x):
    return math.sinh(x) + math.cosh(x)


def math_logs(x):
    return math.log10(x) + math.log2(x) + math.log1p(x) + math.expm1(x)


def math_fabs(x):
    return math.fabs(x) * x


def math_constant_pi(x):
    return math.pi * x * x


def builtin_abs(x):
    return abs(x) * 2.0


def builtin_sum(x):
    return sum(x) * x[0]


def builtin_max_min(x, y):
    return max(x, y) * 2.0 + min(x, y)


def builtin_pow(x):
    return pow(x, 3)


def builtin_float(x):
    return float(x) * x


def builtin_len(x):
    return x * len(x)


# --- broadcasting ---------------------------------------------------------------------

def bcast_matrix_row(m, r):
    return np.sin(m + r)


def bcast_column_row(c, r):
    return c * r


def bcast_scalar_array(s, x):
    return s * x


def bcast_column_sub(m, c):
    return m - c


def bcast_row_div(r, m):
    return r / m


def bcast_three_dims(a, b):
    return a * b


# --- elementwise NumPy --------------------------------------------------------------------

def np_sin(x):
    return np.sin(x)


def np_cos(x):
    return np.cos(x) * x


def np_tan(x):
    return np.tan(x)


def np_arcsin(x):
    return np.arcsin(x)


def np_arccos(x):
    return np.arccos(x)


def np_arctan(x):
    return np.arctan(x)


def np_arctan2(y, x):
    return np.arctan2(y, x)


def np_sinh(x):
    return np.sinh(x)


def np_cosh(x):
    return np.cosh(x)


def np_tanh(x):
    return np.tanh(x)


def np_arcsinh(x):
    return np.arcsinh(x)


def np_arccosh(x):
    return np.arccosh(x)


def np_arctanh(x):
    return np.arctanh(x)


def np_exp(x):
    return np.exp(x)


def np_exp2(x):
    return np.exp2(x)


def np_expm1(x):
    return np.expm1(x)


def np_log(x):
    return np.log(x)


def np_log2(x):
    return np.log2(x)


def np_log10(x):
    return np.log10(x)


def np_log1p(x):
    return np.log1p(x)


def np_sqrt(x):
    return np.sqrt(x)


def np_cbrt(x):
    return np.cbrt(x)


def np_square(x):
    return np.square(x)


def np_reciprocal(x):
    return np.reciprocal(x)


def np_absolute(x):
    return np.absolute(x) * x


def np_abs(x):
    return np.abs(x)


def np_negative(x):
    return np.negative(x) * np.sin(x)


def np_positive(x):
    return np.positive(x) * x


def np_power(x, y):
    return np.power(x, y)


def np_power_const_exponent(x):
    return np.power(x, 3)


def np_float_power(x, y):
    return np.float_power(x, y)


def np_maximum(x, y):
    return np.maximum(x, y)


def np_minimum(x, y):
    return np.minimum(x, y)


def np_maximum_scalar(x):
    return np.maximum(x, 0.0)


def np_fmax(x, y):
    return np.fmax(x, y)


def np_fmin(x, y):
    return np.fmin(x, y)


def np_clip(x):
    return np.clip(x, -1.0, 1.0) * 2.0


def np_where(x, y):
    return np.where(x > 0, x, y)


def np_where_same_input(x):
    return np.where(x > 0, x * x, 0.1 * x)


def np_logaddexp(x, y):
    return np.logaddexp(x, y)


def np_hypot(x, y):
    return np.hypot(x, y)


def np_sinc(x):
    return np.sinc(x)


def np_deg2rad(x):
    return np.sin(np.deg2rad(x))


def np_rad2deg(x):
    return np.rad2deg(x) * x


def np_imported_name(x):
    return imported_sin(x) * numpy.cos(x)


# --- reductions -------------------------------------------------------------------------

def np_sum(x):
    return np.sum(x * x)


def np_sum_axis0(x):
    return np.sum(x, axis=0) ** 2


def np_sum_axis_negative(x):
    return np.sum(x, -1) ** 2


def np_sum_axis_tuple(x):
    return np.sum(x, axis=(0, 2)) ** 2


def np_sum_keepdims(x):
    return x / np.sum(x, axis=1, keepdims=True)


def np_sum_axis_argument(x, axis):
    return np.sum(x, axis=axis) ** 2


def np_mean(x):
    return np.mean(x) * x


def np_mean_axis(x):
    return np.mean(x, axis=0) ** 2


def np_mean_keepdims(x):
    return x - np.mean(x, axis=1, keepdims=True)


def np_prod(x):
    return np.prod(x)


def np_prod_axis(x):
    return np.prod(x, axis=1)


def np_max(x):
    return np.max(x)


def np_max_axis_keepdims(x):
    return x - np.max(x, axis=1, keepdims=True)


def np_min_axis(x):
    return np.min(x, axis=0)


def np_amax(x):
    return np.amax(x, axis=1)


def np_amin(x):
    return np.amin(x) * x


def np_var(x):
    return np.var(x)


def np_var_axis_ddof(x):
    return np.var(x, axis=0, ddof=1)


def np_std(x):
    return np.std(x)


def np_std_axis_keepdims(x):
    return x / np.std(x, axis=1, keepdims=True)


def np_cumsum(x):
    return np.cumsum(x) ** 2


def np_cumsum_axis(x):
    return np.cumsum(x, axis=1) ** 2


def np_cumprod(x):
    return np.cumprod(x)


def np_cumprod_axis(x):
    return np.cumprod(x, axis=0)


def softmax_cross_entropy(logits):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[:, 0])


# --- linear algebra ----------------------------------------------------------------------

def np_dot_vectors(x, y):
    return np.dot(x, y)


def np_dot_matrix_vector(a, x):
    return np.dot(a, x)


def np_dot_matrices(a, b):
    return np.dot(a, b)


def np_dot_scalar(s, x):
    return np.dot(s, x)


def np_vdot(x, y):
    return np.vdot(x, y)


def np_matmul(a, b):
    return np.matmul(a, b)


def np_matmul_batched(a, b):
    return np.matmul(a, b)


def np_matmul_vector_matrix(x, b):
    return x @ b


def np_inner(x, y):
    return np.inner(x, y)


def np_inner_matrices(a, b):
    return np.inner(a, b)


def np_outer(x, y):
    return np.outer(x, y)


def np_tensordot_one(a, b):
    return np.tensordot(a, b, axes=1)


def np_tensordot_axes_lists(a, b):
    return np.tensordot(a, b, axes=([1], [0]))


def np_tensordot_two(a, b):
    return np.tensordot(a, b, axes=2)


def einsum_matmul(a, b):
    return np.einsum("ij,jk->ik", a, b)


def einsum_trace(a):
    return np.einsum("ii->", a)


def einsum_column_sum(a):
    return np.einsum("ij->j", a) ** 2


def einsum_dot(x, y):
    return np.einsum("i,i->", x, y)


def einsum_batched(a, b):
    return np.einsum("bij,bjk->bik", a, b)


def einsum_frobenius(a):
    return np.einsum("ij,ij->", a, a)


def np_trace(a):
    return np.trace(a) * a


def np_trace_offset(a):
    return np.trace(a, offset=1) ** 2


def norm_vector(x):
    return np.linalg.norm(x)


def norm_frobenius(a):
    return np.linalg.norm(a)


def norm_axis(a):
    return np.linalg.norm(a, axis=1)


def norm_ord_one(x):
    return np.linalg.norm(x, ord=1)


def norm_imported(x):
    return imported_norm(x) * x


def np_inv(a):
    return np.linalg.inv(a)


def np_det(a):
    return np.linalg.det(a)


def np_slogdet_logabs(a):
    return np.linalg.slogdet(a)[1]


def np_solve_vector(a, b):
    return np.linalg.solve(a, b)


def np_solve_matrix(a, b):
    return np.linalg.solve(a, b) ** 2


# --- shape manipulation -----------------------------------------------------------------

def np_reshape(x):
    return np.reshape(x, (4, 3)) * np.arange(12.0).reshape(4, 3)


def np_ravel(x):
    return np.ravel(x) * np.arange(12.0)


def np_transpose(x):
    return np.transpose(x) @ x


def np_transpose_axes(x):
    return np.sin(np.transpose(x, (2, 0, 1)))


def np_swapaxes(x):
    return np.swapaxes(x, 0, 2) * np.arange(4.0)[:, None, None]


def np_moveaxis(x):
    return np.moveaxis(x, 0, -1) * np.arange(2.0)


def np_squeeze(x):
    return np.squeeze(x, axis=1) @ CONST_ROW


def np_squeeze_all(x):
    return np.squeeze(x) * CONST_ROW


def np_expand_dims(x):
    return np.expand_dims(x, 0) * x[:, None]


def np_concatenate(x, y):
    return np.concatenate([x, y]) * np.arange(7.0)


def np_concatenate_axis(x, y):
    return np.concatenate((x, y, x), axis=1) ** 2


def np_concatenate_constant(x):
    return np.concatenate([x, np.ones(2)]) ** 2


def np_stack(x, y):
    return np.stack([x, y]) * np.arange(2.0)[:, None]


def np_stack_axis(x, y):
    return np.stack((x, x * y), axis=1) ** 2


def np_vstack(x, y):
    return np.vstack([x, y]) ** 2


def np_hstack(x, y):
    return np.hstack([x, y]) * np.arange(7.0)


def np_broadcast_to(x):
    return np.broadcast_to(x, (3, 4)) * np.arange(12.0).reshape(3, 4)


def np_tile(x):
    return np.tile(x, 3) * np.arange(12.0)


def np_tile_2d(x):
    return np.tile(x, (2, 1)) ** 2


def np_repeat(x):
    return np.repeat(x, 2) * np.arange(8.0)


def np_repeat_axis(x):
    return np.repeat(x, 3, axis=0) ** 2


def np_flip(x):
    return np.flip(x) * np.arange(4.0)


def np_flip_axis(x):
    return np.flip(x, axis=1) * np.arange(12.0).reshape(3, 4)


def np_diag_from_vector(x):
    return np.diag(x) @ CONST_ROW


def np_diag_of_matrix(a):
    return np.diag(a) ** 2


def np_take(x):
    return np.take(x, [0, 3, 3]) ** 2


def np_take_axis(x):
    return np.take(x, [2, 0], axis=1) ** 2


def np_copy(x):
    return np.copy(x) * x


def np_array_of_scalars(a, b):
    return np.array([a, b, a * b]) ** 2


def np_array_of_array(x):
    return np.array(x) * np.sin(x)


def np_asarray(x):
    return np.asarray(x) ** 3


# --- zero-gradient functions: gradient flows only through the other paths ---------------

def zero_grad_shape(x):
    return np.ones(np.shape(x)) * x


def zero_grad_argmax(x):
    return x[np.argmax(x)] * 2.0 + x.sum()


def zero_grad_argmin(x):
    return x[np.argmin(x)] * x[0]


def zero_grad_floor(x):
    return np.floor(x) * x


def zero_grad_ceil(x):
    return np.ceil(x) + x * x


def zero_grad_round(x):
    return np.round(x, 1) * x


def zero_grad_sign(x):
    return np.sign(x) * x


def zero_grad_comparison(x):
    return (x > 0) * x + (x <= 0) * 0.1 * x


def zero_grad_only(x):
    # no path from x to the output carries gradient: the result is all zeros
    return np.floor(x) + np.sign(x)


# --- constructors used as constants ----------------------------------------------------

def ctor_zeros(x):
    return np.zeros(4) + x * x


def ctor_ones(x):
    return np.ones((3, 4)) * x


def ctor_zeros_like(x):
    return np.zeros_like(x) + np.sin(x)


def ctor_ones_like(x):
    return np.ones_like(x) / x


def ctor_full(x):
    return np.full((2, 4), 2.5) * x


def ctor_eye(a):
    return (np.eye(3) + a) @ a


def ctor_arange(x):
    return np.arange(4) * x ** 2


def ctor_linspace(x):
    return np.linspace(0.0, 1.0, 4) * np.exp(x)


def ctor_local_random_draw(a):
    # a draw sized by a.shape[0] from a generator made inside: a constant, as np.ones is
    rng = np.random.RandomState(0)
    return np.dot(np.sin(a), rng.randn(a.shape[0]))


# --- dtypes -------------------------------------------------------------------------------

def float32_mixed_with_float64_constant(x):
    return x * CONST_ROW


def float32_astype_float64(x):
    return np.sin(x.astype(np.float64))


def scalar_polynomial(x):
    return 3 * x ** 2 + 4 * x


# --- pytrees ------------------------------------------------------------------------------

def dense_dict(params, x):
    return np.tanh(x @ params["w"] + params["b"])


def dense_tuple(params, x):
    w, b = params
    return np.sum((x @ w + b) ** 2)


def dense_list(params, x):
    return np.sum(np.sin(x @ params[0]) * params[1])


def nested_tree(params, x):
    w, b = params["layer"]
    return np.mean(np.tanh(x @ w + b)) * params["scale"]


def tree_with_unused_leaf(params):
    return params["used"] * 2.0


def tree_of_scalars(params):
    return params[0] * params[1][0] + params[1][1] ** 2


# --- calls to other user functions -------------------------------------------------------

def user_square(x):
    return x * x


def user_affine(x, w, b):
    return x @ w + b


def calls_user_function(x):
    return user_square(np.sin(x))


def calls_user_function_twice(x, w, b):
    h = np.tanh(user_affine(x, w, b))
    return user_square(h).sum()
