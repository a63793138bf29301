"""Every audited rule differentiated twice, in the four compositions of the two modes.

Generated from the audit tables (tests/rules/test_audit.py): each first-order row's program
``f`` is wrapped, through the public transforms, into its two first derivatives, written as
plain Python calling s2s (as a user would):

    along(x, a)  = <c, jvp(f, x, a)>        (forward mode)
    gradient(x)  = vjp(f, x)[1](c)          (reverse mode)

and each is differentiated again in both modes, giving ``a^T H b`` of ``g = <c, f>`` four ways
(forward over forward, reverse over forward, forward over reverse, reverse over reverse).
The oracle is independent of s2s: central differences of central differences of ``g`` in
float64, Richardson-extrapolated over the step. So the rules of the generated first-order
code (the helpers, the rules of the rules) are all reached, for every rule of the registry
that has an audit row: a new rule gets its second order tested here without a line more.

A row that cannot pass yet is listed in ``NOT_YET`` with why; the list only shrinks (its
entries are strict expected failures).
"""
import functools
import itertools
import linecache

import numpy as np
import pytest

import s2s
from tests.rules.audit import flatten, leaves, pairing, plain, random_like, shifted
from tests.rules.harness import label
from tests.rules.test_audit import ROWS as AUDIT_ROWS

ORDERS = ("jvp of jvp", "vjp of jvp", "jvp of vjp", "vjp of vjp")

#: Rows (by the rules they cover) whose second order is not right yet, with the reason; a
#: key ``(rules, order)`` names one order only.
NOT_YET = {
    # third order: the row itself calls s2s.jvp / s2s.vjp (or its code calls call_jvp), and
    # composition's rules are not differentiated again yet
    "s2s.api.transforms.jvp": "third order: rules of jvp_tangents / jvp_cotangents",
    "s2s.api.transforms.vjp": "third order: rules of vjp_tangents / vjp_cotangents",
    "s2s.compiler.pipeline.call_jvp": "third order: rules of jvp_tangents / jvp_cotangents",
    "s2s.compiler.pipeline.call_vjp": "third order: rules of vjp_tangents / vjp_cotangents",
    "s2s.runtime.np_helpers.product_of_others+s2s.runtime.np_helpers.normalize_axes":
        "third order (an order-2 audit row)",
    "s2s.runtime.broadcast_like": "third order (an order-2 audit row)",
    "s2s.runtime.shape_helpers.zeros_unless_absent": "third order (an order-2 audit row)",
    "s2s.runtime.shape_helpers.checked_pad_mode": "third order: the row calls s2s.jvp",
    "s2s.runtime.shape_helpers.join_tangents": "third order: the row calls s2s.jvp",
    "s2s.runtime.restructure": "third order: the row calls s2s.vjp",
    "s2s.runtime.sorted_tangent": "third order: the row calls s2s.jvp",
    "s2s.runtime.items_tangent": "third order: the row calls s2s.jvp",
    # reverse over the tangent code of builtins over several values
    ("builtins.max", "vjp of jvp"): "share_among_args' cotangent is a sequence",
    ("builtins.min", "vjp of jvp"): "share_among_args' cotangent is a sequence",
    ("math.hypot", "jvp of vjp"): ".tolist() in generated gradient code",
    ("math.hypot", "vjp of vjp"): ".tolist() in generated gradient code",
    ("scipy.linalg._decomp_cholesky.cho_factor+scipy.linalg._decomp_cholesky.cho_solve",
     "jvp of jvp"): "cho_solve_tangent calls np.tril if lower else np.triu",
    ("scipy.linalg._decomp_cholesky.cho_factor+scipy.linalg._decomp_cholesky.cho_solve",
     "vjp of jvp"): "cho_solve_tangent calls np.tril if lower else np.triu",
    "scipy.linalg._matfuncs.sqrtm": "scipy's sqrtm wrapper is differentiated from its source",
    # reverse over the rule of multivariate_normal: its helper, differentiated from its source,
    # stops at a broadcast of the points' cotangent (an error, not a wrong value)
    ("scipy.stats.multivariate_normal.logpdf+scipy.stats.multivariate_normal.pdf",
     "jvp of vjp"): "mvn_logpdf_adjoint differentiated from its source",
    ("scipy.stats.multivariate_normal.logpdf+scipy.stats.multivariate_normal.pdf",
     "vjp of vjp"): "mvn_logpdf_adjoint differentiated from its source",
    # helpers differentiated from their source, which s2s cannot read
    ("np.average", "vjp of jvp"): "_average_weights raises",
    ("np.average", "vjp of vjp"): "_average_weights raises",
    ("np.hsplit", "vjp of vjp"): "a list cotangent of a helper differentiated from source",
}



def _complex(row) -> bool:
    """Does the row take or give complex values? (Every complex row, not only the first of
    each rule, is differentiated twice in tests/rules/test_complex_audit.py.)"""
    values = leaves(list(row.inputs.values()))
    with np.errstate(all="ignore"):
        values += leaves(plain(row.function()(*row.args())))
    return any(np.iscomplexobj(v) for v in values)


def _covering(rows):
    """The first row of each rule, in table order: the rows that reach a rule no earlier row
    reached. Rows at edge points are left out (a ``note`` says which convention makes the
    first derivative well defined there: the second derivative of a kink is no finite
    difference's), and so are the nondifferentiable rows and the complex ones."""
    reached, kept = set(), []
    for row in rows:
        if row.order == 1 and not row.zero and not row.note and not _complex(row) \
                and not set(row.covers) <= reached:
            kept.append(row)
            reached |= set(row.covers)
    return kept


ROWS = _covering(AUDIT_ROWS)

_numbers = itertools.count()


def _define(text: str, namespace: dict):
    filename = f"<second order {next(_numbers)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)
    return namespace


def _zeros(tree):
    values, rebuild = flatten(tree)
    return rebuild([np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0 for v in values])


def _paths(tree, prefix=""):
    """The index expressions of ``tree``'s leaves (``[1][0]`` ...)."""
    if isinstance(tree, (tuple, list)):
        return [p for i, item in enumerate(tree) for p in _paths(item, f"{prefix}[{i}]")]
    return [prefix]


class Derivatives:
    """One row's program, its cotangent ``c``, directions ``a`` and ``b``, and its first
    derivatives as plain Python calling s2s."""

    def __init__(self, row):
        self.row = row
        self.f = row.function()
        self.args = row.args()
        self.active = row.active()
        rng = np.random.default_rng(len(row.source) + 7)
        out = plain(self.f(*row.args()))
        self.c = random_like(out, rng)
        self.a = [random_like(x, rng) if i in self.active else None
                  for i, x in enumerate(self.args)]
        self.b = [random_like(x, rng) if i in self.active else None
                  for i, x in enumerate(self.args)]
        params = list(row.inputs)
        tangents = [f"t_{p}" for i, p in enumerate(params) if i in self.active]
        given = [f"t_{p}" if i in self.active else p for i, p in enumerate(params)]
        leaves_c = leaves(self.c)
        namespace = {"np": np, "s2s": s2s, "audited": self.f, "c": self.c,
                     **{f"c{k}": leaf for k, leaf in enumerate(leaves_c)}}
        paired = " + ".join(f"np.sum(c{k} * tangent{path})"
                            for k, path in enumerate(_paths(out)))
        if any(np.iscomplexobj(leaf) for leaf in leaves_c):
            paired = f"np.real({paired})"       # <c, f> of a complex f is Re sum(c * f)
        picked = ", ".join(f"grads[{i}]" for i in self.active)
        text = (f"def along({', '.join(params + tangents)}):\n"
                f"    out, tangent = s2s.jvp(audited, ({', '.join(params)},), "
                f"({', '.join(given)},))\n"
                f"    return {paired}\n\n"
                f"def gradient({', '.join(params)}):\n"
                f"    out, pullback = s2s.vjp(audited, {', '.join(params)})\n"
                f"    grads = pullback(c)\n"
                f"    return {picked}{',' if len(self.active) > 1 else ''}\n")
        _define(text, namespace)
        self.along, self.gradient = namespace["along"], namespace["gradient"]

    def on_active(self, values):
        return [values[i] for i in self.active]

    def second(self, order: str) -> float:
        """``a^T H b`` of ``<c, f>`` by the composition ``order``."""
        args, a, b = self.args, self.on_active(self.a), self.on_active(self.b)
        # a constant input (an axis, an index array) is passed as its own tangent
        tangents = [d if i in self.active else x for i, (x, d) in enumerate(zip(args, self.b))]
        if order == "jvp of jvp":
            zeros = [_zeros(t) for t in a]
            return float(s2s.jvp(self.along, tuple(args + a), tuple(tangents + zeros))[1])
        if order == "vjp of jvp":
            grads = s2s.vjp(self.along, *args, *a)[1](1.0)
            return pairing(self.on_active(grads), b)
        if order == "jvp of vjp":
            out = s2s.jvp(self.gradient, tuple(args), tuple(tangents))[1]
            return pairing(out if len(a) > 1 else (out,), a)
        grads = s2s.vjp(self.gradient, *args)[1](tuple(a) if len(a) > 1 else a[0])
        return pairing(self.on_active(grads), b)

    def oracle(self, step: float = 1e-3) -> float:
        """``a^T H b`` of ``<c, f>``: nested central differences, Richardson-extrapolated."""
        def g(point):
            return pairing(plain(self.f(*point)), self.c)

        def nested(h):
            total = 0.0
            for sa, sb, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                moved = shifted(shifted(self.args, self.a, sa * h), self.b, sb * h)
                total += sign * g(moved)
            return total / (4 * h * h)
        coarse, fine = nested(step), nested(step / 2)
        if abs(fine - coarse) > 1e-3 * max(1.0, abs(fine)):
            # a kink or a near-degenerate point within the step (the tables' inputs are
            # random): no finite difference gives this second derivative
            pytest.skip(f"nested differences disagree over the step: {coarse} and {fine}")
        return (4 * fine - coarse) / 3


def _name(row) -> str:
    """A covering row's name: the rules it was the first to reach."""
    return "+".join(label(k) for k in row.covers)


def _params():
    for row in ROWS:
        for order in ORDERS:
            reason = NOT_YET.get((_name(row), order), NOT_YET.get(_name(row)))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(row, order, marks=marks, id=f"{_name(row)}-{order}")


@functools.lru_cache(maxsize=None)
def _prepared(row):
    """A row's derivatives and oracle, made once for its four orders."""
    derivatives = Derivatives(row)
    with np.errstate(divide="ignore", invalid="ignore"):
        return derivatives, derivatives.oracle()


@pytest.mark.parametrize("row, order", list(_params()))
def test_second_order(row, order):
    derivatives, want = _prepared(row)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = derivatives.second(order)
    scale = max(1.0, sum(float(np.sum(np.abs(leaf))) for leaf in leaves(derivatives.c)))
    assert abs(got - want) <= max(row.rtol, 1e-5) * abs(want) + 1e-6 * scale, \
        f"{order}: s2s gives {got}, nested finite differences {want}"


def test_not_yet_names_rows():
    known = {_name(row) for row in ROWS}
    unknown = [k for k in NOT_YET if (k[0] if isinstance(k, tuple) else k) not in known]
    assert not unknown, f"NOT_YET names rows that are not tested: {unknown}"
