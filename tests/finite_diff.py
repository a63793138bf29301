"""The independent oracle of the gradient tests: central finite differences in float64.

``numerical_grad(f, args, position)`` estimates the gradient of ``sum(f(*args))`` with
respect to ``args[position]`` by perturbing one scalar at a time, so a non-scalar output
is seeded with ones exactly as ``s2s.grad`` does. Differentiated arguments may be Python
numbers, NumPy scalars, float or complex arrays, or pytrees (tuples, lists, dicts) of those;
the estimate comes back in the same structure. A complex input is shifted along its real and
its imaginary direction, and its gradient follows the convention of s2s (autograd's):
``dL/dRe(z) - 1j * dL/dIm(z)`` of the real part ``L`` of the output's sum. Everything is evaluated on float64 copies, so
a float32 test input still gets a float64-accurate reference.

``assert_close(actual, expected)`` walks two pytrees side by side and checks container
types, dict keys, leaf shapes and values.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, List, Sequence, Tuple, Union

import numpy as np

#: Relative step. With float64, a central difference has truncation error ~h**2 and
#: rounding error ~eps/h; h = 1e-6 keeps both near 1e-10 for well-scaled inputs.
STEP = 1e-6


def flatten(tree: Any) -> Tuple[List[Any], Callable[[List[Any]], Any]]:
    """Split a pytree into its leaves and a function that rebuilds it from new leaves."""
    if isinstance(tree, (tuple, list)):
        parts = [flatten(item) for item in tree]
        sizes = [len(leaves) for leaves, _ in parts]

        def rebuild(leaves: List[Any]) -> Any:
            items, start = [], 0
            for (_, build), size in zip(parts, sizes):
                items.append(build(leaves[start:start + size]))
                start += size
            return type(tree)(items)

        return [leaf for leaves, _ in parts for leaf in leaves], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        values, rebuild_values = flatten([tree[key] for key in keys])
        return values, lambda leaves: dict(zip(keys, rebuild_values(leaves)))
    return [tree], lambda leaves: leaves[0]


def is_complex(leaf: Any) -> bool:
    return isinstance(leaf, complex) or getattr(leaf, "dtype", np.dtype(float)).kind == "c"


def as_float64(leaf: Any) -> np.ndarray:
    if isinstance(leaf, (str, bytes)) or leaf is None:
        raise TypeError(f"cannot take a finite difference with respect to {leaf!r}")
    return np.array(leaf, dtype=np.complex128 if is_complex(leaf) else np.float64)


def _like(value: np.ndarray, leaf: Any) -> Any:
    """Give a perturbed float64 (complex128) value the kind of container the original leaf
    had."""
    if isinstance(leaf, np.ndarray):
        return value
    if isinstance(leaf, np.generic):
        return value.dtype.type(value)
    return complex(value) if isinstance(leaf, complex) else float(value)


def _total(output: Any) -> float:
    """The scalar whose gradient is taken: the sum of every output element (its real part)."""
    return float(np.real(np.sum(as_float64(output))))


def numerical_grad(f: Callable, args: Sequence[Any],
                   position: Union[int, Tuple[int, ...]] = 0) -> Any:
    """Central-difference gradient of ``sum(f(*args))`` w.r.t. ``args[position]``.

    A tuple of positions gives a tuple of gradients. Each leaf's gradient is a float64
    array of the leaf's shape (a Python float for a scalar leaf).
    """
    if isinstance(position, tuple):
        return tuple(numerical_grad(f, args, p) for p in position)
    leaves, rebuild = flatten(args[position])
    base = [as_float64(leaf) for leaf in leaves]
    grads = []
    for index, value in enumerate(base):
        grad = np.zeros_like(value)
        for element in np.ndindex(value.shape):
            h = STEP * max(1.0, abs(value[element]))
            # d/dRe, then -1j d/dIm of a complex leaf
            for shift, weight in (((1.0, 1.0), (1j, -1j)) if value.dtype.kind == "c"
                                  else ((1.0, 1.0),)):
                sides = []
                for sign in (1.0, -1.0):
                    shifted = value.copy()
                    shifted[element] += sign * h * shift
                    new_leaves = [_like(v, leaf) for v, leaf in zip(base, leaves)]
                    new_leaves[index] = _like(shifted, leaves[index])
                    call_args = copy.deepcopy(list(args))
                    call_args[position] = rebuild(new_leaves)
                    sides.append(_total(f(*call_args)))
                grad[element] += weight * (sides[0] - sides[1]) / (2.0 * h)
        grads.append(grad if isinstance(leaves[index], np.ndarray) else _like(grad, leaves[index]))
    return rebuild(grads)


def assert_close(actual: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-7,
                 path: str = "grad") -> None:
    """Assert two pytrees have the same structure, leaf shapes and (close) values."""
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected), \
            f"{path}: expected a {type(expected).__name__}, got {type(actual).__name__}"
        assert len(actual) == len(expected), \
            f"{path}: expected {len(expected)} items, got {len(actual)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, atol, f"{path}[{i}]")
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a dict, got {type(actual).__name__}"
        assert set(actual) == set(expected), \
            f"{path}: expected keys {list(expected)}, got {list(actual)}"
        for key in expected:
            assert_close(actual[key], expected[key], rtol, atol, f"{path}[{key!r}]")
        return
    assert actual is not None, f"{path}: got None"
    assert np.shape(actual) == np.shape(expected), \
        f"{path}: expected shape {np.shape(expected)}, got {np.shape(actual)}"
    np.testing.assert_allclose(as_float64(actual), expected,
                               rtol=rtol, atol=atol, err_msg=path)
