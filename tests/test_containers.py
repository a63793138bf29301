"""Dicts, lists and tuples inside a differentiated function, against finite differences.

Each row is a function of one pytree (or number) and a point; grad and jvp must both match
central differences in float64. ``d.items()``, ``d.values()``, ``d.get(k, x)`` and ``dict(...)``
of literal items are spelled with subscripts and literals by the normalizer; ``sorted``,
``list`` and ``tuple`` have rules.
"""
from __future__ import annotations

import operator

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, flatten, numerical_grad
from s2s.errors import S2SError

DICT = {"b": np.array([1.2, -0.4]), "a": np.array([0.3, 0.5, 0.9]), "c": np.array([0.1])}
SCALARS = {"x": 0.7, "y": -1.3, "z": 2.1}
LIST = [np.array([0.3, -0.8]), np.array([1.1, 0.4]), np.array([-0.2, 0.6])]


def items_enumerated_sorted_by_key(d):
    a = 0.0
    b = 0.0
    for i, (k, v) in enumerate(sorted(d.items(), key=operator.itemgetter(0))):
        a = a + np.sum(np.sin(v)) * (i + 1.0)
        b = b + np.sum(np.cos(v))
    for v in d.values():
        a = a + np.sum(np.sin(v))
    for k in sorted(d.keys()):
        a = a + np.sum(np.cos(d[k]))
    return a + b


def items_unpacked(d):
    total = 0.0
    for k, v in d.items():
        total = total + np.sum(v ** 2) * len(k)
    return total


def values_listed(d):
    vals = list(d.values())
    return np.sum(vals[0]) * np.sum(vals[1] ** 2)


def get_present_and_missing(d):
    return np.sum(d.get("a") * 2.0) + np.sum(d.get("z", d["b"]) ** 2)


def get_default_none_unused(d):
    found = d.get("q")
    return np.sum(d["c"] * 3.0) if found is None else np.sum(found)


def sorted_items_by_size_descending(d):
    total = 0.0
    for k, v in sorted(d.items(), key=lambda kv: kv[1].size, reverse=True):
        total = total * 0.5 + np.sum(np.tanh(v))
    return total


def comprehension_over_items(d):
    return np.sum(np.concatenate([v * 2.0 for k, v in d.items() if k != "c"]))


def sorted_values(d):
    ordered = sorted(d.values())
    return ordered[0] * 3.0 + ordered[1] * ordered[2]


def sorted_values_by_key_function(d):
    ordered = sorted([d["x"], d["y"] * 2.0, d["z"]], key=abs)
    return ordered[0] + ordered[2] ** 2


def tuple_of_list(xs):
    t = tuple(xs)
    return np.sum(t[0] * t[2]) + np.sum(t[1])


def list_of_tuple_of_arrays(xs):
    pair = (xs[0] * 2.0, xs[1])
    listed = list(pair)
    return np.sum(listed[0] ** 2) + np.sum(listed[1])


def pairs_unpacked_in_loop(xs):
    pairs = [(xs[0], xs[1]), (xs[1], xs[2])]
    total = 0.0
    for a, b in pairs:
        total = total + np.sum(a * b)
    return total


def nested_target_under_zip(xs):
    total = 0.0
    for (a, b), c in zip([(xs[0], xs[1])], [xs[2]]):
        total = total + np.sum(a * b * c)
    return total


def loop_target_read_after_a_later_loop(xs):
    # the second loop rebinds v: the gradient of the first loop still needs its own v
    total = 0.0
    for x in xs:
        v = x * 2.0
        total = total + np.sum(np.sin(v))
    for v in xs[:2]:
        total = total + np.sum(np.sin(v))
    return total


def range_target_rebound(x):
    i = 5
    y = x * i
    z = 0.0
    for i in range(3):
        z = z + np.sin(x * i)
    return y + z


def loop_target_used_after_loop(x):
    v = x * 3.0
    y = np.sin(v)
    for v in [x, x * 2.0]:
        y = y + v ** 2
    return y * v


def tuples_in_a_list_literal(xs):
    pairs = [(xs[0], xs[1]), (xs[1], xs[2])]
    p = pairs[1]
    return np.sum(p[0] * p[1])


def computed_tuples_in_a_list_looped(x):
    pairs = [(x, x * 2.0), (x * 3.0, x)]
    total = 0.0
    for p in pairs:
        total = total + p[0] * p[1]
    return total


def dict_of_lists_literal(x):
    d = {"a": [x, x * 2.0], "b": [np.sin(x)]}
    return d["a"][1] * d["b"][0]


def get_missing_among_other_keys(d):
    return np.sum(d.get("zz", d["a"] * 2.0) ** 2)


def dict_built_from_pairs_and_keywords(x):
    d = dict([("a", x), ("b", x * 3.0)], c=np.sin(x))
    return d["a"] * d["b"] + d["c"]


def dict_built_from_a_literal_with_a_key_twice(x):
    d = dict([("a", x), ("a", x * 3.0)])
    return d["a"] ** 2


def mean_of_a_tuple_literal(x):
    return np.mean((x, x + 2.0)) * np.std((x, x * 3.0))


def keys_gathered_by_a_loop_over_the_dict(d):
    pairs = []
    for k in d:
        pairs.append((k, d[k]))
    total = 0.0
    for k, v in pairs:
        total = total + np.sum(v ** 2) * len(k)
    return total


ROWS = [
    (keys_gathered_by_a_loop_over_the_dict, DICT),
    (get_missing_among_other_keys, DICT),
    (dict_built_from_pairs_and_keywords, 0.7),
    (dict_built_from_a_literal_with_a_key_twice, 0.7),
    (mean_of_a_tuple_literal, 0.7),
    (tuples_in_a_list_literal, LIST),
    (computed_tuples_in_a_list_looped, 0.7),
    (dict_of_lists_literal, 0.7),
    (items_enumerated_sorted_by_key, DICT),
    (items_unpacked, DICT),
    (values_listed, DICT),
    (get_present_and_missing, DICT),
    (get_default_none_unused, DICT),
    (sorted_items_by_size_descending, DICT),
    (comprehension_over_items, DICT),
    (sorted_values, SCALARS),
    (sorted_values_by_key_function, SCALARS),
    (tuple_of_list, LIST),
    (list_of_tuple_of_arrays, LIST),
    (pairs_unpacked_in_loop, LIST),
    (nested_target_under_zip, LIST),
    (loop_target_read_after_a_later_loop, LIST),
    (range_target_rebound, 0.7),
    (loop_target_used_after_loop, 0.7),
]


def _tangent_like(value, rng):
    leaves, rebuild = flatten(value)
    return rebuild([rng.normal(size=np.shape(leaf)) if np.ndim(leaf)
                    else float(rng.normal()) for leaf in leaves])


def _dot(a, b):
    left, _ = flatten(a)
    right, _ = flatten(b)
    return float(sum(np.sum(np.asarray(u) * np.asarray(v)) for u, v in zip(left, right)))


@pytest.mark.parametrize("f, point", ROWS, ids=[f.__name__ for f, _ in ROWS])
def test_reverse_mode_matches_finite_differences(f, point):
    assert_close(s2s.grad(f)(point), numerical_grad(f, (point,)))


@pytest.mark.parametrize("f, point", ROWS, ids=[f.__name__ for f, _ in ROWS])
def test_forward_mode_matches_finite_differences(f, point):
    tangent = _tangent_like(point, np.random.default_rng(7))
    value, derivative = s2s.jvp(f, (point,), (tangent,))
    assert_close(np.float64(value), np.float64(f(point)))
    expected = _dot(numerical_grad(f, (point,)), tangent)
    assert_close(np.float64(derivative), np.float64(expected))


def test_get_on_a_global_non_dict_keeps_its_own_method():
    class Table:
        def get(self, key, default=None):
            return 2.0 if key == "scale" else default

    table = Table()

    def f(x):
        return x * table.get("scale")
    assert_close(s2s.grad(f)(0.7), 2.0)
    assert_close(s2s.jvp(f, (0.7,), (1.0,))[1], 2.0)


def starred_item_in_a_list(x):
    items = [*[x, 2.0], x * 3.0]
    return items[0] * items[2]


def double_star_item_in_a_dict(x):
    first = {"a": x}
    both = {**first, "b": x * 2.0}
    return both["a"] * both["b"]


@pytest.mark.parametrize("f", [starred_item_in_a_list, double_star_item_in_a_dict])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_unpacked_items_of_literals_are_located_errors(f, mode):
    # the items a * or ** spreads would get no cotangent: refused, never a silent 0
    with pytest.raises(S2SError) as info:
        if mode == "grad":
            s2s.grad(f)(0.7)
        else:
            s2s.jvp(f, (0.7,), (1.0,))
    assert __file__.rstrip("c") in str(info.value)


class Quad:
    def __init__(self, A):
        self.A = A

    def energy(self, v):
        return 0.5 * v @ self.A @ v


def energy_of_an_object_built_inside(A, v):
    q = Quad(A)
    return q.energy(v)


def attribute_of_an_object_built_inside(A, v):
    q = Quad(A * 2.0)
    return np.sum(q.A * v)


@pytest.mark.parametrize("f", [energy_of_an_object_built_inside,
                               attribute_of_an_object_built_inside])
@pytest.mark.parametrize("mode, position", [("grad", 0), ("grad", (0, 1)), ("jvp", None)])
def test_objects_built_from_differentiated_values_are_located_errors(f, mode, position):
    # the gradient through the object's attributes would be lost (it was 0 with (0, 1))
    A = np.array([[2.0, 0.3], [0.1, 1.5]])
    v = np.array([0.4, -0.7])
    with pytest.raises(S2SError) as info:
        if mode == "grad":
            s2s.grad(f, grad_position=position)(A, v)
        else:
            s2s.jvp(f, (A, v), (np.ones_like(A), np.ones_like(v)))
    message = str(info.value)
    assert __file__.rstrip("c") in message and "hint:" in message, message


def test_an_object_built_outside_is_differentiated_through_its_method():
    A = np.array([[2.0, 0.3], [0.1, 1.5]])
    v = np.array([0.4, -0.7])
    q = Quad(A)
    assert_close(s2s.grad(q.energy)(v), numerical_grad(q.energy, (v,)))
