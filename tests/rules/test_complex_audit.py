"""Every complex row of the rule audit: jvp, vjp and grad agree with each other and with
central differences along the real and the imaginary direction of every input.

A row is complex when it takes or gives a complex value; the rows are those of the audit's
tables (tests/rules/test_audit.py), so a new complex row is checked here without a line more.
``tests/rules/audit.py`` (``check_complex_row``) says what is checked.
"""
import functools

import numpy as np
import pytest

from tests.rules.audit import check_complex_row, is_complex_row, leaves, row_id
from tests.rules.test_second_order import ORDERS, Derivatives
from tests.rules.test_audit import ROWS as AUDIT_ROWS

ROWS = [row for row in AUDIT_ROWS if row.order == 1 and is_complex_row(row)]


@pytest.mark.parametrize("row", ROWS, ids=[row_id(row) for row in ROWS])
def test_complex_row(row):
    with np.errstate(divide="ignore", invalid="ignore"):
        check_complex_row(row)


# --- second order: the four compositions of the modes (tests/rules/test_second_order.py) ----

#: Complex rows whose second order is not right yet, with why (strict expected failures).
SECOND_NOT_YET = {}

SECOND_ROWS = [row for row in ROWS if not row.zero and not row.note]


def _second_params():
    for row in SECOND_ROWS:
        for order in ORDERS:
            reason = SECOND_NOT_YET.get((row_id(row), order), SECOND_NOT_YET.get(row_id(row)))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(row, order, marks=marks, id=f"{row_id(row)}-{order}")


@functools.lru_cache(maxsize=None)
def _prepared(row):
    derivatives = Derivatives(row)
    with np.errstate(divide="ignore", invalid="ignore"):
        return derivatives, derivatives.oracle()


@pytest.mark.parametrize("row, order", list(_second_params()))
def test_complex_second_order(row, order):
    """``a^T H b`` of ``Re <c, f>`` along complex directions ``a`` and ``b``, four ways,
    against nested central differences."""
    derivatives, want = _prepared(row)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = derivatives.second(order)
    scale = max(1.0, sum(float(np.sum(np.abs(leaf))) for leaf in leaves(derivatives.c)))
    assert abs(got - want) <= max(row.rtol, 1e-5) * abs(want) + 1e-6 * scale, \
        f"{order}: s2s gives {got}, nested finite differences {want}"
