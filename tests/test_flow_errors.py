"""Control-flow constructs s2s rejects: each is a clear s2s.S2SError that points at the
user's file, line and column, shows the line with a caret under the construct, names it,
and gives a hint.

The construct in each function is marked with ``# unsupported``; the expected line and
column are computed from the function's source with inspect, never written by hand.
"""
import inspect
import os
import re

import numpy as np
import pytest

import s2s

TOTAL = 0.0


def uses_yield(x):
    y = np.sin(x)
    yield y * 2.0  # unsupported


def uses_yield_from(x):
    yield from (x, x * 2.0)  # unsupported


async def uses_async_def(x):  # unsupported
    return x * 2.0


def uses_try_around_active(x):
    try:  # unsupported
        y = np.log(x) * x
    except FloatingPointError:
        y = x
    return y


def uses_try_finally_around_active(x):
    y = x * 1.0
    try:  # unsupported
        y = np.sin(y) * y
    finally:
        print("done")
    return y


def uses_with_around_active(x):
    with np.errstate(divide="ignore"):  # unsupported
        y = np.log(x) * x
    return y


def uses_global_assignment(x):
    global TOTAL  # unsupported
    TOTAL = TOTAL + np.sum(x)
    return x * 2.0


def make_nonlocal_counter():
    count = 0.0

    def uses_nonlocal_assignment(x):
        nonlocal count  # unsupported
        count = count + 1.0
        return x * count
    return uses_nonlocal_assignment


uses_nonlocal_assignment = make_nonlocal_counter()


def uses_nonlocal_in_nested_def(x):
    total = x * 0.0

    def accumulate(v):
        nonlocal total  # unsupported
        total = total + v
    accumulate(np.sin(x))
    return total


def uses_del_of_active(x):
    y = np.sin(x)
    z = y * y
    del y  # unsupported
    return z


def helper_with_try(v):
    try:  # unsupported
        w = v * v
    except ValueError:
        w = v
    return w


def calls_helper_with_try(x):
    return helper_with_try(np.sin(x)) + x


def updates_array_another_name_reads(x):
    y = x * 1.0
    z = y
    y += x  # unsupported
    return np.sum(z * y)


def stores_into_array_another_name_reads(x):
    y = x * 1.0
    z = y
    y[0] = 5.0  # unsupported
    return np.sum(z * y)


def stores_into_array_a_view_reads(x):
    y = x * 1.0
    tail = y[1:]
    y[2] = 5.0  # unsupported
    return np.sum(tail * x[1:])


def stores_through_loop_variable(x):
    rows = np.ones((3, 3)) * x
    total = 0.0
    for row in rows:
        row[0] = 2.0  # unsupported
        total = total + np.sum(row)
    return total + np.sum(rows)


def updates_list_another_name_reads(x):
    ys = [x]
    zs = ys
    ys += [x * 2.0]  # unsupported
    return zs[-1] * ys[0]


# (differentiated function, function holding the construct, words one of which must
# appear in err.construct)
UNSUPPORTED = [
    (uses_yield, None, ("yield", "generator")),
    (uses_yield_from, None, ("yield", "generator")),
    (uses_async_def, None, ("async",)),
    (uses_try_around_active, None, ("try",)),
    (uses_try_finally_around_active, None, ("try",)),
    (uses_with_around_active, None, ("with",)),
    (uses_global_assignment, None, ("global",)),
    (uses_nonlocal_assignment, None, ("nonlocal",)),
    (uses_nonlocal_in_nested_def, None, ("nonlocal",)),
    (uses_del_of_active, None, ("del",)),
    (calls_helper_with_try, helper_with_try, ("try",)),
    (updates_array_another_name_reads, None, ("in place",)),
    (stores_into_array_another_name_reads, None, ("in place",)),
    (stores_into_array_a_view_reads, None, ("in place",)),
    (stores_through_loop_variable, None, ("in place",)),
    (updates_list_another_name_reads, None, ("in place",)),
]


def _marked_construct(fn):
    """(line number, column, code) of the line marked ``# unsupported`` in ``fn``."""
    lines, first = inspect.getsourcelines(fn)
    offset = next(i for i, line in enumerate(lines) if "# unsupported" in line)
    line = lines[offset]
    return first + offset, len(line) - len(line.lstrip()), line.split("#")[0].strip()


@pytest.mark.parametrize("fn, holder, names", UNSUPPORTED,
                         ids=[fn.__name__ for fn, _, _ in UNSUPPORTED])
def test_unsupported_control_flow_is_a_clear_error(fn, holder, names):
    lineno, column, code = _marked_construct(holder or fn)
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(fn)(np.array([0.5, 1.5, 2.0]))
    err, message = info.value, str(info.value)

    assert os.path.realpath(err.filename) == os.path.realpath(__file__)
    assert err.lineno == lineno, message
    assert err.col_offset == column, message
    assert any(name in err.construct.lower() for name in names), err.construct
    assert err.hint and err.hint in message
    assert os.path.basename(__file__) in message
    assert f"line {err.lineno}" in message
    # the source line is shown with a caret under the start of the construct
    shown = message.splitlines()
    carets = [i for i in range(1, len(shown))
              if re.fullmatch(r"\s*\^+\s*", shown[i]) and code in shown[i - 1]]
    assert carets, message
    assert shown[carets[0]].index("^") == shown[carets[0] - 1].index(code), message


def test_rejected_function_has_no_side_effects():
    """The error comes from the transform, before any user code runs."""
    with pytest.raises(s2s.S2SError):
        s2s.grad(uses_global_assignment)(np.ones(3))
    assert TOTAL == 0.0


# --- in-place updates nobody else sees are fine ------------------------------------------------
def adds_to_a_float_it_copied(x):
    total = x
    for i in range(3):
        total += x * i              # a number: += makes a new one
    return total


def view_rebound_before_reads(x):
    out = np.ones_like(x)
    for i in range(1, len(x)):
        row = out[i - 1]
        out[i] = row * 0.5 + x[i]
        out[i - 1] = out[i - 1] * 2.0   # row sees it, but is not read again
    return np.sum(out * out)


def copies_before_updating(x):
    y = x * 1.0
    z = y.copy()
    y[0] = 5.0
    return np.sum(z * y)


@pytest.mark.parametrize("fn, arg", [(adds_to_a_float_it_copied, 1.5),
                                     (view_rebound_before_reads, np.array([0.5, 1.5, 2.0])),
                                     (copies_before_updating, np.array([0.5, 1.5, 2.0]))])
def test_updates_in_place_no_other_name_reads_are_differentiated(fn, arg):
    from finite_diff import assert_close, numerical_grad
    assert_close(s2s.grad(fn)(arg), numerical_grad(fn, (arg,), 0))


def test_forward_mode_refuses_the_same_updates():
    with pytest.raises(s2s.S2SError, match="in place"):
        s2s.jvp(stores_into_array_another_name_reads, (np.ones(3),), (np.ones(3),))
