"""``s2s.show``: print the code that a gradient call with given arguments runs.

``inspect.getsource(s2s.grad(f))`` before the first call shows an unspecialized gradient,
which is not what a call runs: ``s2s.grad`` builds its code for the shapes of the call's
arguments (and for pytree arguments). ``show`` builds, without running it, the code for
these arguments, and prints it:

    >>> s2s.show(loss, w, x, y, grad_position=(0, 2))
    def grad_loss(w, x, y):
        ...
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from s2s.api.grad import GradFunction, grad, value_and_grad


def show(fn: Callable, *args: Any, value: bool = False, **options: Any) -> None:
    """Print the generated code that ``s2s.grad(fn, **options)(*args)`` runs (with
    ``value=True``, that of ``s2s.value_and_grad``). ``fn`` may also be the result of
    ``s2s.grad`` or ``s2s.value_and_grad``, whose options are then used."""
    if isinstance(fn, GradFunction):
        if value or options:
            raise TypeError("s2s.show of an s2s.grad object takes its options from it: pass "
                            "the function itself to give other options")
        target = fn
    else:
        target = (value_and_grad if value else grad)(fn, **options)
    print(inspect.getsource(target.code_for(*args)), end="")
