"""Forward mode keeps float32: a float32 input's tangent comes out float32, and right.

Each function runs through ``s2s.jvp`` at a float32 point with a float32 tangent; the tangent
must be float32 wherever the value is, and match central differences (taken in float64) to
float32 accuracy.
"""
import numpy as np
import pytest

import s2s
from finite_diff import numerical_grad

POINT = np.array([0.3, -1.2, 0.8], dtype=np.float32)
TANGENT = np.array([1.0, -0.5, 2.0], dtype=np.float32)


def maximum_with_a_float(x):
    return np.maximum(x, 0.1)


def minimum_with_a_float(x):
    return np.minimum(0.2, x)


def clip_between_floats(x):
    return np.clip(x, -0.5, 0.5)


def clip_method(x):
    return x.clip(-0.5, 0.5)


def nan_to_num(x):
    return np.nan_to_num(x * 2.0)


def builtin_max_of_an_array(x):
    return max(x)


def builtin_max_of_items(x):
    return max(x[0], x[1] * 2.0)


def builtin_min_of_items(x):
    return min([x[0], x[2] * 0.5, 5.0])


def power_of_a_float(x):
    return np.power(np.abs(x), 2.5)


def where_with_a_float(x):
    return np.where(x > 0, x, 0.5)


def sorted_items(x):
    return sorted(x)[0] * 3.0


ROWS = [maximum_with_a_float, minimum_with_a_float, clip_between_floats, clip_method,
        nan_to_num, builtin_max_of_an_array, builtin_max_of_items, builtin_min_of_items,
        power_of_a_float, where_with_a_float, sorted_items]


@pytest.mark.parametrize("f", ROWS, ids=[f.__name__ for f in ROWS])
def test_float32_tangents_stay_float32(f):
    value, tangent = s2s.jvp(f, (POINT,), (TANGENT,))
    assert np.asarray(value).dtype == np.float32
    assert np.asarray(tangent).dtype == np.float32, np.asarray(tangent).dtype
    jacobian = np.array([numerical_grad(lambda x, i=i: np.ravel(f(x))[i], (POINT,))
                         for i in range(np.size(value))])
    expected = jacobian @ TANGENT.astype(np.float64)
    np.testing.assert_allclose(np.ravel(tangent), expected, rtol=1e-5, atol=1e-6)
