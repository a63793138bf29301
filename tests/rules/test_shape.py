"""The rules of NumPy functions that move, copy or join entries (reverse/ and
forward/numpy_shape.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""

import numpy as np

from tests.rules.harness import case, NUMPY_2_1, r, table_tests


ROWS = [
    case(np.reshape, r(3, 4), (4, 3), wrt="a"),
    case(np.reshape, r(2, 3, 4), (6, -1), wrt="a"),
    case(np.reshape, r(3, 4), (2, 6), order="F", wrt="a"),
    *([case(np.reshape, r(3, 4), shape=12, wrt="a")] if NUMPY_2_1 else []),
    case(np.ravel, r(3, 4), wrt="a"),
    case(np.ravel, r(2, 3, 2), "F", wrt="a"),
    case(np.squeeze, r(3, 1, 4, 1), wrt="a"),
    case(np.squeeze, r(3, 1, 4, 1), axis=1, wrt="a"),
    case(np.expand_dims, r(3, 4), 1, wrt="a"),
    case(np.expand_dims, r(3, 4), axis=(0, -1), wrt="a"),
    case(np.transpose, r(3, 4), wrt="a"),
    case(np.transpose, r(2, 3, 4), (1, 2, 0), wrt="a"),
    case(np.transpose, r(2, 3, 4), axes=(-1, 0, 1), wrt="a"),
    case(np.swapaxes, r(2, 3, 4), 0, 2, wrt="a"),
    case(np.swapaxes, r(2, 3, 4), -1, 1, wrt="a"),
    case(np.moveaxis, r(2, 3, 4), 0, -1, wrt="a"),
    case(np.moveaxis, r(2, 3, 4, 5), (0, 1), (3, 0), wrt="a"),
    case(np.concatenate, [r(2, 3), r(4, 3)], wrt="arrays"),
    case(np.concatenate, (r(3, 1), r(3, 4), r(3, 2)), axis=1, wrt="arrays"),
    case(np.concatenate, [r(2, 2, 3), r(2, 2, 1)], axis=-1, wrt="arrays"),
    case(np.concatenate, [r(2, 3), r(4)], axis=None, wrt="arrays"),
    case(np.stack, [r(3), r(3), r(3)], wrt="arrays"),
    case(np.stack, (r(2, 3), r(2, 3)), axis=1, wrt="arrays"),
    case(np.stack, [r(2, 3), r(2, 3)], axis=-1, wrt="arrays"),
    case(np.block, [[r(2, 3), r(2, 1)], [r(1, 4)]], wrt="arrays"),
    case(np.block, [r(3), r(2)], wrt="arrays"),
    case(np.vstack, [r(3), r(2, 3), r(3)], wrt="tup"),
    case(np.vstack, [r(2, 3, 2), r(1, 3, 2)], wrt="tup"),
    case(np.hstack, [r(3), r(2)], wrt="tup"),
    case(np.hstack, (r(2, 3), r(2, 1)), wrt="tup"),
    case(np.broadcast_to, r(3, 1), (2, 3, 4), wrt="array"),
    case(np.broadcast_to, r(4), (3, 4), wrt="array"),
    case(np.tile, r(3), 2, wrt="A"),
    case(np.tile, r(2, 3), (2, 1), wrt="A"),
    case(np.tile, r(2, 3), (2, 1, 3), wrt="A"),
    case(np.tile, r(2, 2, 3), 2, wrt="A"),
    case(np.repeat, r(3), 2, wrt="a"),
    case(np.repeat, r(2, 3), 3, axis=1, wrt="a"),
    case(np.repeat, r(2, 3), [1, 0, 2], axis=-1, wrt="a"),
    case(np.repeat, r(2, 3), [2, 1], axis=0, wrt="a"),
    case(np.flip, r(3, 4), wrt="m"),
    case(np.flip, r(3, 4), 0, wrt="m"),
    case(np.flip, r(2, 3, 4), axis=(0, -1), wrt="m"),
    case(np.diag, r(3), wrt="v"),
    case(np.diag, r(3), 1, wrt="v"),
    case(np.diag, r(3, 3), wrt="v"),
    case(np.diag, r(3, 4), -1, wrt="v"),
    case(np.diag, r(4, 3), k=2, wrt="v"),
    case(np.take, r(3, 4), [0, 5, 5, 11], wrt="a"),
    case(np.take, r(3, 4), [2, 0, 2], axis=1, wrt="a"),
    case(np.take, r(3, 4), 1, axis=0, wrt="a"),
    case(np.take, r(2, 3, 4), [[0, 1], [1, -1]], axis=-2, wrt="a"),
    case(np.copy, r(3, 4), wrt="a"),
    case(np.array, r(3, 4), wrt="object"),
    case(np.array, [r(3), r(3)], wrt="object"),
    case(np.array, [0.5, -1.5, 2.0], wrt="object"),
    case(np.array, [[0.5, r(2)[0]], [r(), 1.0]], wrt="object"),
    case(np.array, r(3), ndmin=3, wrt="object"),
    case(np.asarray, r(3, 4), wrt="a"),
    case(np.asarray, (r(2), r(2), r(2)), wrt="a"),
    case(np.full, (2, 3), 1.5, wrt="fill_value"),
    case(np.full, (2, 3), r(3), wrt="fill_value"),
    case(np.full_like, r(3, 4), 0.7, wrt="fill_value"),
    case(np.full_like, r(3, 4), r(3, 1), wrt="fill_value"),
    case(np.linspace, 0.5, 2.5, 5, wrt="start stop"),
    case(np.linspace, -1.0, 3.0, 4, endpoint=False, wrt="start stop"),
    case(np.linspace, r(3), r(3) + 2.0, 4, wrt="start stop"),
    # rows of the forward-mode tables
    case(np.concatenate, [r(2, 3), r(4, 3)], axis=0, wrt="arrays"),
    case(np.stack, (r(3), r(3)), axis=-1, wrt="arrays"),
    case(np.array, [1.5, r(2)[0], -0.5], wrt="object"),
    case(np.full, 3, 0.7, wrt="fill_value"),
    case(np.array, r(3) * 5, dtype=int, wrt="object", modes="forward"),
    case(np.asarray, [1.5, r(2)[0]], np.float64, wrt="a"),
    case(np.full, (2, 3), 2.5, dtype=np.int32, wrt="fill_value", modes="forward"),
    case(np.full_like, np.arange(3), 2.7, wrt="fill_value", modes="forward"),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)
