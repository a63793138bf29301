"""``s2s rules``: the functions s2s differentiates, read from the rule registry.

Each built-in rule module is a family (``templates/reverse/numpy_linalg.py`` is "Linear
algebra"); a function is listed under the family of its reverse rule (else of its tangent
rule), by the name a user writes (``np.linalg.inv``, ``math.sin``, ``x.sum()``, ``a @ b``).
A function with a rule in one mode only says which, and why: the first line of that rule's
docstring (a one-mode rule says there why the other mode has none). The functions whose
derivative is zero (``np.floor``, comparisons, ``np.argmax``) close the list: they take
differentiated values and give constants.

    $ s2s rules
    Functions s2s differentiates, each with a rule of both modes (reverse: grad, vjp;
    forward: jvp) unless marked:

    Operators (16)
      +a  -a  a % b  a * b  a ** b  a + b  a - b  a / b  np.add  np.divide ...

The README's list is this command's ``--markdown`` output (tests/test_supported.py checks
that it is current).
"""
from __future__ import annotations

import builtins
import importlib
import operator
import sys
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from s2s import rules

#: Family titles of the rule modules (the file's stem), in the order they are listed. A rule
#: module not named here is listed after them, under its stem.
FAMILIES = {
    "operators": "Operators",
    "elementwise": "Elementwise functions",
    "numpy_elementwise": "Elementwise functions",
    "math": "Elementwise functions",
    "complex": "Complex parts",
    "builtins": "Python built-ins",
    "numpy_reductions": "Reductions",
    "numpy_stats": "Statistics",
    "numpy_shape": "Shapes, joins and copies",
    "numpy_methods": "Array methods",
    "numpy_linalg": "Linear algebra",
    "numpy_fft": "FFT",
    "scipy_linalg": "scipy.linalg",
    "scipy_special": "scipy.special",
    "scipy_stats": "scipy.stats",
}
ZERO_TITLE = "Zero derivative (constants)"

#: Where a user's code finds a function, as the user spells the module.
_HOMES = (("np", "numpy"), ("np.linalg", "numpy.linalg"), ("np.fft", "numpy.fft"),
          ("math", "math"), ("scipy.linalg", "scipy.linalg"), ("scipy.special", "scipy.special"),
          ("scipy.stats", "scipy.stats"), ("operator", "operator"))

_OPERATORS = {
    operator.add: "a + b", operator.sub: "a - b", operator.mul: "a * b",
    operator.truediv: "a / b", operator.floordiv: "a // b", operator.mod: "a % b",
    operator.pow: "a ** b", operator.matmul: "a @ b", operator.neg: "-a", operator.pos: "+a",
    operator.abs: "abs(a)", operator.lt: "a < b", operator.le: "a <= b", operator.eq: "a == b",
    operator.ne: "a != b", operator.gt: "a > b", operator.ge: "a >= b",
    operator.not_: "not a", operator.invert: "~a", operator.getitem: "a[i]",
}


def optional_libraries() -> List[str]:
    """Import the optional libraries that have rule modules (SciPy) where they are installed,
    so that their rules are listed too; the names of those that are not installed."""
    rules.load_builtin_rules()
    missing = set()
    for library in sorted({library for _, _, library in rules._WAITING}):
        try:
            importlib.import_module(library)
        except ImportError:
            missing.add(library.split(".")[0])
    rules.load_builtin_rules()
    return sorted(missing)


def spelling(fn: Any) -> Optional[str]:
    """How user code names ``fn``: ``np.linalg.inv``, ``math.sin``, ``x.sum()``, ``a @ b``;
    None for the helpers that generated code calls (their rules serve higher orders)."""
    if isinstance(fn, tuple):           # a method of one object (rules.per_instance)
        owner, method = fn
        for label, path in _HOMES:
            home = sys.modules.get(path)
            found = home is not None and next(
                (n for n in dir(home) if getattr(home, n, None) is owner), None)
            if found:
                return f"{label}.{found}.{method.__name__}"
        return None
    if fn in _OPERATORS:
        return _OPERATORS[fn]
    if fn is type(np.r_).__getitem__:
        return "np.r_[...], np.c_[...]"
    owner = getattr(fn, "__objclass__", None)
    if owner is np.ndarray:
        return f"x.{fn.__name__}()"
    if owner is dict:
        return f"d.{fn.__name__}()"
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", None)
    if module.startswith("s2s") or name is None:
        return None
    if getattr(builtins, name, None) is fn:
        return name
    for label, path in _HOMES:
        home = sys.modules.get(path)
        if home is not None and getattr(home, name, None) is fn:
            return f"{label}.{name}"
    return f"{module}.{name}"


def _family(rule) -> str:
    stem = rule.__module__.rsplit(".", 1)[-1]
    return FAMILIES.get(stem, stem.replace("_", " "))


def listing() -> List[Tuple[str, List[Tuple[str, str]]]]:
    """``[(family title, [(function, note), ...]), ...]``: every user-facing function with a
    built-in rule, and last the functions of zero derivative. ``note`` is "" for a function
    with rules of both modes, else which mode it has and why."""
    rules.load_builtin_rules()
    found: Dict[str, Dict[str, str]] = {}
    for key in set(rules.REVERSE) | set(rules.TANGENT):
        reverse, forward = rules.REVERSE.get(key), rules.TANGENT.get(key)
        rule = reverse if reverse is not None else forward
        if not rule.__module__.startswith("s2s.templates"):
            continue            # a user's rule
        label = spelling(key)
        if label is None:
            continue
        note = ""
        if reverse is None or forward is None:
            mode = "reverse" if forward is None else "forward"
            why = (rule.__doc__ or "").strip().splitlines()
            note = f"{mode} mode only" + (f": {why[0]}" if why else "")
        found.setdefault(_family(rule), {})[label] = note
    zero = {}
    for key in rules.NONDIFFERENTIABLE:
        label = spelling(key)
        if label is not None:
            zero[label] = ""
    order = list(dict.fromkeys(FAMILIES.values()))
    titles = sorted(found, key=lambda t: (order.index(t) if t in order else len(order), t))
    groups = [(t, sorted(found[t].items(), key=_sort_key)) for t in titles]
    return groups + [(ZERO_TITLE, sorted(zero.items(), key=_sort_key))]


def _sort_key(item):
    label = item[0]
    return (label.count("."), label.lower())


def as_text(groups, missing: List[str]) -> str:
    """The listing for a terminal: one family per paragraph."""
    lines = ["Functions s2s differentiates, each with a rule of both modes (reverse: grad, vjp;",
             "forward: jvp) unless marked:"]
    for title, functions in groups:
        lines += ["", f"{title} ({len(functions)})"]
        plain = [f for f, note in functions if not note]
        lines += _wrapped(plain, "  ")
        lines += [f"  {f}  ({note})" for f, note in functions if note]
    if missing:
        lines += ["", f"Not listed: the rules for {', '.join(missing)}, which is not installed."]
    return "\n".join(lines) + "\n"


def as_markdown(groups) -> str:
    """The listing for the README: one bullet per family."""
    lines = []
    for title, functions in groups:
        names = ", ".join(f"`{f}`" + (f" ({note})" if note else "") for f, note in functions)
        lines.append(f"- **{title}**: {names}.")
    return "\n".join(lines) + "\n"


def _wrapped(words: List[str], indent: str, width: int = 88) -> List[str]:
    lines, line = [], indent
    for word in words:
        if len(line) + len(word) + 2 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += word + "  "
    if line.strip():
        lines.append(line.rstrip())
    return lines
