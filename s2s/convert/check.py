"""``s2s convert --check``: each generated derivative against central finite differences.

The parent process (``run_check``) starts a fresh interpreter, which imports the written
module and the original module (this runs the user's code, which conversion never does) and
calls ``check_main``: every ``grad_f`` is compared with central differences of ``f`` in
float64, every ``jvp_f`` with the difference quotient along its tangents.

    check model_grad.py:
      ok    grad_loss: dw max error 3.1e-10
      FAIL  grad_predict: dx differs from central finite differences of the original ...
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from typing import Any, Dict, Sequence, Tuple

import numpy as np

import s2s
from s2s.convert.examples import make
from s2s.convert.writer import Converted


def run_check(output: str, original: str, converted: Sequence[Converted],
              examples: Dict[str, Tuple[Dict[str, Any], str]]) -> bool:
    """Check every generated function of the module ``output`` against the module
    ``original`` it was converted from, in a subprocess; True when none fails (a function
    that could not be checked is not a failure). ``examples``: for each user function, the
    specs of its example arguments (``s2s.convert.examples``) and where they came from
    (``"--example"``, ``"the call at line 30"``; empty: no evidence)."""
    spec = {"output": os.path.abspath(output), "original": os.path.abspath(original),
            "functions": [{"name": c.name, "function": c.function, "kind": c.kind,
                           "arguments": c.arguments, "wrt": c.wrt, "single": c.single,
                           "tangents": c.tangents,
                           "example": examples.get(c.function, ({}, ""))[0],
                           "origin": examples.get(c.function, ({}, ""))[1]}
                          for c in converted]}
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(s2s.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [
        env.get("PYTHONPATH")] if p])
    code = ("import sys; from s2s.convert.check import check_main; "
            "sys.exit(check_main(sys.argv[1]))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"check {output}:")
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    return proc.returncode == 0


class _Mismatch(Exception):
    pass


class _NotChecked(Exception):
    """No example, and the original function does not run on floats."""


def check_main(spec_json: str) -> int:
    """Runs in the ``--check`` subprocess: import the output and the original, compare."""
    spec = json.loads(spec_json)
    try:
        loader = importlib.util.spec_from_file_location("_s2s_checked_output", spec["output"])
        output = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(output)
        original = _import_original(spec["original"])
    except Exception as exc:
        print(f"  FAIL  cannot import: {type(exc).__name__}: {exc}")
        return 1
    failures = 0
    for item in spec["functions"]:
        try:
            detail = _check_function(getattr(output, item["name"]),
                                     getattr(original, item["function"]), item)
            print(f"  ok    {item['name']}: {detail}")
        except _NotChecked as exc:
            print(f"  skip  {item['name']}: not checked (no example): {exc}")
        except _Mismatch as exc:
            print(f"  FAIL  {item['name']}: {exc}")
            failures += 1
        except Exception as exc:
            print(f"  FAIL  {item['name']}: raised {type(exc).__name__}: {exc}")
            failures += 1
    return 1 if failures else 0


def _import_original(path: str):
    folder = os.path.dirname(path)
    parts = [os.path.splitext(os.path.basename(path))[0]]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    sys.path[:0] = [folder, os.path.dirname(path)]
    return importlib.import_module(".".join(parts))


def _check_function(generated, original, item) -> str:
    rng = np.random.default_rng(0)
    example, origin = item["example"], item["origin"]
    args, kwargs = [], {}
    skipped = False                 # a positional parameter left to its default
    floats = []                     # parameters without evidence: tried with floats
    for name, kind, has_default in item["arguments"]:
        if kind in ("vararg", "varkw"):
            continue
        if name in example:
            value = make(example[name], rng)
        elif has_default:
            skipped = True
            continue
        else:
            value = float(rng.uniform(0.5, 1.5))
            floats.append(name)
        if name in item["wrt"]:
            value = _as_float(value)
        if kind == "positional" and not skipped:
            args.append(value)
        else:
            kwargs[name] = value
    names = [n for n, kind, _ in item["arguments"] if kind == "positional"][:len(args)]

    def call(changes):
        a = [changes.get(n, v) for n, v in zip(names, args)]
        k = {n: changes.get(n, v) for n, v in kwargs.items()}
        return original(*a, **k)

    def current(n):
        return args[names.index(n)] if n in names else kwargs[n]

    def guessed() -> str:
        parts = ([f"from {origin}"] if origin and origin != "--example" else []) \
            + ([f"{', '.join(floats)} {'a float' if len(floats) == 1 else 'floats'}"]
               if floats else [])
        return f" (example: {'; '.join(parts)})" if parts else ""

    try:
        expected = call({})
    except Exception as exc:
        if origin == "--example" and not floats:
            raise
        params = ", ".join(n for n, kind, _ in item["arguments"] if kind != "varkw")
        raise _NotChecked(
            f"{item['function']}({params}) raised {type(exc).__name__} on the arguments "
            f"tried{guessed()}; give them with --example \"{item['function']}: "
            f"{', '.join(n + '=VALUE' for n in floats or item['wrt'])}\" (VALUE: a shape "
            f"such as (5, 3), a number, int[0, 2, 1], or a dict or tuple of these)") from None
    if item["kind"] == "jvp":
        tangents = {t: _like(current(p), rng) for p, t in zip(item["wrt"], item["tangents"])}
        value, tangent = generated(*args, **kwargs, **tangents)
        _compare("value", value, expected, 1e-9)
        h = 1e-6
        plus = call({p: current(p) + h * tangents[t] for p, t in zip(item["wrt"],
                                                                        item["tangents"])})
        minus = call({p: current(p) - h * tangents[t] for p, t in zip(item["wrt"],
                                                                         item["tangents"])})
        fd = [(a - b) / (2 * h) for a, b in zip(_leaves(plus), _leaves(minus))]
        return "tangent " + _compare("tangent", tangent, fd, 1e-5) + guessed()
    if item["kind"] == "value_and_grad":
        value, grads = generated(*args, **kwargs)
        _compare("value", value, expected, 1e-9)
    else:
        grads = generated(*args, **kwargs)
    grads = [grads] if item["single"] else list(grads)
    errors = []
    for p, grad in zip(item["wrt"], grads):
        fd = _finite_differences(lambda x: _total(call({p: x})), current(p))
        errors.append(f"d{p} " + _compare("d" + p, grad, fd, 1e-5))
    return ", ".join(errors) + guessed()


def _like(value, rng):
    if isinstance(value, np.ndarray):
        return rng.uniform(-1.0, 1.0, size=value.shape)
    if isinstance(value, dict):
        return {k: _like(v, rng) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_like(v, rng) for v in value)
    return float(rng.uniform(-1.0, 1.0))


def _as_float(value):
    """A differentiated argument as s2s.grad takes it: ints become floats, in pytrees too."""
    if isinstance(value, dict):
        return {k: _as_float(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_as_float(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu":
        return value.astype(np.float64)
    if isinstance(value, (bool, int)):
        return float(value)
    return value


def _leaves(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k])]
    return [np.asarray(value, dtype=float)]


def _total(value) -> float:
    """The scalar a gradient is taken of: every output summed (outputs seeded with ones)."""
    return float(sum(leaf.sum() for leaf in _leaves(value)))


def _finite_differences(fn, x):
    """Central differences of a scalar function at a float, a float array or a pytree of
    them ``x``."""
    if isinstance(x, dict):
        return {k: _finite_differences(lambda v, k=k: fn({**x, k: v}), x[k]) for k in x}
    if isinstance(x, (tuple, list)):
        return type(x)(_finite_differences(
            lambda v, i=i: fn(type(x)(v if j == i else e for j, e in enumerate(x))), item)
            for i, item in enumerate(x))
    if not isinstance(x, np.ndarray):
        h = 1e-6 * max(1.0, abs(x))
        return (fn(x + h) - fn(x - h)) / (2 * h)
    grad = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        h = 1e-6 * max(1.0, abs(x[index]))
        step = np.zeros(x.shape)
        step[index] = h
        grad[index] = (fn(x + step) - fn(x - step)) / (2 * h)
    return grad


def _compare(label: str, got, want, rtol: float) -> str:
    got_leaves, want_leaves = _leaves(got), _leaves(want)
    if len(got_leaves) != len(want_leaves):
        raise _Mismatch(f"{label} has {len(got_leaves)} parts, expected {len(want_leaves)}")
    worst = 0.0
    for g, w in zip(got_leaves, want_leaves):
        if g.shape != w.shape:
            raise _Mismatch(f"{label} has shape {g.shape}, expected {w.shape}")
        error = float(np.max(np.abs(g - w), initial=0.0))
        scale = float(np.max(np.abs(w), initial=0.0))
        if not error <= 10 * rtol * scale + rtol or not np.all(np.isfinite(g)):
            raise _Mismatch(f"{label} differs from central finite differences of the original "
                            f"function by up to {error:.3g} (largest magnitude {scale:.3g})"
                            if label != "value" else
                            f"the value differs from the original function's by {error:.3g}")
        worst = max(worst, error)
    return f"max error {worst:.1e}"
