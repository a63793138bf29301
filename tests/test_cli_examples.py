"""``s2s convert --check`` examples, pytree arguments and computed module constants, run as a
user would: ``python -m s2s convert``, then the written module in an interpreter without s2s.

One module (``MODEL``) holds a function for each way an example is found: a call in the
``__main__`` block, shape comments beside the parameters, ``--example`` with integer arrays
and scalars, floats tried when nothing else is known, and none at all ("not checked (no
example)", which is not a failure). ``mlp_loss`` takes a dict of weights; ``SCALE`` and ``W0``
are computed by NumPy at conversion time.
"""
from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest

import s2s as s2s_api
from cli_helpers import importable, run_isolated, s2s
from finite_diff import assert_close, numerical_grad

MODEL = '''"""A small model."""
import math

import numpy as np

SCALE = np.sqrt(2.0)
W0 = np.linspace(0.5, 1.5, 3) * math.pi
HALF = SCALE / 2


def loss(w, x, y):
    pred = np.tanh(x @ w)
    return np.mean((pred - y) ** 2)


def predict(w,              # (3,)
            x: np.ndarray,  # shape (5, 3)
            t: float):
    return np.sum(np.tanh(x @ w) * t)


def classify(x, labels, t):
    return -np.sum(x[np.arange(3), labels]) * t


def scaled(x):
    return SCALE * np.sum(x * W0) + HALF * np.sum(x)


def cube(x):
    return x ** 3


def unknown_shapes(a, b):
    return np.sum(a @ b)


def mlp_loss(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    pred = h @ params["w2"]
    return np.mean((pred - y) ** 2)


def layers(ws, x):
    for w in ws:
        x = np.tanh(x @ w)
    return np.sum(x)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    y = np.zeros(5)
    print(loss(np.ones(3), x, y))
    params = {"w1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "w2": rng.standard_normal(4)}
    print(mlp_loss(params, x, y))


def pair(ab, x):
    a, b = ab
    return np.sum(a * x + b)
'''
EXAMPLES = ["--example", "classify: x=(3, 4), labels=int[0, 2, 1], t=0.5",
            "--example", "layers: ws=[(3, 4), (4, 2)], x=(5, 3)"]


def _arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, s) for s in shapes]


# (function, arguments, grad position): each gradient the written module computes in an
# interpreter without s2s, against central differences of the original and against s2s.grad
CASES = [
    ("loss", _arrays(1, 3, (5, 3), 5), 0),
    ("predict", _arrays(2, 3, (5, 3)) + [0.7], 0),
    ("classify", _arrays(3, (3, 4)) + [np.array([0, 2, 1]), 0.5], 0),
    ("scaled", _arrays(4, 3), 0),
    ("mlp_loss", [dict(zip(("w1", "b1", "w2"), _arrays(5, (3, 4), 4, 4)))]
     + _arrays(6, (5, 3), 5), 0),
    ("layers", [_arrays(7, (3, 4), (4, 2))] + _arrays(8, (5, 3)), 0),
    ("pair", _arrays(9, (2, 3), 3), 0),         # no example: converted for an array
]


def _json(value):
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value.tolist() if isinstance(value, np.ndarray) else value


def _tree(data, like):
    if isinstance(like, dict):
        return {k: _tree(data[k], v) for k, v in like.items()}
    if isinstance(like, (tuple, list)):
        return type(like)(_tree(d, l) for d, l in zip(data, like))
    return np.asarray(data) if np.ndim(like) else float(data)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    work = tmp_path_factory.mktemp("examples")
    (work / "model.py").write_text(MODEL)
    proc = s2s("convert", "model.py", "--check", *EXAMPLES, cwd=work)
    return work, proc


def test_check_infers_examples_and_skips_what_it_cannot_check(checked):
    work, proc = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {line.split(":")[0].split()[-1]: line for line in proc.stdout.splitlines()
             if line.startswith("  ")}
    assert lines["grad_loss"].startswith("  ok    grad_loss: dw max error")
    assert lines["grad_loss"].endswith("(example: from the call at line 54)")
    assert lines["grad_predict"].startswith("  ok    grad_predict: dw max error")
    assert "(example: from the comments and annotations at line 16)" in lines["grad_predict"]
    assert lines["grad_classify"].startswith("  ok    grad_classify: dx max error")
    assert "(example" not in lines["grad_classify"]
    assert lines["grad_scaled"].startswith("  ok    grad_scaled: dx max error")
    assert lines["grad_cube"].endswith("(example: x a float)")
    assert lines["grad_unknown_shapes"].startswith(
        "  skip  grad_unknown_shapes: not checked (no example): unknown_shapes(a, b) raised "
        "TypeError on the arguments tried (example: a, b floats); give them with --example "
        "\"unknown_shapes: a=VALUE, b=VALUE\"")
    assert lines["grad_mlp_loss"].startswith("  ok    grad_mlp_loss: dparams max error")
    assert lines["grad_mlp_loss"].endswith("(example: from the call at line 56)")
    assert lines["grad_layers"].startswith("  ok    grad_layers: dws max error")


def test_written_gradients_match_finite_differences_and_the_library(checked):
    work, proc = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = run_isolated([["model_grad.py", "grad_" + name, _json(args)]
                            for name, args, _ in CASES], work)
    with importable(work):
        model = importlib.import_module("model")
        for (name, args, position), got in zip(CASES, results):
            original = getattr(model, name)
            expected = numerical_grad(original, args, position)
            assert_close(_tree(got, expected), expected, path=name)
            library = s2s_api.grad(original, grad_position=position)(*args)
            assert_close(_tree(got, library), library, rtol=1e-9, atol=1e-12, path=name)


def test_module_constants_are_computed_at_conversion_time(checked):
    work, _ = checked
    text = (work / "model_grad.py").read_text()
    assert "SCALE = np.sqrt(2.0)\n" in text
    assert "W0 = np.linspace(0.5, 1.5, 3) * math.pi\n" in text
    assert "HALF = SCALE / 2\n" in text
    assert "import math\n" in text
    assert "def grad_mlp_loss(params, x, y):" in text     # a dict: indexed with strings
    assert "Returns dparams, as s2s.grad(mlp_loss) does" in text


@pytest.mark.parametrize("constant, why", [
    ("np.random.rand(3)", "'np.random' is not evaluated at conversion time"),
    ("np.ones(3, out=None)", "out=, *args and **kwargs are not evaluated"),
    ("np.load('c.npy')", "'np.load' is not evaluated at conversion time"),
    ("np.fft.fft(np.ones(4))", "'np.fft.fft' is not evaluated at conversion time"),
], ids=["random", "out", "load", "fft"])
def test_constants_that_are_not_pure_numpy_are_refused_where_used(tmp_path, constant, why):
    (tmp_path / "consts.py").write_text(f"import numpy as np\n\nC = {constant}\n\n\n"
                                        f"def f(x):\n    return np.sum(C * x)\n")
    proc = s2s("convert", "consts.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("consts.py:7:19: error: s2s cannot resolve 'C' without "
                                  "running consts.py"), proc.stderr
    assert f"its value is neither a literal nor a pure NumPy call on literals ({why})" \
        in proc.stderr


def test_pytree_arguments_in_forward_mode_are_refused_at_conversion(checked):
    work, _ = checked
    proc = s2s("convert", "model.py", "--mode", "forward", "--function", "mlp_loss",
               cwd=work)
    assert proc.returncode == 1
    assert proc.stderr.startswith("model.py:38:1: error: s2s convert --mode forward does not "
                                  "take pytree arguments (params of 'mlp_loss')"), proc.stderr
    assert not (work / "model_jvp.py").exists()


def test_an_explicit_example_that_fails_is_a_failure_and_bad_examples_are_usage_errors(
        checked):
    work, _ = checked
    proc = s2s("convert", "model.py", "--function", "mlp_loss", "--check", "--example",
               "mlp_loss: params={'w1': (3, 4), 'b1': (4,), 'w2': (4,)}, x=(5, 2), y=(5,)",
               "-o", "mlp_grad.py", cwd=work)
    assert proc.returncode == 1
    assert "FAIL  grad_mlp_loss: raised ValueError" in proc.stdout
    for bad in ("loss: w=np.ones(3)", "loss: (3,)"):
        proc = s2s("convert", "model.py", "--example", bad, cwd=work)
        assert proc.returncode == 2, bad
        assert f"--example '{bad}'" in proc.stderr


def test_example_shapes_give_code_specialized_for_them_that_checks_them(checked):
    work, proc = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (work / "model_grad.py").read_text()
    assert "    grad_classify(x, labels, t) -> dx\n        specialized for x (3, 4), " \
           "labels (3,), t a float\n" in text
    source = text[text.index("def grad_classify"):text.index("\n\n\n", text.index(
        "def grad_classify"))]
    assert "Specialized for x (3, 4), labels (3,), t a float (--example)" in " ".join(
        source.split())
    assert "if np.shape(x) != (3, 4) or np.shape(labels) != (3,):" in source
    # specialized: no run-time shape helpers (the unspecialized loss has them)
    assert "unbroadcast" not in source and "unbroadcast(" in text
    spec = importlib.util.spec_from_file_location("model_grad_shapes", work / "model_grad.py")
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    with pytest.raises(ValueError, match=r"grad_classify was written for x of shape \(3, 4\), "
                                         r"labels of shape \(3,\) \(s2s convert --example\), "
                                         r"not \(3, 5\), \(3,\)"):
        written.grad_classify(np.ones((3, 5)), np.array([0, 2, 1]), 0.5)


def test_a_parameter_used_as_a_sequence_without_an_example_refuses_containers(checked):
    work, proc = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spec = importlib.util.spec_from_file_location("model_grad_pair", work / "model_grad.py")
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    a, b, x = _arrays(10, 3, 3, 3)
    with pytest.raises(TypeError, match=r"grad_pair was written for ab as an array or a "
                                        r"number; for a list, tuple or dict of arrays, convert "
                                        r"again with an example showing its structure: "
                                        r"--example \"pair: ab=\[\(3,\), \(3,\)\]\""):
        written.grad_pair((a, b), x)
    # layers was given a list example: no such check
    assert "isinstance(ws" not in (work / "model_grad.py").read_text()
