"""Second derivatives through code that calls s2s: the shapes of calls that the first-order
code takes (closures, partial applications, wrappers), each against a closed form."""
import numpy as np
import pytest

import s2s


def with_second_argument(f, y):
    def partial(x):
        return f(x, y)
    return partial


@pytest.mark.parametrize("inner", ["jvp", "vjp"])
@pytest.mark.parametrize("outer", ["jvp", "vjp"])
def test_a_closure_over_a_mask_called_through_a_partial_made_elsewhere(inner, outer):
    # the generated code of `picks` reads `mask` of this test, that of `partial` reads f and
    # y of with_second_argument: they are not local functions of one enclosing function
    mask = np.array([True, False, True])

    def picks(x, y):
        return np.where(mask, x * x, y)
    partial = with_second_argument(picks, np.array([5.0, 6.0, 7.0]))

    def derivative(x, t):
        if inner == "jvp":
            return s2s.jvp(partial, (x,), (t,))[1]
        out, pullback = s2s.vjp(partial, x)
        return pullback(t)[0]
    x, t = np.array([0.3, -0.5, 0.8]), np.array([1.0, 2.0, -1.0])
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5])
    # derivative = 2 x t where the mask holds (the jvp and the vjp agree: the map is diagonal)
    np.testing.assert_allclose(derivative(x, t), np.where(mask, 2 * x * t, 0.0))
    if outer == "jvp":
        got = s2s.jvp(derivative, (x, t), (a, b))[1]
        np.testing.assert_allclose(got, np.where(mask, 2 * a * t + 2 * x * b, 0.0), rtol=1e-12)
    else:
        gx, gt = s2s.vjp(derivative, x, t)[1](a)
        np.testing.assert_allclose(gx, np.where(mask, 2 * a * t, 0.0), rtol=1e-12)
        np.testing.assert_allclose(gt, np.where(mask, 2 * a * x, 0.0), rtol=1e-12)
