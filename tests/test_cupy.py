"""Gradients of CuPy arrays: the same generated NumPy code, run on the GPU through NumPy's
dispatch protocols. Checked against central finite differences on the NumPy inputs; skipped
without CuPy (the ``gpu`` extra) or without a GPU.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import s2s
from s2s.errors import NotDifferentiableError
from tests.finite_diff import assert_close, numerical_grad

cupy = pytest.importorskip("cupy")
try:
    _GPUS = cupy.cuda.runtime.getDeviceCount()
except Exception:           # no driver, no device
    _GPUS = 0
if not _GPUS:
    pytest.skip("no GPU", allow_module_level=True)

_spec = importlib.util.spec_from_file_location(
    "workloads", pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "workloads.py")
workloads = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workloads)

WORKLOADS = [
    ("mlp", workloads.mlp_loss, workloads.mlp_inputs, (0, 1, 2, 3)),
    ("logistic", workloads.logistic_loss, workloads.logistic_inputs, (0, 1)),
    ("rnn", workloads.rnn_loss, workloads.rnn_inputs, (0, 1, 3)),
    ("elementwise", workloads.elementwise, workloads.elementwise_inputs, (0,)),
]


def on_gpu(value):
    return cupy.asarray(value) if isinstance(value, np.ndarray) else value


@pytest.mark.parametrize("name, fn, inputs, positions", WORKLOADS,
                         ids=[w[0] for w in WORKLOADS])
def test_workload_gradients_are_cupy_arrays(name, fn, inputs, positions):
    args = inputs(small=True)
    gpu_args = [on_gpu(a) for a in args]
    grads = s2s.grad(fn, grad_position=positions)(*gpu_args)
    for g, p in zip(grads, positions):
        if isinstance(gpu_args[p], cupy.ndarray):
            assert isinstance(g, cupy.ndarray)
            assert (g.shape, g.dtype) == (gpu_args[p].shape, gpu_args[p].dtype)
    on_host = tuple(cupy.asnumpy(g) if isinstance(g, cupy.ndarray) else float(g)
                    for g in grads)
    assert_close(on_host, numerical_grad(fn, args, positions), rtol=1e-5, atol=1e-6)


def test_mixing_cupy_and_numpy_arrays_names_both():
    w, b, X, y = workloads.logistic_inputs(small=True)
    with pytest.raises(NotDifferentiableError) as info:
        s2s.grad(workloads.logistic_loss)(on_gpu(w), b, X, on_gpu(y))
    assert "cupy ndarray" in str(info.value) and "NumPy ndarray" in str(info.value)


# --- jvp, vjp, jacfwd, jacrev and hessian on the GPU (as tests/test_dask_transforms.py) ------
HESSIAN_POSITION = {"mlp": 3, "logistic": 0, "rnn": 3, "elementwise": 0}


def on_host(value):
    if isinstance(value, (tuple, list)):
        return type(value)(on_host(v) for v in value)
    return cupy.asnumpy(value) if isinstance(value, cupy.ndarray) else value


@pytest.mark.parametrize("name, fn, inputs, positions", WORKLOADS,
                         ids=[w[0] for w in WORKLOADS])
def test_workload_transforms_are_cupy_arrays_and_right(name, fn, inputs, positions):
    args = inputs(small=True)
    gpu_args = tuple(on_gpu(a) for a in args)
    rng = np.random.default_rng(3)
    directions = [rng.standard_normal(np.shape(args[p])) for p in positions]
    tangents = tuple(on_gpu(directions[positions.index(i)]) if i in positions
                     else on_gpu(np.zeros(np.shape(a))) for i, a in enumerate(args))
    _, tangent = s2s.jvp(fn, gpu_args, tangents)
    _, pullback = s2s.vjp(fn, *gpu_args)
    cotangents = pullback(1.0)
    forward = s2s.jacfwd(fn, positions)(*gpu_args)
    reverse = s2s.jacrev(fn, positions)(*gpu_args)
    hessian = s2s.hessian(fn, HESSIAN_POSITION[name])(*gpu_args)
    for result in (forward, reverse):
        assert all(isinstance(block, cupy.ndarray) for block in result)
    assert isinstance(hessian, cupy.ndarray)
    gradient = numerical_grad(fn, args, positions)
    along = sum(np.sum(g * d) for g, d in zip(gradient, directions))
    assert float(on_host(tangent)) == pytest.approx(along, rel=1e-6)
    assert_close(tuple(on_host(cotangents[p]) for p in positions), gradient, rtol=1e-5,
                 atol=1e-6)
    assert_close(on_host(tuple(forward)), gradient, rtol=1e-5, atol=1e-6)
    assert_close(on_host(tuple(reverse)), gradient, rtol=1e-5, atol=1e-6)
    h = HESSIAN_POSITION[name]
    gradient_at = s2s.grad(fn, h)         # on NumPy; checked against differences above
    rows = [numerical_grad(lambda *a, j=j: np.ravel(gradient_at(*a))[j], args, h)
            for j in range(np.size(args[h]))]
    expected = np.reshape(np.stack(rows), np.shape(args[h]) * 2)
    assert_close(on_host(hessian), expected, rtol=1e-5, atol=1e-6)


def test_a_numpy_only_rule_is_refused_on_cupy_at_its_line():
    def uses_sort(x):
        return np.sum(np.sort(x) * np.arange(6.0))
    x = on_gpu(np.linspace(0.0, 1.0, 6))
    for call in (lambda: s2s.jvp(uses_sort, x, cupy.ones_like(x)),
                 lambda: s2s.vjp(uses_sort, x), lambda: s2s.jacrev(uses_sort)(x),
                 lambda: s2s.hessian(uses_sort)(x)):
        with pytest.raises(NotDifferentiableError) as info:
            call()
        assert "sort on a cupy ndarray" in str(info.value)
        assert info.value.lineno == uses_sort.__code__.co_firstlineno + 1
