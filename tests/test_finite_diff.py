"""Checks of the oracle itself: finite differences against closed-form gradients.

If these fail, every gradient test that relies on ``numerical_grad`` is suspect.
"""
import numpy as np
import pytest

from finite_diff import assert_close, flatten, numerical_grad

rng = np.random.default_rng(7)
X = rng.standard_normal((3, 4))
W = rng.standard_normal((4, 2))


def poly(x):
    return 3 * x ** 2 + 4 * x


def matmul_sum(w, x):
    return np.tanh(x @ w)


def tree_loss(params, x):
    return np.sum(np.sin(x @ params["w"]) * params["scale"][0]) + params["scale"][1] ** 2


def test_python_float_closed_form():
    # d/dx (3x^2 + 4x) at x = 2 is 16 (the example of the tutorial chapter)
    g = numerical_grad(poly, (2.0,), 0)
    assert isinstance(g, float)
    assert g == pytest.approx(16.0, rel=1e-8)


def test_int_input_is_differentiated_as_float():
    assert numerical_grad(poly, (2,), 0) == pytest.approx(16.0, rel=1e-8)


def test_array_closed_form_and_seeding_with_ones():
    t = np.tanh(X @ W)
    expected_w = X.T @ (1 - t ** 2)
    expected_x = (1 - t ** 2) @ W.T
    assert_close(numerical_grad(matmul_sum, (W, X), 0), expected_w, rtol=1e-7, atol=1e-9)
    assert_close(numerical_grad(matmul_sum, (W, X), (0, 1)), (expected_w, expected_x),
                 rtol=1e-7, atol=1e-9)


def test_float32_input_gets_float64_reference():
    x32 = X.astype(np.float32)
    g = numerical_grad(np.exp, (x32,), 0)
    assert g.dtype == np.float64
    assert_close(g, np.exp(x32.astype(np.float64)), rtol=1e-7, atol=1e-9)


def test_numpy_scalar_leaf():
    g = numerical_grad(np.sin, (np.float32(0.3),), 0)
    assert g == pytest.approx(np.cos(np.float64(np.float32(0.3))), rel=1e-8)


def test_pytree_structure_and_unused_leaf():
    params = {"w": W, "scale": (1.5, -0.7), "unused": [np.ones(2)]}
    g = numerical_grad(tree_loss, (params, X), 0)
    s = np.sin(X @ W)
    assert_close(g, {"w": X.T @ (1.5 * np.cos(X @ W)), "scale": (float(np.sum(s)), -1.4),
                     "unused": [np.zeros(2)]}, rtol=1e-7, atol=1e-8)
    assert isinstance(g["scale"], tuple) and isinstance(g["unused"], list)


def test_inputs_are_not_mutated():
    def mutating(x):
        x += 1.0
        return x * x

    x = np.array([1.0, 2.0])
    assert_close(numerical_grad(mutating, (x,), 0), 2 * (x + 1), rtol=1e-7)
    assert_close(x, np.array([1.0, 2.0]), rtol=0, atol=0)


def test_flatten_roundtrip():
    tree = {"a": (1.0, [np.zeros(2), 3.0]), "b": np.ones((2, 2))}
    leaves, rebuild = flatten(tree)
    assert len(leaves) == 4
    assert_close(rebuild(leaves), tree, rtol=0, atol=0)


@pytest.mark.parametrize("actual, expected", [
    (np.ones(3), np.ones(4)),                    # shape
    (np.ones((3, 1)), np.ones(3)),               # shape, even though values broadcast
    (np.ones(3) * 1.01, np.ones(3)),             # value
    ([np.ones(2)], (np.ones(2),)),               # container type
    ({"a": 1.0}, {"b": 1.0}),                    # dict keys
    ((1.0,), (1.0, 2.0)),                        # length
    (None, 1.0),                                 # missing gradient
])
def test_assert_close_rejects(actual, expected):
    with pytest.raises(AssertionError):
        assert_close(actual, expected)
