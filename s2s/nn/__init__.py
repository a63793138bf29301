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

from s2s.nn import random as _random

__all__ = [
    "Parameter", "Cell", "SequentialCell", "Dense", "Flatten", "ReLU", "Sigmoid", "Tanh",
    "Softmax", "Dropout", "LossBase", "MSELoss", "CrossEntropyLoss", "Optimizer", "SGD",
    "Adam",
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

    ``Parameter(data)`` copies ``data``, keeping a float dtype (integer data becomes float64,
    since a parameter is there to be differentiated). A Parameter is used like any
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
        # NumPy builds copies and views in C (copy.deepcopy, some methods): keep the tags.
        self.name = getattr(obj, "name", None)
        self.requires_grad = getattr(obj, "requires_grad", True)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if out is not None:
            kwargs["out"] = _plain(out)
        result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        if out is None or method == "at":
            return result
        # an in-place update (p -= g) hands back the caller's own out arrays: the Parameter
        return out[0] if len(out) == 1 else out

    def __array_function__(self, func, types, args, kwargs):
        return func(*_plain(args), **_plain(kwargs))

    def copy(self, order="C") -> np.ndarray:
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


def _plain_method(name: str):
    method = getattr(np.ndarray, name)

    def plain_method(self, *args, **kwargs):
        return method(self.view(np.ndarray), *args, **kwargs)

    plain_method.__name__ = plain_method.__qualname__ = name
    plain_method.__doc__ = f"``np.ndarray.{name}`` on the values; the result is a plain ndarray."
    return plain_method


# ndarray methods that build a new array or a view in C keep the subclass; these would make
# Parameters out of slices and transposes, so they return plain arrays instead.
for _name in ("__getitem__", "transpose", "reshape", "ravel", "flatten", "squeeze", "swapaxes",
              "astype", "dot", "repeat", "take", "diagonal", "compress", "conj", "conjugate"):
    setattr(Parameter, _name, _plain_method(_name))
for _name in ("T", "real", "imag"):
    setattr(Parameter, _name, property(lambda self, _name=_name: getattr(
        self.view(np.ndarray), _name), doc=f"``.{_name}`` of the values, a plain ndarray."))
del _name


# -- cells ------------------------------------------------------------------------------------
def _walk(cell: "Cell", prefix: str, seen: set) -> Iterator[Tuple[str, "Cell"]]:
    if id(cell) in seen:
        return
    seen.add(id(cell))
    yield prefix, cell
    for name, child in cell._cells.items():
        yield from _walk(child, f"{prefix}.{name}" if prefix else name, seen)


class Cell:
    """The base of every layer, loss and network (MindSpore's ``nn.Cell``).

    A subclass calls ``super().__init__()`` first, assigns its Parameters and sub-cells as
    attributes, and writes the forward computation in ``construct``; calling the cell calls
    ``construct``. Assigning a Parameter, a Cell, or a list or tuple of Cells to an attribute
    registers it (a list's items are named ``attr.0``, ``attr.1``, ...), so that
    ``trainable_params``, ``parameters_and_names`` and ``set_train`` find it. A list changed
    in place later is not seen again: assign a new one. A new cell is in inference mode
    (``training`` is False) until ``set_train()``, as in MindSpore.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_cells", {})
        object.__setattr__(self, "training", False)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_params" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call "
                                 f"super().__init__() before it assigns attributes")
        self._forget(name)
        if isinstance(value, Parameter):
            if value.name is None:
                value.name = name
            self._params[name] = value
        elif isinstance(value, Cell):
            self._cells[name] = value
        elif isinstance(value, (list, tuple)) and value \
                and all(isinstance(item, Cell) for item in value):
            for index, cell in enumerate(value):
                self._cells[f"{name}.{index}"] = cell
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        self._params.pop(name, None)
        self._cells.pop(name, None)
        for key in [key for key in self._cells if key.startswith(name + ".")]:
            del self._cells[key]

    def insert_child_to_cell(self, child_name: str, child_cell: "Cell") -> None:
        """Register ``child_cell`` under ``child_name`` without making it an attribute."""
        if not isinstance(child_cell, Cell):
            raise TypeError(f"child_cell must be a Cell, not {type(child_cell).__name__}")
        self._cells[child_name] = child_cell

    def construct(self, *args: Any, **kwargs: Any) -> Any:
        """The forward computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define construct()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.construct(*args, **kwargs)

    def cells(self) -> List["Cell"]:
        """The direct sub-cells, in registration order."""
        return list(self._cells.values())

    def name_cells(self) -> Dict[str, "Cell"]:
        """The direct sub-cells by name, in registration order."""
        return dict(self._cells)

    def cells_and_names(self, name_prefix: str = "") -> Iterator[Tuple[str, "Cell"]]:
        """``(qualified name, cell)`` for this cell (name ``name_prefix``) and every cell
        below it, depth first in registration order; a shared cell comes once."""
        return _walk(self, name_prefix, set())

    def parameters_and_names(self, name_prefix: str = "") -> Iterator[Tuple[str, Parameter]]:
        """``(qualified name, Parameter)`` for every parameter, such as ``'dense.weight'``.

        Each cell's own parameters come before those of its sub-cells, as in MindSpore and
        PyTorch; a shared parameter comes once, under its first name.
        """
        seen = set()
        for cell_name, cell in self.cells_and_names(name_prefix):
            for name, param in cell._params.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{cell_name}.{name}" if cell_name else name), param

    def get_parameters(self) -> Iterator[Parameter]:
        """Every parameter, in the order of ``parameters_and_names``."""
        return (param for _, param in self.parameters_and_names())

    def trainable_params(self) -> List[Parameter]:
        """The parameters with ``requires_grad``, in the order of ``parameters_and_names``.

        This is the order of the gradients from ``weights=net.trainable_params()`` and the
        order an optimizer built from this list expects them in.
        """
        return [param for param in self.get_parameters() if param.requires_grad]

    def set_train(self, mode: bool = True) -> "Cell":
        """Put this cell and every cell below it in training (``mode=True``) or inference
        mode; returns the cell."""
        for _, cell in self.cells_and_names():
            cell.training = bool(mode)
        return self

    def extend_repr(self) -> str:
        """The settings shown inside ``<...>`` in the cell's repr."""
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}<{self.extend_repr()}"
        if not self._cells:
            return head + ">"
        children = [f"({name}): " + repr(cell).replace("\n", "\n  ")
                    for name, cell in self._cells.items()]
        return head + "\n  " + "\n  ".join(children) + "\n  >"


class SequentialCell(Cell):
    """Calls its cells one after another: ``SequentialCell(a, b)(x) == b(a(x))``.

    Takes cells as arguments or as one list; they are named ``'0'``, ``'1'``, ...
    """

    def __init__(self, *cells: Union[Cell, Sequence[Cell]]) -> None:
        super().__init__()
        if len(cells) == 1 and isinstance(cells[0], (list, tuple)):
            cells = tuple(cells[0])
        # a plain list that construct loops over; kept in step with the registered children
        object.__setattr__(self, "cell_list", [])
        for cell in cells:
            self.append(cell)

    def append(self, cell: Cell) -> "SequentialCell":
        """Add ``cell`` at the end."""
        self.insert_child_to_cell(str(len(self.cell_list)), cell)
        self.cell_list.append(cell)
        return self

    def __len__(self) -> int:
        return len(self.cell_list)

    def __getitem__(self, index: int) -> Cell:
        return self.cell_list[index]

    def construct(self, x):
        for cell in self.cell_list:
            x = cell(x)
        return x


# -- layers -----------------------------------------------------------------------------------
class ReLU(Cell):
    """max(x, 0), element by element."""

    def construct(self, x):
        return np.maximum(x, 0)


class Sigmoid(Cell):
    """1 / (1 + exp(-x)), element by element."""

    def construct(self, x):
        # the same function written with tanh, which cannot overflow for large |x|
        return 0.5 * np.tanh(0.5 * x) + 0.5


class Tanh(Cell):
    """tanh(x), element by element."""

    def construct(self, x):
        return np.tanh(x)


class Softmax(Cell):
    """exp(x) / sum(exp(x)) along ``axis``; finite for any finite input."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def extend_repr(self) -> str:
        return f"axis={self.axis}"

    def construct(self, x):
        # exp of (x - max) cannot overflow, and the shift cancels in the ratio
        shifted = x - np.max(x, axis=self.axis, keepdims=True)
        exps = np.exp(shifted)
        return exps / np.sum(exps, axis=self.axis, keepdims=True)


_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "softmax": Softmax}


def _activation(activation: Union[None, str, Cell]) -> Optional[Cell]:
    if activation is None or isinstance(activation, Cell):
        return activation
    if isinstance(activation, str) and activation.lower() in _ACTIVATIONS:
        return _ACTIVATIONS[activation.lower()]()
    raise ValueError(f"activation must be None, a Cell or one of {sorted(_ACTIVATIONS)}, "
                     f"not {activation!r}")


def _initial(init: Any, shape: Tuple[int, ...], bound: float, dtype, what: str) -> Parameter:
    if init is None:
        return Parameter(_random.uniform(-bound, bound, shape, dtype))
    data = np.asarray(init, dtype=dtype)
    if data.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, not {data.shape}")
    return Parameter(data)


class Dense(Cell):
    """The fully connected layer ``activation(x @ weight.T + bias)``.

    ``weight`` has shape (out_channels, in_channels) and ``bias`` (out_channels,), as in
    MindSpore. By default both start from U(-1/sqrt(in_channels), 1/sqrt(in_channels)),
    drawn from the generator of ``s2s.set_seed``: the default of MindSpore 2.x (HeUniform
    with a=sqrt(5)) and of PyTorch. ``weight_init``/``bias_init`` give starting arrays
    instead. ``activation`` is None, a Cell, or 'relu', 'sigmoid', 'tanh' or 'softmax'.
    """

    def __init__(self, in_channels: int, out_channels: int, weight_init: Any = None,
                 bias_init: Any = None, has_bias: bool = True,
                 activation: Union[None, str, Cell] = None, dtype=np.float32) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.has_bias = has_bias
        bound = 1.0 / math.sqrt(in_channels)
        self.weight = _initial(weight_init, (out_channels, in_channels), bound, dtype, "weight")
        self.bias = (_initial(bias_init, (out_channels,), bound, dtype, "bias")
                     if has_bias else None)
        self.activation = _activation(activation)

    def extend_repr(self) -> str:
        return (f"input_channels={self.in_channels}, output_channels={self.out_channels}, "
                f"has_bias={self.has_bias}")

    def construct(self, x):
        y = x @ self.weight.T
        if self.has_bias:
            y = y + self.bias
        if self.activation is not None:
            y = self.activation(y)
        return y


class Flatten(Cell):
    """Reshapes (N, d1, d2, ...) to (N, d1 * d2 * ...), keeping the batch axis."""

    def construct(self, x):
        return np.reshape(x, (x.shape[0], -1))


class Dropout(Cell):
    """In training mode, zeroes each entry with probability ``p`` and scales the others by
    ``1 / (1 - p)``; in inference mode (the default until ``set_train()``) it is the identity.

    MindSpore 2.x semantics: ``p`` is the probability of *dropping* (default 0.5).
    ``keep_prob`` (MindSpore 1.x) is accepted as ``p = 1 - keep_prob``. Both are
    keyword-only, because a bare ``Dropout(0.8)`` means opposite things in the two
    versions. The mask comes from the generator of ``s2s.set_seed``.
    """

    def __init__(self, *, p: Optional[float] = None, keep_prob: Optional[float] = None) -> None:
        super().__init__()
        if p is None:
            p = 0.5 if keep_prob is None else 1.0 - keep_prob
        elif keep_prob is not None:
            raise ValueError("give Dropout either p or keep_prob, not both")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout needs 0 <= p < 1, not p={p}")
        self.p = float(p)

    def extend_repr(self) -> str:
        return f"p={self.p}"

    def construct(self, x):
        if self.training:
            x = x * _random.dropout_mask(x.shape, self.p, x.dtype)
        return x


# -- losses -----------------------------------------------------------------------------------
class LossBase(Cell):
    """The base of the losses: ``get_loss`` applies ``reduction`` ('mean', 'sum' or
    'none') to the per-entry losses."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
        self.reduction = reduction

    def extend_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def get_loss(self, x):
        if self.reduction == "mean":
            x = np.mean(x)
        elif self.reduction == "sum":
            x = np.sum(x)
        return x


class MSELoss(LossBase):
    """The squared error ``(logits - labels) ** 2``, reduced."""

    def construct(self, logits, labels):
        return self.get_loss(np.square(logits - labels))


class CrossEntropyLoss(LossBase):
    """``-log softmax(logits)[label]`` for logits of shape (N, C) (or (C,)) and integer class
    labels of shape (N,) (or a scalar), reduced over the batch.

    log-softmax is computed as ``shifted - log(sum(exp(shifted)))`` with
    ``shifted = logits - max(logits)``, so it is finite for any finite logits.
    """

    def construct(self, logits, labels):
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        one_hot = np.eye(logits.shape[-1], dtype=log_probs.dtype)[labels]
        return self.get_loss(-np.sum(one_hot * log_probs, axis=-1))


# -- optimizers -------------------------------------------------------------------------------
class Optimizer:
    """The base of the optimizers.

    ``optimizer(grads)`` takes one gradient per parameter, in the order of ``parameters``
    (for ``net.trainable_params()``, the order in which ``weights=net.trainable_params()``
    returns gradients), updates every parameter in place so that each stays the same object,
    and returns True (MindSpore's optimizers also return a success flag).
    ``weight_decay`` adds ``weight_decay * p`` to each gradient first (L2 regularisation,
    as MindSpore's SGD and Adam do). ``global_step`` counts the calls.
    """

    def __init__(self, learning_rate: float, parameters: Iterable[Parameter],
                 weight_decay: float = 0.0) -> None:
        self.parameters = tuple(parameters)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__} got an empty list of parameters")
        for param in self.parameters:
            if not isinstance(param, Parameter):
                raise TypeError(f"{type(self).__name__} updates Parameters in place, not "
                                f"{type(param).__name__}: pass net.trainable_params()")
        if learning_rate < 0 or weight_decay < 0:
            raise ValueError("learning_rate and weight_decay must be >= 0")
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.global_step = 0

    def __call__(self, gradients: Union[np.ndarray, Sequence[np.ndarray]]) -> bool:
        if isinstance(gradients, np.ndarray):      # the one gradient of a single weight
            gradients = (gradients,)
        gradients = tuple(gradients)
        if len(gradients) != len(self.parameters):
            raise ValueError(f"{type(self).__name__} has {len(self.parameters)} parameters "
                             f"but got {len(gradients)} gradients")
        self.global_step += 1
        for index, (param, grad) in enumerate(zip(self.parameters, gradients)):
            if np.shape(grad) != param.shape:
                raise ValueError(f"the gradient of parameter {param.name!r} has shape "
                                 f"{np.shape(grad)}, not {param.shape}")
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            self.update(index, param, np.asarray(grad))
        return True

    def update(self, index: int, param: Parameter, grad: np.ndarray) -> None:
        """Change ``param`` (number ``index`` in ``parameters``) in place, given its gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent, with momentum when ``momentum > 0``::

        v = momentum * v + g        (v starts at 0)
        p = p - learning_rate * v   (v = g without momentum)

    This is MindSpore's SGD (and PyTorch's) without dampening or Nesterov.
    """

    def __init__(self, params: Iterable[Parameter], learning_rate: float = 0.1,
                 momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(learning_rate, params, weight_decay)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, not {momentum}")
        self.momentum = float(momentum)
        self.moments = [np.zeros_like(p) for p in self.parameters] if momentum else []

    def update(self, index: int, param: Parameter, grad: np.ndarray) -> None:
        if self.momentum:
            moment = self.moments[index]
            moment *= self.momentum
            moment += grad
            grad = moment
        param -= self.learning_rate * grad


class Adam(Optimizer):
    """Adam, in MindSpore's form (the efficient variant of Kingma & Ba's algorithm)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - learning_rate * sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m / (sqrt(v) + eps)

    with ``t`` the step number from 1. It differs from the bias-corrected form
    ``m_hat / (sqrt(v_hat) + eps)`` only in where ``eps`` enters.
    """

    def __init__(self, params: Iterable[Parameter], learning_rate: float = 1e-3,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(learning_rate, params, weight_decay)
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0 and eps > 0):
            raise ValueError("Adam needs 0 <= beta1, beta2 < 1 and eps > 0")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.moment1 = [np.zeros_like(p) for p in self.parameters]
        self.moment2 = [np.zeros_like(p) for p in self.parameters]

    def update(self, index: int, param: Parameter, grad: np.ndarray) -> None:
        m, v = self.moment1[index], self.moment2[index]
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * grad * grad
        t = self.global_step
        step = self.learning_rate * math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        param -= step * m / (np.sqrt(v) + self.eps)
