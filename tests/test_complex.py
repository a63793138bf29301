"""Complex numbers through the public transforms: inputs, dtypes, pytrees and the convention.

The convention (autograd's): for a real loss ``L`` of a complex ``z``, the gradient is
``dL/dRe(z) - 1j * dL/dIm(z)``; a complex output is seeded as its real part. Every value is
checked against central differences along both directions of each complex input
(tests/finite_diff.py) or a closed form.
"""
import numpy as np
import pytest

import s2s
from tests.finite_diff import assert_close, numerical_grad

rng = np.random.default_rng(14)


def complex_array(*shape, dtype=np.complex128):
    return (rng.uniform(-1, 1, shape) + 1j * rng.uniform(-1, 1, shape)).astype(dtype)


def energy(z):
    return np.sum(np.abs(np.sin(z) * z) ** 2)


def mixed(x, z):
    w = x * z + np.exp(1j * x)
    return np.sum(np.real(w * np.conj(z))) + np.sum(np.imag(w) ** 2)


def of_dict(params):
    return np.sum(np.abs(params["z"] * params["x"]) ** 2) + np.real(params["c"] ** 3)


def test_grad_of_a_real_loss_of_a_complex_array():
    z = complex_array(4)
    gradient = s2s.grad(energy)(z)
    assert gradient.dtype == np.complex128
    assert_close(gradient, numerical_grad(energy, [z]))


def test_grad_keeps_complex64():
    z = complex_array(3, dtype=np.complex64)
    gradient = s2s.grad(energy)(z)
    assert gradient.dtype == np.complex64
    assert_close(gradient, numerical_grad(energy, [z.astype(np.complex128)]), rtol=1e-4,
                 atol=1e-5)


def test_python_complex_number_closed_form():
    # L = |z|^2: dL/dRe - 1j dL/dIm = 2 Re z - 2j Im z = 2 conj(z)
    def square_norm(z):
        return abs(z) ** 2
    z = 0.6 - 1.3j
    gradient = s2s.grad(square_norm)(z)
    assert type(gradient) is complex
    assert gradient == pytest.approx(2 * np.conj(z))


def test_real_and_complex_inputs_together():
    x, z = rng.uniform(-1, 1, 3), complex_array(3)
    dx, dz = s2s.grad(mixed, (0, 1))(x, z)
    assert dx.dtype == np.float64 and dz.dtype == np.complex128
    assert_close((dx, dz), numerical_grad(mixed, [x, z], (0, 1)))
    value, (vx, vz) = s2s.value_and_grad(mixed, (0, 1))(x, z)
    assert value == pytest.approx(mixed(x, z))
    assert_close((vx, vz), (dx, dz), rtol=1e-12, atol=0)


def test_float_input_with_complex_intermediates_keeps_a_real_gradient():
    def f(x):
        return np.abs(np.exp(1j * x) * (2.0 + x)) ** 2 + np.real(np.exp(1j * x) * x)
    gradient = s2s.grad(f)(0.4)
    assert np.isrealobj(gradient)
    assert gradient == pytest.approx(numerical_grad(f, [0.4]))
    x = rng.uniform(-1, 1, 5).astype(np.float32)
    assert s2s.grad(lambda_free_sum(f))(x).dtype == np.float32


def lambda_free_sum(f):
    def summed(x):
        return np.sum(f(x))
    return summed


def test_pytree_with_complex_leaves():
    params = {"z": complex_array(2), "x": rng.uniform(-1, 1, 2), "c": 0.3 + 0.7j}
    gradient = s2s.grad(of_dict)(params)
    assert gradient["z"].dtype == np.complex128 and gradient["x"].dtype == np.float64
    assert type(gradient["c"]) is complex
    assert_close(gradient, numerical_grad(of_dict, [params]))


def test_vjp_and_jvp_of_a_complex_function_agree_with_finite_differences():
    def f(z):
        return np.tanh(z) * z + np.conj(z) * 2.0
    z = complex_array(3)
    cotangent, tangent = complex_array(3), complex_array(3)
    out, pullback = s2s.vjp(f, z)
    [dz] = pullback(cotangent)

    def paired(z):      # <cotangent, f(z)> = Re(sum(cotangent * f(z)))
        return np.real(np.sum(cotangent * f(z)))
    assert_close(dz, numerical_grad(paired, [z]))
    value, jvp = s2s.jvp(f, (z,), (tangent,))
    step = 1e-6
    assert_close(jvp, (f(z + step * tangent) - f(z - step * tangent)) / (2 * step))
    # the modes agree: <cotangent, J t> == <J^T cotangent, t>
    assert np.real(np.sum(cotangent * jvp)) == pytest.approx(np.real(np.sum(dz * tangent)))


def test_jacobians_of_a_holomorphic_function_are_complex_derivatives():
    def f(z):
        return np.exp(z) * z
    z = complex_array(3)
    derivative = np.diag(np.exp(z) * (1 + z))       # closed form of d f_i / d z_j
    np.testing.assert_allclose(s2s.jacrev(f)(z), derivative, rtol=1e-12)
    np.testing.assert_allclose(s2s.jacfwd(f)(z), derivative, rtol=1e-12)


# --- holomorphic=True -------------------------------------------------------------------------

def exp_times(z):
    return z * np.exp(z) + np.sin(z) ** 2


def uses_abs(z):
    return np.abs(z) * z


def uses_real(z):
    return z.real * z


def test_holomorphic_grad_is_the_complex_derivative():
    z = 0.3 + 0.8j
    closed_form = np.exp(z) * (1 + z) + 2 * np.sin(z) * np.cos(z)
    assert s2s.grad(exp_times, holomorphic=True)(z) == pytest.approx(closed_form, rel=1e-12)
    za = complex_array(3)
    value, gradient = s2s.value_and_grad(lambda_free_sum(exp_times), holomorphic=True)(za)
    assert value == pytest.approx(np.sum(exp_times(za)))
    np.testing.assert_allclose(gradient, np.exp(za) * (1 + za) + 2 * np.sin(za) * np.cos(za),
                               rtol=1e-12)


@pytest.mark.parametrize("fn, name", [(uses_abs, "absolute"), (uses_real, "real")])
def test_holomorphic_grad_refuses_functions_of_conj_z_at_their_line(fn, name):
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(fn, holomorphic=True)(0.3 + 0.8j)
    message = str(info.value)
    assert name in message and "not holomorphic" in message and "test_complex.py" in message


@pytest.mark.parametrize("transform", [s2s.grad, s2s.jacfwd, s2s.jacrev])
def test_holomorphic_derivatives_need_complex_inputs(transform):
    with pytest.raises(s2s.S2SError, match="complex inputs only.*'z' is not complex"):
        transform(exp_times, holomorphic=True)(0.5)


def vector_exp(z):
    return np.exp(z) * z[::-1]


@pytest.mark.parametrize("transform", [s2s.jacfwd, s2s.jacrev])
def test_holomorphic_jacobians(transform):
    z = complex_array(3)
    expected = np.diag(np.exp(z) * z[::-1]) + np.exp(z)[:, None] * np.eye(3)[::-1]
    np.testing.assert_allclose(transform(vector_exp, holomorphic=True)(z), expected,
                               rtol=1e-12)


@pytest.mark.parametrize("transform", [s2s.jacfwd, s2s.jacrev])
@pytest.mark.parametrize("fn, name", [(uses_abs, "absolute"), (uses_real, "real")])
def test_holomorphic_jacobians_refuse_functions_of_conj_z(transform, fn, name):
    with pytest.raises(s2s.S2SError) as info:
        transform(fn, holomorphic=True)(complex_array(2))
    assert name in str(info.value) and "not holomorphic" in str(info.value)


def conj_inside(z):                     # a helper that the differentiated function calls
    return np.conj(z) * z


def calls_conj_inside(z):
    return conj_inside(z) + z


def calls_uses_real(z):
    return uses_real(z) * 2.0


def exp_inside(z):
    return np.exp(z) * z


def calls_exp_inside(z):
    return exp_inside(z) ** 2


def calls_a_local_function(z):
    def inner(w):
        return np.conj(w) * w
    return inner(z)


HOLOMORPHIC_TRANSFORMS = [s2s.grad, s2s.value_and_grad, s2s.jacfwd, s2s.jacrev]


@pytest.mark.parametrize("transform", HOLOMORPHIC_TRANSFORMS)
@pytest.mark.parametrize("fn, name, where", [(calls_conj_inside, "conjugate", "conj_inside"),
                                             (calls_uses_real, "real", "uses_real")])
def test_holomorphic_derivatives_check_the_helpers_called(transform, fn, name, where):
    # the helper's abs/conj/real/imag is refused at its own line (it gave a wrong number,
    # and a different one in each mode)
    with pytest.raises(s2s.S2SError) as info:
        transform(fn, holomorphic=True)(0.3 + 0.8j)
    message = str(info.value)
    assert name in message and "not holomorphic" in message
    assert f"in '{where}'" in message and "test_complex.py" in message


@pytest.mark.parametrize("transform", HOLOMORPHIC_TRANSFORMS)
def test_a_holomorphic_helper_is_differentiated(transform):
    # d/dz (z e^z)^2 = 2 z e^z (1 + z) e^z
    z = 0.3 + 0.4j
    got = transform(calls_exp_inside, holomorphic=True)(z)
    got = got[1] if transform is s2s.value_and_grad else got
    assert complex(got) == pytest.approx(2 * z * np.exp(2 * z) * (1 + z), rel=1e-12)


@pytest.mark.parametrize("transform", HOLOMORPHIC_TRANSFORMS)
def test_holomorphic_derivatives_check_local_functions(transform):
    # forward mode reads the local function; reverse mode would call it through the
    # run-time dispatch, which cannot check it: both refuse at a line of this file
    with pytest.raises(s2s.S2SError) as info:
        transform(calls_a_local_function, holomorphic=True)(0.3 + 0.8j)
    message = str(info.value)
    assert "holomorphic" in message and "test_complex.py" in message
    assert "conjugate" in message or "a call of 'inner'" in message


# --- reductions of complex arrays -------------------------------------------------------------

def spreads(z):
    return (np.var(z) + np.sum(np.std(z, axis=1, ddof=1)) + np.sum(z.var(axis=0)) + z.std())


def products(z):
    return np.real(np.prod(z)) + np.imag(np.sum(np.cumprod(z, axis=1))) + np.abs(np.mean(z * z))


@pytest.mark.parametrize("fn", [spreads, products])
def test_reductions_of_complex_arrays_in_both_modes(fn):
    z = complex_array(2, 3)
    tangent = complex_array(2, 3)
    gradient = s2s.grad(fn)(z)
    expected = numerical_grad(fn, [z])
    assert_close(gradient, expected)
    _, jvp = s2s.jvp(fn, (z,), (tangent,))
    assert jvp == pytest.approx(np.real(np.sum(expected * tangent)))


def vjp_of_sin(z, v):
    """The cotangent of ``z`` for ``sin`` and a cotangent ``v`` passed in."""
    _, pullback = s2s.vjp(np.sin, z)
    return pullback(v)[0]


@pytest.mark.parametrize("z", [0.3 + 0.4j, np.complex128(-0.2 + 0.9j), np.array([0.5 - 0.7j])],
                         ids=["complex", "complex128", "array"])
def test_vjp_of_a_vjp_reaches_a_complex_number_the_pullback_closes_over(z):
    # vjp_of_sin(z, v) = v cos(z), holomorphic in z and linear in v: the cotangents of
    # Re <u, v cos z> are -u v sin(z) and u cos(z) (a Python complex z was taken for a
    # constant of the pullback: its cotangent was 0)
    v, u = 1.0 - 0.5j, 0.7 + 0.1j
    _, pullback = s2s.vjp(vjp_of_sin, z, v)
    dz, dv = pullback(u)
    assert_close(dz, -u * v * np.sin(z), rtol=1e-12, atol=0.0)
    assert_close(dv, complex(u * np.cos(np.ravel(z)[0])), rtol=1e-12, atol=0.0)


def vjp_of_kron(x, y, v):
    """The cotangent of the real ``x`` for ``np.kron(x, y)`` with a complex ``y`` and ``v``."""
    _, pullback = s2s.vjp(np.kron, x, y)
    return pullback(v)[0]


def test_vjp_of_a_pullback_keeps_a_real_inputs_cotangent_real():
    # the pullback, differentiated again, returned the complex cotangent of the real x
    # (its real part is what vjp gives): the value of the outer vjp differed from the call
    x, y, v = rng.uniform(-1, 1, (2, 2)), complex_array(2, 2), complex_array(4, 4)
    u = rng.uniform(-1, 1, (2, 2))
    value, pullback = s2s.vjp(vjp_of_kron, x, y, v)
    assert_close(value, vjp_of_kron(x, y, v), rtol=1e-12, atol=0.0)
    assert value.dtype == np.float64

    def paired(x, y, v):
        return np.sum(u * vjp_of_kron(x, y, v))
    assert_close(pullback(u), numerical_grad(paired, [x, y, v], (0, 1, 2)))
    _, tangent = s2s.jvp(vjp_of_kron, (x, y, v), (u, y, v))
    h = 1e-6
    moved = [vjp_of_kron(x + s * h * u, y + s * h * y, v + s * h * v) for s in (1, -1)]
    assert tangent.dtype == np.float64
    assert_close(tangent, (moved[0] - moved[1]) / (2 * h))
