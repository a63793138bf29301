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
