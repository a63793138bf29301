"""Functions with control flow, calls, closures, containers and in-place updates,
differentiated by tests/test_grad_flow.py.

They live in a real module so that s2s can read their source. Each one exercises one
construct (or one combination of constructs); the table in test_grad_flow.py gives inputs
that keep every branch decision well away from its threshold, so that central finite
differences never straddle a switch.
"""
import numpy as np

import flow_helpers as fh
from flow_helpers import Scaler, leaky, square

SHIFT = 10.0            # flow_helpers has its own SHIFT = 0.5; calls must not mix them up
SCALE = 1.5
WEIGHTS = np.array([0.5, -1.0, 2.0])
PAIRS = ((1.0, 0.5), (2.0, -0.25), (0.5, 1.5))


# --- branches -------------------------------------------------------------------------------

def if_on_flag(x, flag):
    if flag:
        y = np.sin(x)
    else:
        y = x * x
    return y * 2.0


def if_elif_else_on_mode(x, mode):
    if mode == 0:
        y = np.sin(x)
    elif mode == 1:
        y = np.exp(x) * x
    else:
        y = np.tanh(x) * 3.0
    return y


def if_on_active_scalar(x):
    if x > 0:
        y = np.sin(x) * x
    else:
        y = x * x * x
    return y


def if_on_active_sum(x):
    if np.sum(x) > 0.0:
        y = np.tanh(x)
    else:
        y = x * x
    return np.sum(y * x)


def if_elif_else_active(x):
    if x > 1.0:
        y = np.log(x) + 1.0
    elif x > -1.0:
        y = x * x * 0.5 + 0.5
    else:
        y = -x * 2.0
    return y * x


def if_without_else(x):
    y = x * 2.0
    if y > 1.0:
        y = np.sin(y) * y
    return y + x


def if_nested(x, y):
    if x > 0:
        if y > 0:
            z = x * y
        else:
            z = x - y * y
    else:
        z = np.sin(x) * y
    return z


def if_on_intermediate(x):
    y = np.sin(x)
    if y > 0.5:
        z = y * y
    else:
        z = y * 3.0
    return z * x


def if_on_array_elements(x):
    if x[0] > x[1]:
        y = x * x[0]
    else:
        y = np.cos(x) * x[1]
    return np.sum(y)


def if_assigns_new_name_in_both(x):
    if x > 0:
        a = x * 2.0
        b = np.sin(x)
    else:
        a = x * x
        b = np.cos(x)
    return a * b


def conditional_expression(x):
    y = np.sin(x) if x > 0 else np.cos(x) * x
    return y * x


def conditional_expression_nested(x):
    return x * x if x > 1.0 else (np.exp(x) if x > -1.0 else -x)


def conditional_expression_on_flag(x, flag):
    return np.sum((x * 2.0 if flag else x * x) * x)


def and_condition(x, y):
    if x > 0 and y > 0:
        z = x * y
    else:
        z = x + y * y
    return z


def or_condition(x, y):
    if x > 1.0 or y < -1.0:
        z = np.sin(x * y)
    else:
        z = x * x * y
    return z


def not_condition(x):
    if not x > 0.5:
        y = x * 4.0
    else:
        y = np.sqrt(x)
    return y


def chained_comparison(x):
    if -1.0 < x < 1.0:
        y = x * x * x
    else:
        y = np.sin(x)
    return y


def chained_comparison_two_values(x, y):
    if x < y < 2.0 * x:
        z = x * y
    else:
        z = x - y
    return z


def bool_value_then_branch(x, y):
    positive = x > 0 and y > 0
    if positive:
        return x * y
    return x + y


def multiple_returns(x):
    if x > 0:
        return np.sin(x) * x
    elif x > -1.0:
        return x * x
    return np.exp(x)


def early_return(x):
    y = x * 3.0
    if y > 2.0:
        return y * y
    y = np.sin(y)
    return y * x


def early_return_in_loop(x, n):
    y = x
    for i in range(n):
        y = y * 1.5 + 0.1
        if y > 4.0:
            return y * x
    return y


def early_return_in_while(x):
    while True:
        x = x * 2.0
        if x > 3.0:
            return np.sin(x) + x


# --- loops ------------------------------------------------------------------------------------

def for_range_from_argument(x, n):
    y = x
    for i in range(n):
        y = y * x + 1.0
    return y


def for_range_start_stop_step(x, start, stop):
    y = x * 0.0
    for i in range(start, stop, 2):
        y = y + x ** i
    return np.sum(y)


def for_range_len_indexing(x):
    total = 0.0
    for i in range(len(x)):
        total = total + x[i] * x[i] * (i + 1)
    return total


def for_loop_index_as_float(x):
    y = x
    for i in range(4):
        y = y + np.sin(y) * i
    return y


def for_over_array_rows(a):
    acc = np.zeros(a.shape[1])
    for row in a:
        acc = acc + np.sin(row) * row
    return np.sum(acc * acc)


def for_over_list_argument(xs):
    total = 0.0
    for v in xs:
        total = total + np.sum(v * v) * SCALE
    return total


def for_over_tuple_of_constants(x):
    y = x
    for c in (1.0, 2.0, 0.5):
        y = y * c + np.sin(y)
    return y


def for_over_tuple_of_active(x, y):
    acc = 0.0
    for v in (x, y, x * y):
        acc = acc + v * v
    return acc


def for_over_constant_pairs(x):
    y = x
    for a, b in PAIRS:
        y = np.tanh(y * a) + b * y
    return y


def for_zip(a, b):
    acc = 0.0
    for u, v in zip(a, b):
        acc = acc + np.sum(u * np.sin(v))
    return acc


def for_enumerate(a):
    acc = np.zeros(a.shape[1])
    for i, row in enumerate(a):
        acc = acc + row * row * (i + 1.0)
    return acc


def for_reversed_rows(a, h):
    for row in reversed(a):
        h = np.tanh(h * row + row)
    return np.sum(h)


def for_reversed_range(x):
    y = x
    for i in reversed(range(4)):
        y = y * (i + 1.0) + np.cos(y)
    return y


def while_active_condition(x):
    while x < 10.0:
        x = x * 1.7 + 0.1
    return x * x


def while_counter(x, n):
    i = 0
    while i < n:
        x = np.sin(x) + x
        i = i + 1
    return x


def while_array_norm(x):
    while np.sum(x * x) > 1.0:
        x = x * 0.5
    return np.sum(np.sin(x))


def while_with_break(x):
    while x < 100.0:
        x = x * x + 0.5
        if x > 5.0:
            break
        x = x + 0.25
    return x


def loop_break_on_active(y):
    for i in range(10):
        y = np.sin(y) + y
        if y > 3.0:
            break
    return y * 2.0


def loop_continue_on_index(x):
    y = x
    for i in range(6):
        if i % 2 == 0:
            continue
        y = y * np.cos(y) + x
    return y


def loop_continue_on_active(a):
    acc = 0.0
    for row in a:
        if np.sum(row) < 0.0:
            continue
        acc = acc + np.sum(row * row)
    return acc


def nested_loops(x, w):
    y = x
    for i in range(2):
        for j in range(3):
            y = np.tanh(y * w[i, j] + x)
    return y


def nested_loops_triangular(x):
    total = 0.0
    for i in range(len(x)):
        for j in range(i):
            total = total + x[i] * x[j]
    return total


def for_else_without_break(x):
    y = x
    for i in range(3):
        y = y * 1.1
        if y > 100.0:
            break
    else:
        y = np.sin(y) * y
    return y


def for_else_with_break(x):
    y = x
    for i in range(5):
        y = y * 2.0
        if y > 3.0:
            break
    else:
        y = np.sin(y) * y
    return y * x


def repeated_sin(y):
    for _ in range(5):
        y = np.sin(y)
    return y


def loop_carried_pair(x):
    a = x
    b = x * 0.5
    for _ in range(4):
        a, b = b, a + np.sin(b)
    return a * b


def loop_product(x, n):
    p = 1.0
    for _ in range(n):
        p = p * x
    return p


def loop_accumulates_input_reads(x):
    acc = x * 0.0
    for i in range(3):
        acc = acc + np.exp(x * i) * acc + x
    return np.sum(acc)


def loop_zero_iterations(x, n):
    y = x * 2.0
    for i in range(n):
        y = np.sin(y)
    return y


# --- calls ------------------------------------------------------------------------------------

def call_positional(x):
    return fh.scaled_sin(x, 2.0) * x


def call_keyword(x, y):
    return fh.affine(x, scale=y, shift=1.0)


def call_keyword_out_of_order(x, y):
    return fh.affine(shift=x * x, v=y, scale=x)


def call_default_args(x):
    return fh.affine(x) * x


def call_module_globals(x):
    # fh.shifted adds flow_helpers.SHIFT (0.5), not this module's SHIFT
    return fh.shifted(x) * x + SHIFT


def call_star_args(x, y):
    args = (x, y)
    return fh.scaled_sin(*args)


def call_star_args_variadic(x, y):
    return fh.sum_of_products(x, y, x * y)


def call_star_args_passed_through(x, y):
    return fh.forward_args(x, y)


def call_kwargs_passed_through(x, y):
    return fh.forward_kwargs(x, scale=y, shift=x)


def call_returns_tuple(x):
    s, c = fh.sin_cos(x)
    return s * c + s


def call_tuple_indexed(x):
    pair = fh.sin_cos(x)
    return pair[0] * pair[1] * x


def call_recursive(x, n):
    return fh.power(x, n)


def local_power(x, n):
    return x if n == 0 else x * local_power(x, n - 1)


def call_local_recursion(x):
    return local_power(x, 3) + x


def call_branching_helper(x):
    return leaky(x) * x


def call_helper_with_returns(x):
    return fh.soft_clip(x, 1.0) * 2.0


def call_looping_helper(x):
    return fh.repeat_sin(x, 3) * x


def call_helper_chain(x):
    return fh.chained(x)


def call_helper_twice(x):
    return square(square(x) + x)


def call_function_argument(f, x):
    return f(x) * x


def call_through_apply(x):
    return fh.apply(np.tanh, x) + fh.apply(square, x)


def call_bound_method(x):
    s = Scaler(2.0)
    return s.apply(x) * x


def call_global_bound_method(x):
    return fh.SCALER.apply(x)


def call_callable_object(x):
    return fh.SCALER(x) * x


# --- closures and scopes ----------------------------------------------------------------------

def nested_def_over_constant(x):
    def inner(v):
        return v * 3.0 + np.sin(v)
    return inner(x) * x


def nested_def_over_active(x, y):
    def inner(v):
        return v * x
    return inner(y) + inner(x * y)


def nested_def_default_arg(x):
    def inner(v, c=2.0):
        return v * c
    return inner(x) + inner(x, c=0.5) * x


def nested_def_in_loop(x):
    def step(v):
        return np.sin(v) + v * 0.5
    for _ in range(3):
        x = step(x)
    return x


def lambda_over_constant(x):
    sq = lambda v: v * v * SCALE  # noqa: E731
    return sq(x) + sq(np.sin(x))


def lambda_over_active(x, w):
    scale = lambda v: v * w  # noqa: E731
    return np.sum(scale(x) * x)


def lambda_over_constant_passed_to_helper(x):
    return fh.apply(lambda v: v * SCALE + np.sin(v), x) * x


def lambda_passed_to_helper(x, y):
    return fh.apply(lambda v: v * y + np.sin(v), x)


def global_constants(x):
    return np.sum(x * WEIGHTS) * SCALE + SHIFT


def closure_from_factory(scale):
    def scaled(x):
        return np.sin(x) * scale + x * x
    return scaled


closure_over_constant = closure_from_factory(2.5)


# --- containers -------------------------------------------------------------------------------

def list_literal(x, y):
    items = [x, y, x * y]
    return items[0] * items[2] + items[1]


def tuple_literal(x, y):
    pair = (np.sin(x), y * 2.0)
    a, b = pair
    return a * b + pair[1]


def dict_literal(x, y):
    d = {"a": x, "b": np.sin(y)}
    return d["a"] * d["b"] + d["a"]


def list_append_then_stack(x):
    rows = []
    for i in range(3):
        rows.append(np.sin(x * (i + 1.0)))
    return np.sum(np.stack(rows) * 2.0)


def list_append_then_array(x):
    values = []
    for i in range(4):
        values.append(x[i] * x[i] + x[0])
    return np.array(values) * WEIGHTS[0]


def list_extend_in_loop(x):
    items = []
    for i in range(2):
        items.extend([x * i, np.cos(x)])
    return items[0] + items[1] * items[3] + items[2]


def list_index_with_loop_variable(x):
    ys = [x, x * 2.0, np.sin(x)]
    total = 0.0
    for i in range(3):
        total = total + ys[i] * ys[i]
    return total


def list_negative_index(x):
    ys = []
    for i in range(3):
        ys.append(x + i)
    return ys[-1] * ys[0]


def list_grows_from_last(x):
    ys = [x]
    for _ in range(3):
        ys.append(np.sin(ys[-1]) * 2.0)
    return ys[-1] + ys[1]


def list_comprehension_over_range(x):
    squares = [x[i] ** 2 for i in range(3)]
    return squares[0] + squares[1] * squares[2]


def list_comprehension_over_rows(a):
    norms = [np.sum(row * row) for row in a]
    return np.sum(np.array(norms) * np.array(norms))


def list_comprehension_with_condition(x):
    kept = [v * v for v in x if v > 0.0]
    return np.sum(np.array(kept))


def list_builtins(x):
    ys = [x, np.sin(x), x * x]
    total = sum(ys) * len(ys)
    for i, v in enumerate(reversed(ys)):
        total = total + v * i
    return total


def zip_two_lists(x, y):
    us = [x, x * x]
    vs = [y, np.cos(y)]
    acc = 0.0
    for u, v in zip(us, vs):
        acc = acc + u * v
    return acc


def list_argument_indexed(params, x):
    return np.sum(np.tanh(x @ params[0]) * params[1])


def dict_argument_in_loop(params, x):
    h = x
    for _ in range(2):
        h = np.tanh(h @ params["w"] + params["b"])
    return np.sum(h)


def nested_containers(x):
    tree = {"pair": (x, x * 2.0), "items": [np.sin(x)]}
    return tree["pair"][0] * tree["pair"][1] + tree["items"][0]


# --- in-place updates -------------------------------------------------------------------------

def setitem_on_local_array(x):
    y = np.zeros(3)
    y[0] = x * 2.0
    y[2] = np.sin(x)
    return np.sum(y * y)


def setitem_overwrites_active(x):
    y = x * 1.0
    y[1] = 0.0
    return np.sum(y * y)


def setitem_aug_add(x, u):
    y = x * 2.0
    y[1] += u * u
    return np.sum(np.sin(y))


def setitem_aug_mul(x):
    y = x + 0.0
    y[0] *= y[1]
    return np.sum(y * y)


def setitem_column(a, v):
    b = a * 1.0
    b[:, 1] = np.sin(v)
    return np.sum(b * b)


def setitem_row_slice(a):
    b = a + 0.0
    b[0, :] = b[1, :] * 2.0
    return np.sum(b * a)


def setitem_slice_of_itself(x):
    y = x * 1.0
    y[1:3] = np.sin(y[1:3]) * y[0]
    return np.sum(y)


def setitem_on_input(x):
    x[0] = x[0] * 3.0
    return np.sum(x * x)


def aug_setitem_on_input(x):
    x[1] += x[0] * x[2]
    return np.sum(np.sin(x))


def setitem_on_input_in_loop(x):
    for i in range(1, len(x)):
        x[i] = x[i - 1] * 0.5 + x[i]
    return np.sum(x * x)


def setitem_in_loop_recurrence(u, a):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    return out


def setitem_aug_in_loop(a):
    acc = np.zeros(a.shape[1])
    for i in range(a.shape[0]):
        acc[i % 2] += np.sum(a[i] * a[i])
    return np.sum(acc * acc)


def setitem_list_element(x):
    ys = [x, x * 2.0]
    ys[1] = np.sin(ys[1])
    return ys[0] * ys[1]


def setitem_dict_value(x, y):
    d = {"k": x}
    d["k"] = d["k"] * y
    d["j"] = np.sin(y)
    return d["k"] + d["j"]


def setitem_dict_in_loop(x):
    d = {"total": 0.0}
    for i in range(3):
        d["total"] = d["total"] + x * (i + 1.0)
    return d["total"] * x


def setitem_dict_argument(params, x):
    params["w"] = params["w"] * 2.0
    return np.sum(params["w"] * x)


# --- statements that do not change the value ------------------------------------------------

def with_print(x):
    print("computing", x)
    y = np.sin(x)
    print(y)
    return y * x


def with_assert(x):
    assert x.shape == (3,), "expected a vector"
    y = x * x
    assert np.all(y >= 0.0)
    return np.sum(y)


def with_docstring(x):
    """A docstring is not code to differentiate."""
    return np.tanh(x) * x


def with_integer_counter(x):
    count = 0
    y = x
    for _ in range(3):
        y = y * 1.5
        count += 1
    return y * count


def with_pass_and_unused(x):
    unused = np.cos(x) * 100.0
    if x > 0:
        pass
    return x * x


# --- combinations -----------------------------------------------------------------------------

def loop_calling_branching_helper(x):
    total = 0.0
    for v in x:
        total = total + leaky(v) * v
    return total


def while_inside_for_with_break(x):
    y = x
    for i in range(3):
        k = 0
        while y < 50.0:
            y = y * 1.5 + 0.1 * i
            k = k + 1
            if k >= 2:
                break
        y = np.sqrt(y)
    return y


def rnn_loop(wh, wx, h, xs):
    for x_t in xs:
        h = np.tanh(h @ wh + x_t @ wx)
    return np.sum(h * h)


def loop_list_then_stack(x, w):
    hs = []
    h = x
    for _ in range(3):
        h = np.tanh(h @ w)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def loop_helper_and_list(x):
    ys = []
    for i in range(3):
        ys.append(fh.scaled_sin(x, i + 1.0))
    return sum(ys) * x


def mlp_loss(w1, b1, w2, b2, x, y):
    return np.mean((np.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2)


def scalar_loop(y, n):
    for i in range(n):
        y = y * 0.99 + np.sin(y) * 0.1
    return y


# --- regressions found by tests/test_property.py ----------------------------------------------

def call_with_constant_args_then_loop(x):
    # the call's result starts inactive; the loop makes the same name active later
    y = fh.square(0.5)
    for _ in range(2):
        y = y * 0.5 + np.sin(x)
    return y


def call_with_constant_args_then_branch(x):
    y = fh.square(0.5)
    if x > 0.0:
        y = y * 0.5 + np.sin(x)
    return y
