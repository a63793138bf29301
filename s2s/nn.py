"""A small neural-network layer in plain NumPy, with MindSpore's names and semantics.

A network is a ``Cell`` whose ``construct`` method is ordinary NumPy code; its weights are
``Parameter`` arrays. ``s2s`` differentiates ``construct`` from its source, and
``weights=net.trainable_params()`` asks for the gradients of the parameters::

    import s2s
    from s2s import nn

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(3, 4)

        def construct(self, x):
            return self.dense(x)

    net, loss_fn = Net(), nn.MSELoss()
    optimizer = nn.SGD(net.trainable_params(), learning_rate=0.01)

    def forward_fn(data, label):
        return loss_fn(net(data), label)

    grad_fn = s2s.value_and_grad(forward_fn, None, weights=net.trainable_params())
    loss, grads = grad_fn(data, label)
    optimizer(grads)                        # updates the parameters in place

Every ``construct`` here is kept to straight-line NumPy code, attribute reads, calls of
sub-cells, branches on plain Python attributes and a ``for`` loop over a list of cells,
because the engine rewrites that source to differentiate it.

Defaults follow MindSpore 2.x: parameters are float32, a new cell is in inference mode
(``training`` is False until ``set_train()``), ``Dropout(p)`` takes the probability of
*dropping* an entry, and optimizers return True.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import random as _random

__all__ = [
    "Parameter", "Cell", "SequentialCell", "Dense", "Flatten", "ReLU", "Sigmoid", "Tanh",
    "Softmax", "Dropout", "MSELoss", "CrossEntropyLoss", "Optimizer", "SGD", "Adam",
]


# -- parameters -------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """``value`` with every Parameter replaced by a plain ndarray view of the same memory."""
    if isinstance(value, Parameter):
        return value.view(np.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class Parameter(np.ndarray):
    """A trainable array: an ``np.ndarray`` with a ``name`` and a ``requires_grad`` flag.

    ``Parameter(data)`` copies ``data`` (keeping its dtype). A Parameter is used like any
    array (``x @ self.weight.T``), but what comes out of arithmetic, NumPy functions,
    indexing, ``.T`` and ``reshape`` is a plain ``np.ndarray``: only the object you created
    is a Parameter. Gradients are matched to parameters by object identity, so optimizers
    change a Parameter in place (``p[...] -= lr * g``) and it stays the same object.
    """

    name: Optional[str]
    requires_grad: bool

    def __new__(cls, data: Any, name: Optional[str] = None, requires_grad: bool = True):
        array = np.array(data, copy=True)
        if array.dtype.kind not in "fc":
            array = array.astype(np.float64)
        param = array.view(cls)
        param.name = name
        param.requires_grad = requires_grad
        return param

    def __array_finalize__(self, obj: Any) -> None:
        # Called for copies NumPy makes internally (copy.deepcopy, pickling): keep the tags.
        self.name = getattr(obj, "name", None)
        self.requires_grad = getattr(obj, "requires_grad", True)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        if "out" in kwargs and method != "at":
            # an in-place update (p -= g) must hand back the Parameter itself
            outs = tuple(out if out is not None else res for out, res in
                         zip(_original_outs(inputs, kwargs), _as_tuple(result)))
            return outs[0] if len(outs) == 1 else outs
        return result

    def __array_function__(self, func, types, args, kwargs):
        return func(*_plain(args), **_plain(kwargs))

    def __getitem__(self, key):
        return self.view(np.ndarray)[key]

    @property
    def T(self) -> np.ndarray:
        return self.view(np.ndarray).T

    def transpose(self, *axes):
        return self.view(np.ndarray).transpose(*axes)

    def reshape(self, *shape, **kwargs):
        return self.view(np.ndarray).reshape(*shape, **kwargs)

    def ravel(self, order="C"):
        return self.view(np.ndarray).ravel(order)

    def flatten(self, order="C"):
        return self.view(np.ndarray).flatten(order)

    def squeeze(self, axis=None):
        return self.view(np.ndarray).squeeze(axis)

    def swapaxes(self, axis1, axis2):
        return self.view(np.ndarray).swapaxes(axis1, axis2)

    def astype(self, dtype, *args, **kwargs):
        return self.view(np.ndarray).astype(dtype, *args, **kwargs)

    def copy(self, order="C"):
        """A plain ndarray copy of the values (``copy.deepcopy`` gives a Parameter)."""
        return self.view(np.ndarray).copy(order)

    def __reduce__(self):
        rebuild, args, state = super().__reduce__()
        return rebuild, args, (state, self.name, self.requires_grad)

    def __setstate__(self, state):
        array_state, self.name, self.requires_grad = state
        super().__setstate__(array_state)

    def __repr__(self) -> str:
        return (f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.dtype}, "
                f"requires_grad={self.requires_grad})")


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _original_outs(inputs: tuple, kwargs: dict) -> tuple:
    """The ``out=`` arrays as the caller passed them; the Parameter's own view is recorded
    in ``kwargs['out']`` by then, so find the Parameters again by the memory they share."""
    originals = []
    for out in _as_tuple(kwargs["out"]):
        match = next((x for x in inputs if isinstance(x, Parameter) and out is not None
                      and out.base is x), None)
        originals.append(match)
    return tuple(originals)
