"""``s2s rules`` lists the functions with rules, from the registry, and the README shows it.

The README's list (between its ``<!-- s2s rules -->`` markers) must be the command's
``--markdown`` output, so a rule added without updating it fails here.
"""
from pathlib import Path

import pytest

from s2s import rules
from s2s.convert import cli, supported
from s2s.runtime.shape_helpers import split_joined

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- s2s rules: begin -->\n", "<!-- s2s rules: end -->"


def _labels(groups):
    return {title: [label for label, _ in functions] for title, functions in groups}


def test_readme_lists_every_function_with_a_rule():
    pytest.importorskip("scipy.linalg")     # its rules are listed where SciPy is installed
    assert supported.optional_libraries() == []
    readme = (ROOT / "README.md").read_text()
    listed = readme[readme.index(BEGIN) + len(BEGIN):readme.index(END)]
    assert listed == supported.as_markdown(supported.listing()), (
        "README.md's list of supported functions is out of date: replace the lines between "
        "its '<!-- s2s rules -->' markers with the output of `python -m s2s rules --markdown`")


def test_families_name_functions_as_users_write_them():
    groups = _labels(supported.listing())
    assert "np.linalg.inv" in groups["Linear algebra"]
    assert "a @ b" in groups["Linear algebra"]
    assert "math.sin" in groups["Elementwise functions"]
    assert "x.sum()" in groups["Array methods"]
    assert "np.r_[...], np.c_[...]" in groups["Shapes, joins and copies"]
    assert "np.floor" in groups[supported.ZERO_TITLE]
    assert list(groups)[-1] == supported.ZERO_TITLE
    # the helpers that generated code calls have rules (for higher orders), but are not listed
    everything = [label for labels in groups.values() for label in labels]
    assert supported.spelling(split_joined) is None
    assert not [label for label in everything if "s2s" in label]


def test_every_function_with_a_rule_is_listed_once():
    listed = [label for _, functions in supported.listing()[:-1] for label, _ in functions]
    assert len(listed) == len(set(listed))
    keys = {k for k in set(rules.REVERSE) | set(rules.TANGENT)
            if (rules.REVERSE.get(k) or rules.TANGENT.get(k)).__module__.startswith("s2s.templates")
            and supported.spelling(k) is not None}
    assert len(listed) == len(keys)


def test_a_rule_of_one_mode_is_marked_with_its_reason():
    def sample_only_reverse(x):
        return x

    def rule(x):
        """a test's reason"""
        dx = dresult       # noqa: F821

    sample_only_reverse.__module__ = "numpy"
    rule.__module__ = "s2s.templates.reverse.numpy_shape"
    rules.REVERSE[sample_only_reverse] = rule
    try:
        groups = dict(supported.listing())
        text = supported.as_text(supported.listing(), [])
    finally:
        del rules.REVERSE[sample_only_reverse]
    notes = dict(groups["Shapes, joins and copies"])
    assert notes["numpy.sample_only_reverse"] == "reverse mode only: a test's reason"
    assert "numpy.sample_only_reverse  (reverse mode only: a test's reason)" in text
    assert notes["np.concatenate"] == ""


def test_a_users_rule_is_not_listed():
    def my_function(x):
        return 2.0 * x

    rules.adjoint(my_function)(lambda x: None)
    try:
        everything = [label for _, functions in supported.listing() for label, _ in functions]
    finally:
        del rules.REVERSE[my_function]
    assert not [label for label in everything if "my_function" in label]


def test_the_command_prints_the_families(capsys):
    assert cli.main(["rules"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Functions s2s differentiates")
    assert "Linear algebra (" in out and "np.linalg.svd" in out
    assert cli.main(["rules", "--markdown"]) == 0
    assert capsys.readouterr().out == supported.as_markdown(supported.listing())
