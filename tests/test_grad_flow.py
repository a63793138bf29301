"""Reverse mode through real programs: every row of CASES is checked against central
finite differences.

A row is ``(function, args, grad_position)``; the functions live in cases_flow.py (and the
helpers they call in flow_helpers.py) so that their source is readable. Inputs are picked
by hand where a branch, a loop exit or a break depends on a differentiated value, so that
every decision is far from its threshold and the finite-difference oracle stays valid.
Adding a case is one function and one row.
"""
import copy
from collections import Counter

import numpy as np
import pytest

import cases_flow as c
import flow_helpers as fh
import s2s
from finite_diff import assert_close, flatten, numerical_grad

rng = np.random.default_rng(20240607)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


A = normal(4, 3)
B = normal(4, 3)
V3 = normal(3)
W23 = normal(2, 3)
# Row sums far from zero on both sides, for the `continue` on an active condition.
SIGNED_ROWS = np.array([[0.9, 0.4, 0.3], [-1.2, 0.1, -0.5], [0.2, 0.8, 0.6], [-0.3, -0.9, 0.4]])
# Entries far from zero on both sides, for branches and filters on each element.
SIGNED = np.array([0.5, -0.7, 1.2, -0.3])

CASES = [
    # branches on inactive values: flags and integer modes
    (c.if_on_flag, (V3, True), 0),
    (c.if_on_flag, (V3, False), 0),
    (c.if_elif_else_on_mode, (V3, 0), 0),
    (c.if_elif_else_on_mode, (V3, 1), 0),
    (c.if_elif_else_on_mode, (V3, 2), 0),
    (c.conditional_expression_on_flag, (V3, True), 0),
    (c.conditional_expression_on_flag, (V3, False), 0),
    # branches on active values
    (c.if_on_active_scalar, (0.7,), 0),
    (c.if_on_active_scalar, (-0.8,), 0),
    (c.if_on_active_sum, (np.array([0.5, 1.0, -0.2]),), 0),
    (c.if_on_active_sum, (np.array([-0.5, -1.0, 0.2]),), 0),
    (c.if_elif_else_active, (1.6,), 0),
    (c.if_elif_else_active, (0.3,), 0),
    (c.if_elif_else_active, (-1.7,), 0),
    (c.if_without_else, (0.9,), 0),
    (c.if_without_else, (0.2,), 0),
    (c.if_nested, (0.6, 0.8), (0, 1)),
    (c.if_nested, (0.6, -0.8), (0, 1)),
    (c.if_nested, (-0.6, 0.8), (0, 1)),
    (c.if_on_intermediate, (1.2,), 0),
    (c.if_on_intermediate, (0.2,), 0),
    (c.if_on_array_elements, (np.array([1.0, -0.5, 0.3]),), 0),
    (c.if_on_array_elements, (np.array([-1.0, 0.5, 0.3]),), 0),
    (c.if_assigns_new_name_in_both, (0.8,), 0),
    (c.if_assigns_new_name_in_both, (-0.8,), 0),
    # conditional expressions, and/or/not, chained comparisons
    (c.conditional_expression, (0.9,), 0),
    (c.conditional_expression, (-0.9,), 0),
    (c.conditional_expression_nested, (1.5,), 0),
    (c.conditional_expression_nested, (0.2,), 0),
    (c.conditional_expression_nested, (-1.5,), 0),
    (c.and_condition, (0.5, 0.7), (0, 1)),
    (c.and_condition, (0.5, -0.7), (0, 1)),
    (c.or_condition, (1.5, 0.3), (0, 1)),
    (c.or_condition, (0.5, -1.5), (0, 1)),
    (c.or_condition, (0.5, 0.3), (0, 1)),
    (c.not_condition, (0.1,), 0),
    (c.not_condition, (1.3,), 0),
    (c.chained_comparison, (0.4,), 0),
    (c.chained_comparison, (1.6,), 0),
    (c.chained_comparison_two_values, (1.0, 1.5), (0, 1)),
    (c.chained_comparison_two_values, (1.0, 2.6), (0, 1)),
    (c.bool_value_then_branch, (0.5, 0.7), (0, 1)),
    (c.bool_value_then_branch, (-0.5, 0.7), (0, 1)),
    # several returns and early returns
    (c.multiple_returns, (0.8,), 0),
    (c.multiple_returns, (-0.4,), 0),
    (c.multiple_returns, (-1.8,), 0),
    (c.early_return, (1.0,), 0),
    (c.early_return, (0.2,), 0),
    (c.early_return_in_loop, (0.5, 5), 0),
    (c.early_return_in_loop, (0.2, 3), 0),
    (c.early_return_in_while, (0.3,), 0),
    # for over range(...), bounds from arguments
    (c.for_range_from_argument, (0.7, 3), 0),
    (c.for_range_from_argument, (V3, 4), 0),
    (c.for_range_start_stop_step, (V3, 1, 6), 0),
    (c.for_range_len_indexing, (normal(5),), 0),
    (c.for_loop_index_as_float, (0.4,), 0),
    (c.loop_zero_iterations, (0.4, 0), 0),
    (c.loop_zero_iterations, (0.4, 2), 0),
    (c.loop_product, (1.3, 4), 0),
    (c.scalar_loop, (0.5, 6), 0),
    # for over arrays (row by row), lists, tuples, zip, enumerate, reversed
    (c.for_over_array_rows, (A,), 0),
    (c.for_over_list_argument, ([V3, normal(2, 2), 0.5],), 0),
    (c.for_over_tuple_of_constants, (0.3,), 0),
    (c.for_over_tuple_of_active, (0.6, -1.1), (0, 1)),
    (c.for_over_constant_pairs, (V3,), 0),
    (c.for_zip, (A, B), (0, 1)),
    (c.for_enumerate, (A,), 0),
    (c.for_reversed_rows, (A, V3), (0, 1)),
    (c.for_reversed_range, (0.6,), 0),
    # while with an active condition, break, continue, for-else
    (c.while_active_condition, (0.8,), 0),
    (c.while_active_condition, (3.0,), 0),
    (c.while_active_condition, (12.0,), 0),
    (c.while_counter, (0.4, 3), 0),
    (c.while_array_norm, (np.array([1.2, -0.9, 1.5]),), 0),
    (c.while_with_break, (0.5,), 0),
    (c.while_with_break, (3.0,), 0),
    (c.loop_break_on_active, (0.5,), 0),
    (c.loop_break_on_active, (0.001,), 0),    # runs all ten steps
    (c.loop_continue_on_index, (0.7,), 0),
    (c.loop_continue_on_active, (SIGNED_ROWS,), 0),
    (c.for_else_without_break, (0.7,), 0),
    (c.for_else_with_break, (0.5,), 0),
    (c.for_else_with_break, (0.05,), 0),
    # nested loops and values carried from one iteration to the next
    (c.nested_loops, (0.3, W23), (0, 1)),
    (c.nested_loops_triangular, (normal(4),), 0),
    (c.repeated_sin, (1.1,), 0),
    (c.repeated_sin, (V3,), 0),
    (c.loop_carried_pair, (0.4,), 0),
    (c.loop_accumulates_input_reads, (0.3 * V3,), 0),
    # calls to helpers in another module: positional, keyword, default, *args, **kwargs
    (c.call_positional, (V3,), 0),
    (c.call_keyword, (V3, 0.7), (0, 1)),
    (c.call_keyword_out_of_order, (0.8, V3), (0, 1)),
    (c.call_default_args, (V3,), 0),
    (c.call_module_globals, (V3,), 0),
    (c.call_star_args, (V3, 1.3), (0, 1)),
    (c.call_star_args_variadic, (0.8, -0.6), (0, 1)),
    (c.call_star_args_passed_through, (V3, 1.3), (0, 1)),
    (c.call_kwargs_passed_through, (V3, 0.4), (0, 1)),
    # calls: tuples returned, recursion, helpers that branch, loop or call helpers
    (c.call_returns_tuple, (V3,), 0),
    (c.call_tuple_indexed, (0.6,), 0),
    (c.call_recursive, (V3, 3), 0),
    (c.call_recursive, (1.2, 0), 0),
    (c.call_local_recursion, (0.9,), 0),
    (c.call_branching_helper, (0.8,), 0),
    (c.call_branching_helper, (-0.8,), 0),
    (c.call_helper_with_returns, (1.7,), 0),
    (c.call_helper_with_returns, (-1.9,), 0),
    (c.call_helper_with_returns, (0.3,), 0),
    (c.call_looping_helper, (V3,), 0),
    (c.call_helper_chain, (0.6,), 0),
    (c.call_helper_chain, (-0.6,), 0),
    (c.call_helper_twice, (V3,), 0),
    # calls through function values, bound methods and callable objects
    (c.call_function_argument, (fh.square, 0.7), 1),
    (c.call_function_argument, (np.tanh, V3), 1),
    (c.call_function_argument, (fh.leaky, -0.7), 1),
    (c.call_function_argument, (fh.SCALER, V3), 1),
    (c.call_function_argument, (fh.SCALER.apply, V3), 1),
    (c.call_through_apply, (V3,), 0),
    (c.call_bound_method, (V3,), 0),
    (c.call_global_bound_method, (V3,), 0),
    (c.call_callable_object, (V3,), 0),
    # closures and scopes: nested def and lambda, over constants and over active values
    (c.nested_def_over_constant, (V3,), 0),
    (c.nested_def_over_active, (0.7, -1.2), (0, 1)),
    (c.nested_def_default_arg, (V3,), 0),
    (c.nested_def_in_loop, (0.5,), 0),
    (c.lambda_over_constant, (V3,), 0),
    (c.lambda_over_active, (V3, normal(3)), (0, 1)),
    (c.lambda_over_constant_passed_to_helper, (V3,), 0),
    (c.lambda_passed_to_helper, (V3, 0.9), (0, 1)),
    (c.global_constants, (V3,), 0),
    (c.closure_over_constant, (V3,), 0),
    # containers: literals, append/extend, indexing, np.stack/np.array of a list
    (c.list_literal, (0.6, -1.3), (0, 1)),
    (c.tuple_literal, (V3, 0.8), (0, 1)),
    (c.dict_literal, (0.6, -1.3), (0, 1)),
    (c.list_append_then_stack, (V3,), 0),
    (c.list_append_then_array, (normal(4),), 0),
    (c.list_extend_in_loop, (V3,), 0),
    (c.list_index_with_loop_variable, (0.7,), 0),
    (c.list_negative_index, (V3,), 0),
    (c.list_grows_from_last, (0.4,), 0),
    (c.nested_containers, (V3,), 0),
    # containers: comprehensions and the builtins that walk a list
    (c.list_comprehension_over_range, (normal(4),), 0),
    (c.list_comprehension_over_rows, (A,), 0),
    (c.list_comprehension_with_condition, (SIGNED,), 0),
    (c.list_builtins, (V3,), 0),
    (c.zip_two_lists, (0.8, -0.4), (0, 1)),
    # containers given as arguments
    (c.list_argument_indexed, ([normal(3, 2), normal(2)], normal(4, 3)), (0, 1)),
    (c.dict_argument_in_loop, ({"w": normal(3, 3), "b": normal(3)}, normal(2, 3)), (0, 1)),
    # in-place updates of local arrays, lists and dicts
    (c.setitem_on_local_array, (0.7,), 0),
    (c.setitem_overwrites_active, (V3,), 0),
    (c.setitem_aug_add, (V3, 0.6), (0, 1)),
    (c.setitem_aug_mul, (V3,), 0),
    (c.setitem_column, (A, normal(4)), (0, 1)),
    (c.setitem_row_slice, (A,), 0),
    (c.setitem_slice_of_itself, (normal(4),), 0),
    (c.setitem_aug_in_loop, (A,), 0),
    (c.setitem_list_element, (0.6,), 0),
    (c.setitem_dict_value, (0.6, -1.3), (0, 1)),
    (c.setitem_dict_in_loop, (0.6,), 0),
    # in-place updates of the inputs themselves
    (c.setitem_on_input, (V3,), 0),
    (c.aug_setitem_on_input, (normal(4),), 0),
    (c.setitem_on_input_in_loop, (normal(4),), 0),
    (c.setitem_dict_argument, ({"w": V3}, normal(3)), (0, 1)),
    (c.setitem_in_loop_recurrence, (normal(5), 0.8), (0, 1)),
    # statements that do not change the value: print, assert, docstrings, counters
    (c.with_print, (V3,), 0),
    (c.with_assert, (V3,), 0),
    (c.with_docstring, (V3,), 0),
    (c.with_integer_counter, (0.7,), 0),
    (c.with_pass_and_unused, (0.7,), 0),
    # combinations
    (c.loop_calling_branching_helper, (SIGNED,), 0),
    (c.while_inside_for_with_break, (0.5,), 0),
    (c.while_inside_for_with_break, (60.0,), 0),
    (c.rnn_loop, (0.5 * normal(3, 3), normal(2, 3), normal(3), normal(4, 2)), (0, 1, 2, 3)),
    (c.loop_list_then_stack, (V3, 0.6 * normal(3, 3)), (0, 1)),
    (c.loop_helper_and_list, (V3,), 0),
    (c.mlp_loss, (normal(3, 4), normal(4), normal(4, 2), normal(2), normal(5, 3),
                  normal(5, 2)), (0, 1, 2, 3)),
    # regressions found by test_property.py
    (c.call_with_constant_args_then_loop, (V3,), 0),
    (c.call_with_constant_args_then_branch, (0.4,), 0),
    (c.call_with_constant_args_then_branch, (-0.4,), 0),
]

#: In-place cases whose arguments s2s.grad must leave untouched.
IN_PLACE = [row for row in CASES if row[0].__name__.startswith(("setitem", "aug_setitem"))]


#: Functions of cases_flow.py that cases call or build, rather than rows of the table.
HELPERS_OF_CASES = {"local_power", "closure_from_factory"}


def _positions(position):
    return position if isinstance(position, tuple) else (position,)


def _ids(cases):
    """``function-position``, numbered where a function has several rows."""
    names = [f"{fn.__name__}-{pos}" for fn, _, pos in cases]
    counts, seen, ids = Counter(names), Counter(), []
    for case_id in names:
        seen[case_id] += 1
        ids.append(f"{case_id}-{seen[case_id]}" if counts[case_id] > 1 else case_id)
    return ids


@pytest.mark.parametrize("fn, args, position", CASES, ids=_ids(CASES))
def test_grad_matches_finite_differences(fn, args, position):
    expected = numerical_grad(fn, args, position)
    # deepcopy: a case may update its argument in place
    actual = s2s.grad(fn, grad_position=position)(*copy.deepcopy(args))
    assert_close(actual, expected)
    grads = actual if isinstance(position, tuple) else (actual,)
    for p, grad in zip(_positions(position), grads):
        for g, leaf in zip(flatten(grad)[0], flatten(args[p])[0]):
            assert np.shape(g) == np.shape(leaf)


@pytest.mark.parametrize("fn, args, position", IN_PLACE, ids=_ids(IN_PLACE))
def test_gradient_does_not_mutate_the_inputs(fn, args, position):
    args = copy.deepcopy(args)
    kept = copy.deepcopy(args)
    s2s.grad(fn, grad_position=position)(*args)
    s2s.value_and_grad(fn, grad_position=position)(*args)
    for arg, original in zip(args, kept):
        for leaf, before in zip(flatten(arg)[0], flatten(original)[0]):
            np.testing.assert_array_equal(leaf, before)


def test_table_is_large_and_covers_every_case_function():
    assert len(CASES) >= 130
    assert len(IN_PLACE) >= 15
    tested = {fn for fn, _, _ in CASES}
    untested = {name for name, obj in vars(c).items()
                if callable(obj) and getattr(obj, "__module__", None) == c.__name__
                and obj not in tested and name not in HELPERS_OF_CASES}
    assert untested == set()
