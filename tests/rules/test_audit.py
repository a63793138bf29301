"""The rule audit, generated from the registry (tests/rules/audit.py says what a row checks).

Every family module of tests/rules holds an ``AUDIT`` table beside its rule rows. Every rule
the built-in templates register, in either mode, and every function of the nondifferentiable
list, must be covered by an audit row of that mode: a rule without one fails here by name.
Adding a rule means adding an audit row next to its family.
"""
import importlib
import pkgutil

import numpy as np
import pytest

import s2s
from s2s import rules
from tests import rules as family_package
from tests.rules.audit import audit, check_audit_row, row_id
from tests.rules.harness import label

rules.load_builtin_rules()

#: s2s's nondifferentiable list (templates/reverse/nondifferentiable.py, s2s.nn), without the
#: functions a test declares, and without the ``*_error`` helpers: those raise the located
#: error of an unsupported argument (einsum's sublist form, np.pad's values) instead of
#: giving zeros, and are tested with their family's errors.
NONDIFFERENTIABLE = frozenset(
    k for k in rules.NONDIFFERENTIABLE
    if (getattr(k, "__module__", None) or "builtins").split(".")[0] in (
        "s2s", "numpy", "math", "builtins", "operator", "_operator")
    and not getattr(k, "__name__", "").endswith("_error"))

#: Rules still waiting for audit rows, by label (a comment says why). It only shrinks: an
#: entry whose rules have rows in both modes fails. Every rule has its rows now.
NOT_YET_AUDITED: frozenset = frozenset()


def family_modules():
    names = sorted(m.name for m in pkgutil.iter_modules(family_package.__path__)
                   if m.name.startswith("test_")
                   and m.name not in ("test_audit", "test_second_order", "test_complex_audit"))
    return [importlib.import_module(f"{family_package.__name__}.{name}") for name in names]


ROWS = [row for module in family_modules() for row in getattr(module, "AUDIT", ())]


def built_in(table):
    """The keys of s2s's own rules (templates/ and s2s.api's), not those a test registers."""
    return {k for k, rule in table.items() if rule.__module__.startswith("s2s.")}


def audited(mode):
    return {k for row in ROWS if mode in row.modes for k in row.covers}


def missing(mode, table):
    """The keys of ``table`` (the nondifferentiable list when None) without a row of ``mode``."""
    if table is None:
        keys = NONDIFFERENTIABLE - audited(mode)
    else:
        keys = built_in(table) - audited(mode)
    return keys


@pytest.mark.parametrize("row", ROWS, ids=[row_id(row) for row in ROWS])
def test_audit_row(row):
    check_audit_row(row)


TABLES = [("reverse", rules.REVERSE), ("forward", rules.TANGENT),
          ("reverse", None), ("forward", None)]


@pytest.mark.parametrize("mode, table", TABLES,
                         ids=["reverse", "forward", "nondifferentiable-reverse",
                              "nondifferentiable-forward"])
def test_every_registered_rule_has_audit_rows(mode, table):
    left = [k for k in missing(mode, table) if label(k) not in NOT_YET_AUDITED]
    assert not left, f"{mode} rules without an audit row: {sorted(map(label, left))}"


def test_the_not_yet_audited_list_only_shrinks():
    waiting = {label(k) for mode, table in TABLES for k in missing(mode, table)}
    done = sorted(NOT_YET_AUDITED - waiting)
    assert not done, f"{done} have audit rows in both modes now: remove from NOT_YET_AUDITED"


@pytest.mark.parametrize("table", ["REVERSE", "TANGENT"])
def test_the_audit_catches_a_wrong_rule(table, monkeypatch):
    registry = getattr(rules, table)
    monkeypatch.setitem(registry, np.sin, registry[np.cos])
    s2s.clear_cache()
    with pytest.raises(AssertionError, match="vjp|jvp"):
        check_audit_row(audit(np.sin, "np.sin(x)", x=np.array([0.3, -1.2])))
    s2s.clear_cache()


def test_a_row_must_reach_the_rules_it_names():
    with pytest.raises(AssertionError, match="never looked up"):
        check_audit_row(audit(np.cos, "np.sin(x)", x=np.array([0.3, -1.2])))
