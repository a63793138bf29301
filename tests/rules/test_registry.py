"""The tables cover the registry, and every rule follows its template format.

Generated from the registry: a rule of either mode that the built-in templates register
(``s2s.templates.*``) fails here until a table of its family has a row for it, so adding a rule
means adding a row next to its family (tests/rules/test_<family>.py).
"""
import builtins
import importlib.util
import math
import operator

import numpy as np
import pytest

from s2s.rules import NONDIFFERENTIABLE, REVERSE, TANGENT, templates_dir
from tests.rules import (test_builtins, test_complex, test_elementwise, test_fft, test_helpers,
                         test_linalg, test_math, test_methods, test_operators, test_reductions,
                         test_scipy_linalg, test_scipy_special, test_scipy_stats,
                         test_shape)
from tests.rules.harness import key, label, tangent_problems, template_problems

TABLES = (test_operators.ROWS, test_elementwise.ROWS, test_math.ROWS, test_builtins.ROWS,
          test_reductions.ROWS, test_linalg.ROWS, test_shape.ROWS, test_methods.ROWS,
          test_helpers.CASES, test_scipy_linalg.ROWS, test_scipy_special.ROWS,
          test_scipy_stats.ROWS, test_fft.ROWS,
          test_complex.ROWS)


def rows_in(mode):
    return {key(row[0]) for table in TABLES for row in table if mode in row.modes}


def built_in(table):
    return {k: rule for k, rule in table.items() if rule.__module__.startswith("s2s.templates.")}


@pytest.mark.parametrize("mode, table", [("reverse", REVERSE), ("forward", TANGENT)])
def test_every_registered_rule_has_a_row(mode, table):
    tested = rows_in(mode)
    missing = sorted(label(k) for k in built_in(table) if k not in tested)
    assert not missing, f"{mode} rules without a row in any table: {missing}"


def test_every_row_has_rules_of_its_modes():
    for table in TABLES:
        for row in table:
            for mode, registry in (("reverse", REVERSE), ("forward", TANGENT)):
                if mode in row.modes:
                    assert key(row[0]) in registry, f"no {mode} rule for {label(row[0])}"


def test_every_reverse_rule_has_a_tangent_rule():
    missing = sorted(label(k) for k in built_in(REVERSE) if k not in TANGENT)
    assert not missing, f"reverse rules without a tangent rule: {missing}"


@pytest.mark.parametrize("rule", sorted(set(built_in(REVERSE).values()),
                                        key=lambda f: (f.__module__, f.__name__)),
                         ids=lambda f: f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}")
def test_reverse_rule_follows_the_template_format(rule):
    assert template_problems(rule) == []


@pytest.mark.parametrize("rule", sorted(set(built_in(TANGENT).values()),
                                        key=lambda f: (f.__module__, f.__name__)),
                         ids=lambda f: f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}")
def test_tangent_rule_follows_the_template_format(rule):
    assert tangent_problems(rule) == []


def test_format_check_finds_problems():
    def bad(x, y):
        dresult = dx * dy       # noqa: F821
        if x:
            dresult = dx        # noqa: F821

    assert len(tangent_problems(bad)) == 2


def test_nondifferentiable_functions_have_no_rule():
    assert not [k for k in NONDIFFERENTIABLE if k in REVERSE]


@pytest.mark.parametrize("fn", [
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.floor, np.ceil, np.round,
    np.around, np.rint, np.trunc, np.fix, np.sign, np.equal, np.not_equal, np.less,
    np.less_equal, np.greater, np.greater_equal, np.logical_and, np.logical_or,
    np.logical_not, np.logical_xor, np.isnan, np.isinf, np.isfinite, np.zeros, np.ones,
    np.zeros_like, np.ones_like, np.empty, np.empty_like, np.eye, np.identity,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne, operator.not_,
    operator.truth, operator.floordiv, np.floor_divide, math.floor, math.ceil, math.trunc,
    math.isnan, builtins.len, builtins.int, builtins.round, builtins.bool,
], ids=label)
def test_declared_nondifferentiable(fn):
    assert key(fn) in NONDIFFERENTIABLE and key(fn) not in REVERSE


def test_templates_load_by_file_path_without_the_package():
    # the engine loads template files by path under another name: no relative imports
    root = templates_dir()
    scipy = importlib.util.find_spec("scipy") is not None     # its rules import it (optional)
    paths = [p for folder in (root, root / "reverse", root / "forward")
             for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")
             and (scipy or not p.stem.startswith("scipy_"))]
    saved = dict(TANGENT), dict(REVERSE), set(NONDIFFERENTIABLE)
    try:
        for n, path in enumerate(paths):
            spec = importlib.util.spec_from_file_location(f"_path_loaded_{n}_{path.stem}", path)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        for table, before in zip((TANGENT, REVERSE, NONDIFFERENTIABLE), saved):
            table.clear()
            table.update(before)
