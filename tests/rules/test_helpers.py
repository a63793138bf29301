"""The math of the tangent and reverse rules of the helpers that generated gradient code calls
(``s2s/numpy_helpers.py`` and the runtime's ``add``, ``add_at``, ``own``, ``restructure``).

Each row of ``CASES`` is one helper call: (helper, args, kwargs, differentiated parameters,
tie). Both of the helper's rules are checked on it against central differences in float64
by the harness (``check_row``): the tangent rule along random tangents, the reverse rule
against the gradient of ``<helper(...), dresult>``, entry by entry.

A helper's ``result``-like argument (``np.prod(x)`` in ``prod_adjoint(g, x, product, ...)``)
moves with ``x`` in generated code: ``tie`` recomputes it from the other arguments, for the
call and for every shifted call of the oracle.
"""
from __future__ import annotations

import copy
import importlib.util
import inspect

import numpy as np
import pytest

from s2s.runtime import numpy_helpers

from s2s import runtime
from s2s.runtime.numpy_helpers import (cotangent_or_zeros, cumprod_adjoint, diag_adjoint, dot_adjoint_a,
                               dot_adjoint_b, einsum_adjoints, expand_reduced, extremum_share,
                               hstack_adjoint, inner_adjoint, match_dtype, matmul_adjoint_x1,
                               matmul_adjoint_x2, matrix_transpose, norm_adjoint, power_dbase,
                               power_dexponent, prod_adjoint, product_of_others,
                               restore_reduced_axes, reverse_cumsum, share_among_args,
                               share_among_extrema, solve_adjoint_a, solve_adjoint_b, split_like,
                               split_sum, tensordot_adjoint_a, tensordot_adjoint_b, trace_adjoint,
                               unblock, unbroadcast, unpack_like, unrepeat, unstack, untake, untile)
from s2s.rules import NONDIFFERENTIABLE, REVERSE, TANGENT
from s2s.compiler.reverse.sweep import list_operand, numeric_operand
from s2s.runtime import (add, add_at, add_at_iteration, broadcast_like, cleared_item, fresh_copy,
                         items_cotangent, items_tangent, ones_like, own, restructure,
                         sorted_tangent, unsort, zeros_like)
from s2s.runtime.numpy_helpers import inverse_permutation, normalize_axes
from s2s.runtime.shape_helpers import (checked_pad_mode, diff_pieces, gradient_adjoint,
                                       join_tangents, kron_axes, kron_blocks, pad_adjoint,
                                       pad_constant_adjoint, padded_shape, padding_along,
                                       rollaxis_destination, select_default_mask, split_joined,
                                       zeros_unless_absent)
from tests.rules.audit import audit
from tests.rules.harness import join_values as j
from tests.rules.harness import (apply_adjoint, apply_tangent, away, bind, check_row, key, leaves,
                                 matrix, pos, r, random_like, tangent_problems, template_problems,
                                 to_float32)
from tests.rules.harness import case as row

# the rules of the two helpers modules (forward/helpers.py also holds some reverse rules)
HELPER_MODULES = ("s2s.templates.forward.helpers", "s2s.templates.forward.helpers_extra",
                  "s2s.templates.reverse.helpers")
HELPER_TANGENTS = {k: rule for k, rule in TANGENT.items() if rule.__module__ in HELPER_MODULES}
HELPER_ADJOINTS = {k: rule for k, rule in REVERSE.items() if rule.__module__ in HELPER_MODULES}

def case(helper, *args, wrt, tie=None):
    """One table row: ``wrt`` names the differentiated parameters, space separated."""
    return row(helper, *args, wrt=wrt, tie=tie)


def like(value):
    """A random cotangent with ``value``'s shape."""
    return r(*np.shape(value))


# --- ties: arguments that generated code computes from others --------------------------------

def tie_product(a):
    a["product"] = np.prod(a["x"], axis=a["axis"], keepdims=a["keepdims"])


def tie_products(a):
    a["products"] = np.cumprod(a["x"], axis=a["axis"])


def tie_norm(a):
    a["norm"] = np.linalg.norm(a["x"], a["ord"], a["axis"], a["keepdims"])


def tie_maximum(a):
    a["extremum"] = np.maximum(a["x"], a["other"])


def tie_max(a):
    a["extremum"] = np.max(a["x"], axis=a["axis"], keepdims=a["keepdims"])


def tie_max_of_args(a):
    a["extremum"] = max(*a["args"])


# --- the cases ---------------------------------------------------------------------------------

WITH_ZERO = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0]])
TWO_ZEROS = np.array([[0.0, 2.0, 0.0, 1.5], [1.1, -0.4, 2.0, 0.9]])
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
X34, O34 = r(3, 4), r(3, 4)
O34[0, :2] = X34[0, :2]          # ties between the two operands of a maximum

SHAPES = [
    case(match_dtype, r(3, 4), r(3, 4), wrt="g"),
    case(match_dtype, r(3), 1.5, wrt="g"),
    case(unbroadcast, r(2, 3, 4), r(3, 1), wrt="g"),
    case(unbroadcast, r(3, 4), r(4), wrt="g"),
    case(unbroadcast, r(3, 4), 0.5, wrt="g"),
    case(restore_reduced_axes, r(2, 4), r(2, 3, 4), 1, False, wrt="g"),
    case(restore_reduced_axes, r(3), r(2, 3, 4), (0, -1), False, wrt="g"),
    case(restore_reduced_axes, 1.3, r(3, 4), None, False, wrt="g"),
    case(restore_reduced_axes, r(3, 1), r(3, 4), 1, True, wrt="g"),
    case(expand_reduced, r(4), r(3, 4), 0, False, wrt="g"),
    case(expand_reduced, r(3), r(2, 3, 4), (0, 2), False, wrt="g"),
    case(expand_reduced, 0.8, r(3, 4), None, False, wrt="g"),
    case(expand_reduced, r(2, 1, 4), r(2, 3, 4), -2, True, wrt="g"),
    case(matrix_transpose, r(3, 4), wrt="x"),
    case(matrix_transpose, r(2, 3, 4), wrt="x"),
    case(cotangent_or_zeros, r(3, 4), r(3, 4), wrt="g"),
    case(cotangent_or_zeros, 0.7, r(3, 4), wrt="g"),
]

ELEMENTWISE = [
    case(power_dbase, pos(3, 4), r(3, 4), wrt="x1 x2"),
    case(power_dbase, pos(3, 1), r(4), wrt="x1 x2"),
    case(power_dbase, r(3, 4), 3.0, wrt="x1"),
    case(power_dbase, r(3, 4), 2, wrt="x1"),
    case(power_dbase, pos(3), 0.5, wrt="x1 x2"),
    case(power_dbase, 1.7, 2.3, wrt="x1 x2"),
    case(power_dexponent, pos(3, 4), pos(3, 4), wrt="x1 power"),
    case(power_dexponent, pos(3, 1), pos(3, 4), wrt="x1 power"),
    case(power_dexponent, 1.3, 0.8, wrt="x1 power"),
    case(extremum_share, r(3, 4), X34, O34, None, wrt="g", tie=tie_maximum),
    case(extremum_share, r(3, 4), X34, 0.1, None, wrt="g", tie=tie_maximum),
    case(share_among_args, 1.3, None, (0.3, 2.5, -1.0), wrt="g", tie=tie_max_of_args),
    case(share_among_args, 0.6, None, (0.3, 2.5, 2.5), wrt="g", tie=tie_max_of_args),
    case(share_among_args, -0.4, None, ([0.3, 2.5, -1.0],), wrt="g", tie=tie_max_of_args),
    case(share_among_args, 0.9, None, (r(5),), wrt="g", tie=tie_max_of_args),
    case(split_sum, r(3), [r(3), r(3), r(3)], wrt="g"),
    case(split_sum, r(2, 3), [r(2, 3), r(3)], wrt="g"),
    case(split_sum, r(3), r(4, 3), wrt="g"),
]

REDUCTIONS = [
    case(share_among_extrema, r(4), X34, None, 0, False, wrt="g", tie=tie_max),
    case(share_among_extrema, r(2), TIES, None, 1, False, wrt="g", tie=tie_max),
    case(share_among_extrema, r(3, 1), X34, None, 1, True, wrt="g", tie=tie_max),
    case(share_among_extrema, 1.2, TIES, None, None, False, wrt="g", tie=tie_max),
    case(product_of_others, r(3, 4), (1,), wrt="x"),
    case(product_of_others, WITH_ZERO, (1,), wrt="x"),
    case(product_of_others, TWO_ZEROS, (0, 1), wrt="x"),
    case(product_of_others, r(2, 3, 4), (0, 2), wrt="x"),
    case(prod_adjoint, r(3), away(3, 4), None, 1, False, wrt="g x", tie=tie_product),
    case(prod_adjoint, r(2), WITH_ZERO, None, -1, False, wrt="g x", tie=tie_product),
    case(prod_adjoint, 0.7, TWO_ZEROS, None, None, False, wrt="g x", tie=tie_product),
    case(prod_adjoint, r(1, 3), WITH_ZERO, None, 0, True, wrt="g x", tie=tie_product),
    case(prod_adjoint, r(3), r(2, 3, 4), None, (0, 2), False, wrt="g x", tie=tie_product),
    case(reverse_cumsum, r(3, 4), 0, wrt="g"),
    case(reverse_cumsum, r(2, 3, 4), -1, wrt="g"),
    case(cumprod_adjoint, r(3, 4), away(3, 4), None, 1, wrt="g x", tie=tie_products),
    case(cumprod_adjoint, r(2, 3), WITH_ZERO, None, 1, wrt="g x", tie=tie_products),
    case(cumprod_adjoint, r(2, 4), TWO_ZEROS, None, 1, wrt="g x", tie=tie_products),
    case(cumprod_adjoint, r(2, 4), TWO_ZEROS, None, 0, wrt="g x", tie=tie_products),
    case(cumprod_adjoint, r(2, 3, 4), r(2, 3, 4), None, -2, wrt="g x", tie=tie_products),
]

# rows added after the tables' random stream was set draw from their own generator, so
# that adding them moves no other table's inputs (some sit near a degenerate point)
_fresh = np.random.default_rng(20261203)


# a loop's cotangent buffer (add_at_iteration's rows use fixed values: no generator moves)
LOOP_BUFFER = np.array([[0.5, -1.0, 1.5, 0.2], [-0.3, 0.8, 1.1, -1.4], [0.9, -0.6, 0.1, 1.2]])


def fresh(*shape):
    return _fresh.uniform(-2.0, 2.0, shape)

# three rows of distinct sums: sorted by np.sum, away from ties
UNSORTED = np.array([[0.5, 0.9], [-1.0, 0.2], [2.0, -0.4]])

SHAPE_HELPERS = [
    case(split_like, r(6, 3), [r(2, 3), r(4, 3)], 0, wrt="g"),
    case(split_like, r(3, 7), (r(3, 1), r(3, 4), r(3, 2)), 1, wrt="g"),
    case(split_like, r(10), [r(2, 3), r(4)], None, wrt="g"),
    case(split_like, r(3, 3), [r(3), r(2, 3)], 0, wrt="g"),
    case(split_like, fresh(2, 1), fresh(2), 0, wrt="g"),        # np.vstack of a 1-D array's numbers
    case(split_like, fresh(1, 3), fresh(3), 1, wrt="g"),        # np.column_stack of them
    case(split_joined, j(6), np.r_, (j(3), 1.5, j(2)), wrt="g"),
    case(split_joined, j(3, 3), np.c_, (j(3), j(3, 2)), wrt="g"),
    case(join_tangents, np.r_, (j(3), 1.5, j(2)), [j(3), 0.4, j(2)], wrt="dkey"),
    case(join_tangents, np.c_, (j(3), j(3, 2)), (j(3), j(3, 2)), wrt="dkey"),
    case(hstack_adjoint, r(5), [r(3), r(2)], wrt="g"),
    case(hstack_adjoint, r(2, 4), (r(2, 3), r(2, 1)), wrt="g"),
    case(items_tangent, [fresh(3), fresh(2)], [fresh(3), fresh(2)], list, wrt="tangent"),
    case(items_tangent, fresh(2, 3), fresh(2, 3), tuple, wrt="tangent"),
    case(items_cotangent, [fresh(3), fresh(2)], (fresh(3), fresh(2)), wrt="cotangent"),
    case(items_cotangent, [fresh(3), fresh(3)], fresh(2, 3), wrt="cotangent"),
    case(sorted_tangent, [fresh(2), fresh(2), fresh(2)], [UNSORTED[0], UNSORTED[1], UNSORTED[2]], np.sum,
         False, wrt="tangent"),
    case(sorted_tangent, fresh(3), np.array([0.4, -1.2, 0.9]), None, True, wrt="tangent"),
    case(unsort, [fresh(2), fresh(2), fresh(2)], [UNSORTED[0], UNSORTED[1], UNSORTED[2]], np.sum, False,
         wrt="cotangent"),
    case(unsort, [0.3, -0.2, 1.1], np.array([0.4, -1.2, 0.9]), None, True, wrt="cotangent"),
    case(unstack, r(3, 4), [r(4), r(4), r(4)], 0, wrt="g"),
    case(unstack, r(2, 2, 3), [r(2, 3), r(2, 3)], 1, wrt="g"),
    case(unblock, r(3, 4), [[r(2, 3), r(2, 1)], [r(1, 4)]], wrt="g"),
    case(unblock, r(2, 2), [[0.5, 1.0], [2.0, 1.0]], wrt="g"),
    case(unblock, r(7), [r(3), 0.5, r(3)], wrt="g"),
    case(unpack_like, r(3, 4), r(3, 4), wrt="g"),
    case(unpack_like, r(2, 3), [r(3), r(3)], wrt="g"),
    case(unpack_like, r(3), [0.5, -1.5, 2.0], wrt="g"),
    case(unpack_like, r(2, 2), [[0.5, 1.0], [2.0, 1.0]], wrt="g"),
    case(untile, r(6), r(3), 2, wrt="g"),
    case(untile, r(4, 3), r(2, 3), (2, 1), wrt="g"),
    case(untile, r(2, 2, 9), r(2, 3), (2, 1, 3), wrt="g"),
    case(pad_adjoint, fresh(7), fresh(4), (2, 1), "constant", "even", wrt="g"),
    case(pad_adjoint, fresh(4, 5), fresh(2, 3), ((1, 1), (0, 2)), "reflect", "even", wrt="g"),
    case(pad_adjoint, fresh(8), fresh(3), (3, 2), "wrap", "even", wrt="g"),
    case(pad_constant_adjoint, fresh(5, 4), fresh(2, 3), ((1, 2), (0, 1)), 0.5, wrt="g"),
    case(pad_constant_adjoint, fresh(6), fresh(3), (2, 1), (0.5, -1.0), wrt="g"),
    case(gradient_adjoint, fresh(5), fresh(5), (), None, 1, wrt="g"),
    case(gradient_adjoint, [fresh(3, 4), fresh(3, 4)], fresh(3, 4), (0.5,), None, 2, wrt="g"),
    case(gradient_adjoint, fresh(3, 4), fresh(3, 4), (), 1, 1, wrt="g"),
    case(unrepeat, r(6), r(3), 2, None, wrt="g"),
    case(unrepeat, r(2, 9), r(2, 3), 3, 1, wrt="g"),
    case(unrepeat, r(2, 3), r(2, 3), [1, 0, 2], -1, wrt="g"),
    case(unrepeat, r(3, 3), r(2, 3), [2, 1], 0, wrt="g"),
    case(untake, r(4), r(3, 4), [0, 5, 5, 11], None, wrt="g"),
    case(untake, r(3, 3), r(3, 4), [2, 0, 2], 1, wrt="g"),
    case(untake, r(2, 2, 2, 4), r(2, 3, 4), [[0, 1], [1, -1]], -2, wrt="g"),
    case(diag_adjoint, r(3, 3), r(3), 0, wrt="g"),
    case(diag_adjoint, r(4, 4), r(3), 1, wrt="g"),
    case(diag_adjoint, r(3), r(3, 3), 0, wrt="g"),
    case(diag_adjoint, r(2), r(3, 4), -1, wrt="g"),
]


def products(helper_x1, helper_x2, product, shapes, first="x1", second="x2"):
    """Rows for the two adjoint helpers of a bilinear ``product``, one pair per shape pair;
    each is linear in ``g`` and in the operand it does not return a cotangent for."""
    rows = []
    for s1, s2, *extra in shapes:
        x1 = r(*s1) if s1 else 1.5
        x2 = r(*s2)
        g = like(product(x1, x2, *extra))
        rows.append(case(helper_x1, g, x1, x2, *extra, wrt=f"g {second}"))
        rows.append(case(helper_x2, g, x1, x2, *extra, wrt=f"g {first}"))
    return rows


MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))]
DOT_SHAPES = [((3, 4), (4, 2)), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 3)), ((), (3, 2)),
              ((2, 3, 4), (4, 2)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3))]
TENSORDOT_SHAPES = [((3, 4), (3, 4), 2), ((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 5), 1),
                    ((2, 3), (4,), 0), ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])),
                    ((3, 4), (5, 3), (0, 1)), ((2, 3, 4), (3, 2), ([-2, 0], [0, -1]))]
INNER_SHAPES = [((4,), (4,)), ((3, 4), (2, 4)), ((2, 3, 4), (4,)), ((4,), (2, 5, 4)),
                ((), (3,))]
EINSUMS = [("ij,jk->ik", (3, 4), (4, 2)), ("ij,jk", (3, 4), (4, 2)), ("ij->ji", (3, 4)),
           ("ij->", (3, 4)), ("ii->", (3, 3)), ("ii->i", (3, 3)), ("i,j->ij", (3,), (4,)),
           ("i,i->", (4,), (4,)), ("ij,ij->ij", (3, 4), (3, 4)),
           ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)), ("...ij,...jk->...ik", (2, 3, 4), (4, 2)),
           ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2))]
SOLVES = [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)), ((2, 3, 3), (3,)),
          ((3, 3), (2, 3, 4))]
NORMS = [((5,), None, None, False), ((3, 4), None, None, False), ((5,), 1, None, False),
         ((5,), np.inf, None, False), ((5,), 3, None, False), ((5,), 0.5, None, False),
         ((5,), 0, None, False), ((5,), -2, None, False), ((3, 4), None, 1, False),
         ((3, 4), None, 0, True), ((3, 4), 1, -1, False), ((3, 4), "fro", None, False),
         ((3, 4), "nuc", None, False), ((4, 3), "nuc", None, False), ((3, 4), 1, None, False),
         ((3, 4), -np.inf, None, False), ((3, 4), 2, None, False), ((4, 3), 2, None, False),
         ((3, 4), -2, None, False), ((4, 3), -2, None, False), ((2, 3, 4), None, (1, 2), False),
         ((2, 3, 4), "fro", (2, 0), True), ((3, 2, 4), 2, (0, 2), False),
         ((2, 3, 4), "nuc", (2, 1), True), ((3, 2, 4), np.inf, (-1, 0), False)]

LINALG = (
    [case(matrix_transpose, r(4, 3), wrt="x")]
    + products(matmul_adjoint_x1, matmul_adjoint_x2, np.matmul, MATMUL_SHAPES)
    + products(dot_adjoint_a, dot_adjoint_b, np.dot, DOT_SHAPES, "a", "b")
    + products(tensordot_adjoint_a, tensordot_adjoint_b, np.tensordot, TENSORDOT_SHAPES,
               "a", "b")
    + [row for s1, s2 in INNER_SHAPES
       for a, b in [(r(*s1) if s1 else 2.0, r(*s2))]
       for g in [like(np.inner(a, b))]
       for row in (case(inner_adjoint, g, a, b, True, wrt="g other"),
                   case(inner_adjoint, g, b, a, False, wrt="g other"))]
    + [case(einsum_adjoints, like(np.einsum(s, *ops)), s, ops, wrt="g operands")
       for s, *shapes in EINSUMS for ops in [tuple(r(*sh) for sh in shapes)]]
    + [case(trace_adjoint, 1.3, r(3, 3), 0, 0, 1, wrt="g"),
       case(trace_adjoint, r(2), r(3, 4), 1, 0, 1, wrt="g"),
       case(trace_adjoint, r(2), r(2, 3, 3), 0, 1, 2, wrt="g"),
       case(trace_adjoint, r(2), r(3, 2, 4), 0, 0, 2, wrt="g"),
       case(trace_adjoint, r(4), r(3, 4, 2), -1, -1, 0, wrt="g")]
    + [row for sa, sb in SOLVES
       for a, b in [(matrix(*sa), r(*sb))]
       for g in [like(np.linalg.solve(a, b))]
       for row in (case(solve_adjoint_b, g, a, b, wrt="g a"),
                   case(solve_adjoint_a, g, like(g), b, wrt="gb solution"))]
    + [case(norm_adjoint, like(np.linalg.norm(x, o, ax, k)), x, None, o, ax, k, wrt="g x",
            tie=tie_norm)
       for shape, o, ax, k in NORMS for x in [r(*shape)]]
)

RUNTIME = [
    case(add, r(3, 4), r(3, 4), wrt="a b"),
    case(add, None, r(3), wrt="b"),
    case(add, [r(2), r(3)], [r(2), r(3)], wrt="a b"),
    case(add_at, r(5), [0, 2, 2], r(3), wrt="buffer value"),
    case(add_at, r(3, 4), (slice(None), 1), r(3), wrt="buffer value"),
    case(add_at, r(3, 4), 1, r(4), wrt="buffer value"),
    case(add_at, r(3, 4), (slice(1, 3),), r(4), wrt="buffer value"),
    case(add_at, [r(2), r(3)], 1, r(3), wrt="buffer value"),
    case(add_at_iteration, LOOP_BUFFER, 1, np.array([0.3, -1.2, 0.8, 1.5]), wrt="buffer value"),
    case(add_at_iteration, [np.array([0.5, -0.4]), np.array([1.1, 0.2, -0.7])], 1,
         np.array([-0.6, 0.9, 0.4]), wrt="buffer value"),
    case(own, r(3, 4), r(3, 4), wrt="cotangent"),
    case(own, [r(2), r(3)], (r(2), r(3)), wrt="cotangent"),
    case(fresh_copy, r(3, 4), wrt="value"),
    case(restructure, [r(2), [r(3), 0.5]], (r(2), (r(3), 1.0)), wrt="cotangent"),
    case(restructure, r(3), r(3), wrt="cotangent"),
    case(broadcast_like, r(4), r(3, 4), wrt="tangent"),
    case(broadcast_like, r(3, 4), r(3, 4), wrt="tangent"),
]

CASES = SHAPES + ELEMENTWISE + REDUCTIONS + SHAPE_HELPERS + LINALG + RUNTIME
IDS = [f"{h.__name__}-{i}" for i, (h, *_) in enumerate(CASES)]


@pytest.mark.parametrize("row", CASES, ids=IDS)
def test_rule_matches_finite_differences_in_both_modes(row):
    with np.errstate(divide="ignore", invalid="ignore"):
        check_row(row, entrywise=True)


# --- closed forms ------------------------------------------------------------------------------

def tangent_of(helper, *args, wrt, tangents):
    """``dresult`` of ``helper``'s tangent rule for the given tangents of ``wrt``."""
    return apply_tangent(helper, args, {}, wrt, rule=HELPER_TANGENTS[key(helper)],
                         tangents=dict(zip(wrt, tangents)))[0]


def test_add_at_tangent_updates_the_tangent_buffer_in_place():
    dbuffer = np.ones(3)
    dresult = tangent_of(add_at, np.zeros(3), [0, 2, 2], np.ones(3), wrt=["buffer", "value"],
                         tangents=[dbuffer, np.array([1.0, 2.0, 3.0])])
    assert dresult is dbuffer
    np.testing.assert_array_equal(dbuffer, [2.0, 1.0, 6.0])


def test_power_dbase_tangent_at_a_zero_base():
    # power_dbase(x, 2) = 2 x: its derivative at 0 is 2, not 0 * inf
    dresult = tangent_of(power_dbase, np.array([0.0, 1.0]), 2, wrt=["x1"], tangents=[np.ones(2)])
    np.testing.assert_array_equal(dresult, [2.0, 2.0])


def test_prod_adjoint_derivatives_are_exact_at_zeros():
    # prod_adjoint(1, x) = the product of the others, [0, 6, 0] at [2, 0, 3]; its derivative
    # along [1, 1, 1] is [0 + 3, 2 + 3, 2 + 0]
    x = np.array([2.0, 0.0, 3.0])
    dresult = tangent_of(prod_adjoint, 1.0, x, 0.0, None, False, wrt=["x"],
                         tangents=[np.ones(3)])
    np.testing.assert_allclose(dresult, [3.0, 5.0, 2.0], rtol=1e-15)


# --- every helper has both rules, with the helper's parameters ----------------------------------

def public_helpers():
    functions = [f for name, f in inspect.getmembers(numpy_helpers, inspect.isfunction)
                 if f.__module__ == numpy_helpers.__name__ and not name.startswith("_")]
    return functions + [runtime.ones_like, runtime.zeros_like, add, add_at, own, restructure,
                        fresh_copy]


@pytest.mark.parametrize("helper", public_helpers(), ids=lambda f: f.__name__)
def test_every_helper_has_both_rules_or_none(helper):
    if key(helper) in NONDIFFERENTIABLE:
        assert key(helper) not in TANGENT and key(helper) not in REVERSE
    else:
        assert key(helper) in HELPER_TANGENTS, f"no tangent rule for {helper.__name__}"
        assert key(helper) in HELPER_ADJOINTS, f"no reverse rule for {helper.__name__}"


HELPER_RULES = ([(k, rule, "forward") for k, rule in HELPER_TANGENTS.items()]
                + [(k, rule, "reverse") for k, rule in HELPER_ADJOINTS.items()])


def rule_id(row):
    return getattr(row, "__name__", str(row))


def test_every_helper_rule_has_a_case():
    tested = {key(h) for h, *_ in CASES}
    missing = sorted({k.__name__ for k, _, _ in HELPER_RULES if k not in tested})
    assert not missing, f"helper rules without a test case: {missing}"


@pytest.mark.parametrize("helper, rule, kind", HELPER_RULES, ids=rule_id)
def test_rule_parameters_match_the_helper_by_position(helper, rule, kind):
    # generated code calls helpers by position; only a parameter called `result` is renamed
    ours = list(inspect.signature(rule).parameters.values())
    theirs = list(inspect.signature(helper).parameters.values())
    assert [p.kind for p in ours] == [p.kind for p in theirs]
    assert [p.default for p in ours] == [p.default for p in theirs]
    assert [p.name for p in ours] == [q.name if q.name != "result" else p.name
                                      for p, q in zip(ours, theirs)]


@pytest.mark.parametrize("helper, rule, kind", HELPER_RULES, ids=rule_id)
def test_helper_rule_follows_the_template_format(helper, rule, kind):
    problems = tangent_problems(rule) if kind == "forward" else template_problems(rule)
    assert problems == []


# --- float32 stays float32 -------------------------------------------------------------------

@pytest.mark.parametrize("helper, args, kwargs, wrt, tie", CASES, ids=IDS)
def test_float32_stays_float32(helper, args, kwargs, wrt, tie):
    args = to_float32(args)
    with np.errstate(all="ignore"):
        tangent, _ = apply_tangent(helper, args, kwargs, wrt, tie,
                                   rule=HELPER_TANGENTS[key(helper)])
        bound = bind(HELPER_ADJOINTS[key(helper)], args, kwargs, tie)
        result = helper(*copy.deepcopy(bound.args))
        dresult = random_like(result, np.random.default_rng(1))
        cotangents = apply_adjoint(helper, bound, wrt, dresult)
    for n, (t, res) in enumerate(zip(leaves(tangent), leaves(result))):
        if getattr(res, "dtype", None) == np.float32:
            assert getattr(t, "dtype", None) == np.float32, f"dresult[{n}] is not float32"
    for param in wrt:
        for n, (c, primal) in enumerate(zip(leaves(cotangents[param]),
                                            leaves(bound.arguments[param]))):
            if getattr(primal, "dtype", None) == np.float32:
                assert getattr(c, "dtype", None) == np.float32, f"d{param}[{n}] is not float32"


def test_helper_templates_load_by_file_path_without_the_package():
    saved = dict(TANGENT), dict(REVERSE), set(NONDIFFERENTIABLE)
    try:
        for rule in (HELPER_TANGENTS[key(prod_adjoint)], HELPER_ADJOINTS[key(unbroadcast)]):
            spec = importlib.util.spec_from_file_location("_path_loaded_helpers",
                                                          inspect.getfile(rule))
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        for table, before in zip((TANGENT, REVERSE, NONDIFFERENTIABLE), saved):
            table.clear()
            table.update(before)


# --- the audit (tests/rules/audit.py) -----------------------------------------------------------
# A helper's rules run when a gradient is differentiated again: each row is a program whose
# gradient code calls the helpers it names, checked at second order (Hessian-vector products by
# forward over reverse and by reverse over reverse, against central differences).

def items_of(v):
    """A helper whose result s2s cannot tell is a list (list_operand checks it)."""
    return [v[0] * 2.0, v[1]]


def doubled_sines(v):
    """A helper whose result s2s cannot tell is no list (numeric_operand checks it)."""
    return np.sin(v) * 2.0


def second(covers, source, modes="reverse forward", given=None, **inputs):
    return audit(covers, source, order=2, modes=modes, given=given, **inputs)


# functions whose jvp code calls a helper; a program differentiates that jvp again (reverse
# over forward, forward over forward)
C34 = np.arange(12.0).reshape(3, 4) / 10.0


def prod_rows(x):
    return np.prod(x, axis=1)


def plus_matrix(x):
    return x + C34


def diff_padded(x):
    return np.diff(x, prepend=0.5, append=x[:1])


def joined_with_range(x):
    return np.r_[x * x, 0:2, 1.5] ** 2


def sorts_rows(x):
    s = sorted([x[0] * 2.0, x[1], x[2] ** 2], key=np.sum)
    return s[0] * s[2] + s[1]


def lists_items(x):
    items = list((x[:2], x[2:] * 2.0))
    return items[0] * items[1]


def pad_edges(x):
    return np.pad(x, (2, 1), "edge") ** 2


def through_jvp(covers, fn, **inputs):
    """A row differentiating ``s2s.jvp(fn, (x,), (t,))``: the rules of the helpers in fn's
    jvp code."""
    return audit(covers, f"out, tangent = s2s.jvp({fn.__name__}, (x,), (t,))\n"
                         "return tangent * out", given={fn.__name__: fn}, **inputs)


def sine_of_pair(p):
    return np.sum(p[0] * np.sin(p[1]))


def product_of_named(p):
    return np.sum(p["a"] ** 2 * p["b"])


def through_vjp(covers, fn, tree, use):
    """A row differentiating the pullback of ``fn`` at a pytree ``tree`` of x and y: the
    pullback's code gives the cotangent back its container types (``restructure``)."""
    return audit(covers, f"out, pullback = s2s.vjp({fn.__name__}, {tree})\n"
                         f"g = pullback(1.0)[0]\nreturn {use}",
                 given={fn.__name__: fn}, x=r(3), y=r(3))


AUDIT = [
    second((unbroadcast, expand_reduced), "np.sum(x * y ** 2)", x=r(2, 3), y=r(3)),
    second(match_dtype, "np.vdot(x, y) * x[0]", x=r(3), y=r(3)),
    second(restore_reduced_axes, "np.var(x, axis=1) * x[:, 0]", x=r(3, 4)),
    second(restore_reduced_axes, "np.std(x)", x=r(2, 3)),
    second(matrix_transpose, "np.linalg.inv(x)", x=matrix(3, 3)),
    second(matrix_transpose, "np.linalg.det(x)", x=matrix(2, 3, 3)),
    second(cotangent_or_zeros, "np.linalg.slogdet(x)[1]", x=matrix(3, 3)),
    second((power_dbase, power_dexponent), "x ** y", x=pos(3), y=r(3)),
    second(extremum_share, "np.maximum(x, y) * x", x=X34[0], y=O34[0] + 0.5),
    second(share_among_args, "max(x * y, y ** 2, 0.5)", x=1.3, y=-0.6),
    second(split_sum, "sum([x * y, y * y, x])", x=r(3), y=r(3)),
    second(share_among_extrema, "np.max(x * x, axis=1) * x[:, 0]", x=r(3, 4)),
    second(prod_adjoint, "np.prod(x, axis=1)", x=away(2, 3)),
    second(prod_adjoint, "np.prod(x)", x=WITH_ZERO, note="a zero entry"),
    second(reverse_cumsum, "np.cumsum(x * x, axis=0)", x=r(3, 2)),
    second(cumprod_adjoint, "np.cumprod(x, axis=1)", x=away(2, 3)),
    second(cumprod_adjoint, "np.cumprod(x)", x=TWO_ZEROS[:, :3], note="zeros"),
    second(split_like, "np.concatenate([x * y, y], axis=1) ** 2", x=r(2, 1), y=r(2, 3)),
    second(split_joined, "np.r_[x * y, 0:2, y] ** 2", x=j(3), y=j(3)),
    second(hstack_adjoint, "np.hstack([x * x, y * x[0]])", x=r(3), y=r(2)),
    second(unstack, "np.stack([x * y, y]) ** 2", x=r(3), y=r(3)),
    second(unblock, "np.block([[x * x, y], [y, x]]) ** 2", x=r(2, 2), y=r(2, 2)),
    second(unpack_like, "np.array([x * y, y * y, x])", x=1.1, y=-0.4),
    second(untile, "np.tile(x, (2, 1)) ** 2", x=r(2, 3)),
    second(unrepeat, "np.repeat(x, [2, 1, 0], axis=0) ** 3", x=r(3, 2)),
    second(untake, "np.take(x, [0, 2, 2, 1]) ** 2", x=r(3), note="repeated indices"),
    second(diag_adjoint, "np.diag(x * x)", x=r(3)),
    second(diag_adjoint, "np.diag(x) ** 2", x=r(3, 3)),
    second((matmul_adjoint_x1, matmul_adjoint_x2), "(x @ y) ** 2", x=r(2, 3), y=r(3, 2)),
    second((matmul_adjoint_x1, matmul_adjoint_x2), "(x @ y) ** 2", x=r(3), y=r(2, 3, 2)),
    second((dot_adjoint_a, dot_adjoint_b), "np.dot(x, y) ** 2", x=r(2, 3), y=r(3)),
    second(inner_adjoint, "np.inner(x, y) ** 2", x=r(2, 3), y=r(3)),
    second((tensordot_adjoint_a, tensordot_adjoint_b), "np.tensordot(x, y, axes=1) ** 2",
           x=r(2, 3), y=r(3, 2)),
    second(einsum_adjoints, "np.einsum('ij,jk->ik', x, y) ** 2", x=r(2, 3), y=r(3, 2)),
    second(einsum_adjoints, "np.einsum('ii->i', x) ** 3", x=r(3, 3)),
    second(trace_adjoint, "np.trace(x * x, offset=1)", x=r(3, 3)),
    second((solve_adjoint_a, solve_adjoint_b), "np.linalg.solve(x, y)", x=matrix(3, 3), y=r(3)),
    second((solve_adjoint_a, solve_adjoint_b), "np.linalg.solve(x, y)", x=matrix(3, 3),
           y=r(3, 2), note="a matrix right side: the rule's run-time branch"),
    second(norm_adjoint, "np.linalg.norm(x)", x=r(4)),
    second(norm_adjoint, "np.linalg.norm(x, axis=1) ** 3", x=r(2, 3)),
    second(norm_adjoint, "np.linalg.norm(x, 'nuc')", x=r(3, 2)),
    second(fresh_copy, "x + y", x=r(3), y=r(3)),
    second((ones_like, own), "y = x[0] * x + x[1]\nreturn y * x", x=r(3)),
    second(zeros_like, "y = x * 2.0\nreturn y[0] * y + y[1]", x=r(3)),
    second(add_at, "items = list((x, y * 2.0))\nreturn np.sum(items[0] * items[1])", x=r(3),
           y=r(3), modes="reverse"),
    # forward mode follows generated code's add_at statements itself; its rule serves the
    # call as a value (a buffer differentiated again, or a user's call)
    audit(add_at, "buffer = np.zeros(4)\nbuffer = add_at(buffer, REPEATED, x * y)\n"
          "return buffer * buffer", x=r(3), y=r(3), given=dict(add_at=add_at, REPEATED=[0, 2, 0]),
          note="a buffer whose tangent is zero, repeated indices"),
    audit(add_at, "buffer = y * 1.0\ntotal = add_at(buffer, 1, x[0] * x[2])\nreturn total * y",
          x=r(3), y=r(3), given=dict(add_at=add_at)),
    second(add_at_iteration, "total = 0.0\nfor v in [x, y * 2.0]:\n"
           "    total = total + np.sum(np.sin(v) * v)\nreturn total",
           x=np.array([0.4, -1.1, 0.7]), y=np.array([1.3, 0.2, -0.5]), modes="reverse"),
    audit(add_at_iteration, "buffer = y * 1.0\ntotal = add_at_iteration(buffer, 1, x[0] * x[2])\n"
          "return total * y", x=np.array([0.4, -1.1, 0.7]), y=np.array([1.3, 0.2, -0.5]),
          given=dict(add_at_iteration=add_at_iteration)),
    through_vjp(restructure, sine_of_pair, "(x, y)", "g[0] * g[1]"),
    through_vjp(restructure, product_of_named, '{"a": x, "b": y}', 'g["a"] + g["b"] * x'),
    second(add, "p = (x, y)\nq = p\nreturn np.sum(p[0] * q[1] + p[1] * q[0] ** 2)", x=r(3),
           y=r(3), note="a tuple read through two names: its cotangents add as pytrees"),
    second(inverse_permutation, "np.transpose(x, (1, 2, 0)) ** 2", x=r(2, 3, 2)),
    second((kron_axes, kron_blocks, padded_shape), "np.kron(x, y) ** 2", x=r(2, 2), y=r(2, 3)),
    second(rollaxis_destination, "np.rollaxis(x, 2, 0) ** 2", x=r(2, 3, 2)),
    through_jvp((product_of_others, normalize_axes), prod_rows, x=WITH_ZERO, t=r(2, 3)),
    through_jvp(broadcast_like, plus_matrix, x=r(4), t=r(4)),
    through_jvp(zeros_unless_absent, diff_padded, x=r(4), t=r(4)),
    through_jvp(join_tangents, joined_with_range, x=j(3), t=j(3)),
    second((diff_pieces, padding_along), "np.diff(x, prepend=y, append=0.5) ** 2", x=r(2, 4),
           y=r(2, 1)),
    second(select_default_mask, "np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], y)",
           x=np.array([[0.9, -0.2, -1.3], [0.1, 1.4, -0.7]]), y=r(2, 3)),
    through_jvp(checked_pad_mode, pad_edges, x=r(2, 3), t=fresh(2, 3)),
    second(unsort,
           "s = sorted([x[0] * 2.0, x[1], x[2] ** 2], key=np.sum)\nreturn s[0] * s[2] + s[1]",
           x=fresh(3, 2)),
    second(items_cotangent, "l = list(x)\nreturn np.sum(l[0] * l[1] ** 2)", x=fresh(2, 3)),
    through_jvp(sorted_tangent, sorts_rows, x=fresh(3, 2), t=fresh(3, 2)),
    through_jvp(items_tangent, lists_items, x=fresh(4), t=fresh(4)),
    second(list_operand, "l = items_of(x)\nm = l + [x[2]]\nreturn m[0] * m[2] + m[1] ** 2",
           x=fresh(3), given=dict(items_of=items_of)),
    second(cleared_item, "out = np.zeros(3)\nfor i in range(3):\n"
           "    out[i] = x[(i + 1) % 3] * x[i]\nreturn np.sum(out ** 2)", x=fresh(3),
           note="a gradient that stores items, differentiated again: clear_item reads "
                "as a store"),
    second(numeric_operand, "h = doubled_sines(x)\nreturn np.sum((h * 2) ** 2 + h * x)",
           x=fresh(3), given=dict(doubled_sines=doubled_sines)),
    second(pad_adjoint, "np.pad(x, (2, 1), 'symmetric') ** 3", x=fresh(4)),
    second(pad_constant_adjoint, "np.pad(x, 1, constant_values=y) ** 2", x=fresh(2, 3), y=0.7),
    second(gradient_adjoint, "gx, gy = np.gradient(x, 0.5)\nreturn gx ** 3 * gy", x=fresh(3, 4)),
    audit(np.sinc, "np.sinc(x)", x=np.array([0.0, 0.5, -1.3]), order=2,
          note="sinc is smooth at 0: its second derivative there is -pi**2 / 3"),
]
