"""The command line, run for real: ``python -m s2s convert`` and ``python -m s2s show``.

The converted modules are imported by a fresh interpreter in which s2s cannot be imported
(``-I -S`` with only NumPy's site folder on the path), and every gradient they compute is
compared with central finite differences of the original function (or a closed form, for
modules that cannot be imported here). Input modules live in ``tests/cli_inputs``:
``good/`` converts cleanly, ``bad/`` holds the error cases. ``good/side_effects.py`` prints,
writes marker files and raises at import: converting must never run it.
"""
from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import s2s as s2s_api
from cli_helpers import ROOT, importable, run_isolated, s2s
from finite_diff import assert_close, numerical_grad

INPUTS = Path(__file__).resolve().parent / "cli_inputs"


def copy_inputs(target: Path) -> Path:
    shutil.copytree(INPUTS / "good", target / "good")
    shutil.copytree(INPUTS / "bad", target / "bad")
    (target / "samples").mkdir()
    for sample in sorted((ROOT / "samples").glob("*.py")):
        shutil.copy(sample, target / "samples")
    return target


def _array(*shape, scale=1.0):
    return (np.random.default_rng(len(shape) * 7 + sum(shape)).uniform(0.5, 1.5, shape)
            * scale).tolist()


# (original module, function, positional arguments, grad position), checked against
# finite differences of the original function.
GRADIENT_CASES = [
    ("good/straight.py", "loss", [_array(3), _array(4, 3), _array(4)], (0, 2)),
    ("good/straight.py", "softplus", [_array(5)], 0),
    ("good/straight.py", "two_outputs", [_array(3), _array(3, scale=-1.0)], 0),
    ("good/loop.py", "power_series", [_array(2), 5], 0),
    ("good/loop.py", "halving", [_array(3)], 0),
    ("good/branch.py", "relu_square", [0.8], 0),
    ("good/branch.py", "relu_square", [-0.6], 0),
    ("good/branch.py", "piecewise", [_array(3)], 0),
    ("good/branch.py", "piecewise", [_array(3, scale=0.1)], 0),
    ("good/branch.py", "uses_math", [0.7], 0),
    ("good/local_import.py", "chained", [_array(4)], 0),
    ("good/cli_pkg/model.py", "energy", [_array(3), _array(3)], (0, 1)),
    ("good/cli_pkg/model.py", "scaled", [_array(3)], 0),
    # the sample modules (autodiff_tutorial.py reads a network object: it has its own test)
    ("samples/quickstart.py", "f", [2.0], 0),
    ("samples/model.py", "predict", [_array(3), _array(5, 3)], 0),
    ("samples/model.py", "loss", [_array(3), _array(5, 3), _array(5)], (0, 2)),
    ("samples/model.py", "mlp_loss", [{"w1": _array(3, 4), "b1": _array(4), "w2": _array(4)},
                                      _array(5, 3), _array(5)], 0),
]
VALUE_CASES = [case for case in GRADIENT_CASES if case[0].startswith("good/")]
POSITIONS = "loss:0,2;energy:0,1"
# good/ is searched recursively: good/cli_pkg/model.py is written to out/cli_pkg/
CONVERT = ["convert", "good/", "samples/quickstart.py", "samples/model.py",
           "samples/train_classifier.py", "-o", "out/", "--grad-position", POSITIONS]
WITH_VALUE = ["convert", "good/straight.py", "good/loop.py", "good/branch.py",
              "good/local_import.py", "good/cli_pkg/model.py", "-o", "out_value/",
              "--grad-position", POSITIONS, "--with-value"]


def output_of(original: str, folder: str = "out") -> str:
    """Where CONVERT (or, with ``folder``, WITH_VALUE) writes the module ``original``."""
    path = Path(original)
    under = path.parent.relative_to("good") if folder == "out" and original.startswith(
        "good/") else Path()
    return (Path(folder) / under / (path.stem + "_grad.py")).as_posix()


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """All good inputs converted once (grad_f, and value_and_grad_f with --with-value), and
    what the outputs compute in isolation: results[i] is grad_f's gradients for
    GRADIENT_CASES[i], results[n + i] value_and_grad_f's (value, gradients) for
    VALUE_CASES[i]."""
    work = copy_inputs(tmp_path_factory.mktemp("cli"))
    proc = s2s(*CONVERT, cwd=work)
    with_value = s2s(*WITH_VALUE, cwd=work)
    assert with_value.returncode == 0, with_value.stderr
    cases = [[output_of(m), "grad_" + f, args] for m, f, args, _ in GRADIENT_CASES]
    cases += [[output_of(m, "out_value"), "value_and_grad_" + f, args]
              for m, f, args, _ in VALUE_CASES]
    cases += [["out/side_effects_grad.py", "grad_cube_sum", [[0.5, -1.0, 2.0]]],
              ["out/quickstart_grad.py", "grad_f", [2.0]]]
    results = run_isolated(cases, work) if proc.returncode == 0 else None
    return work, proc, results


def test_convert_writes_every_module_and_never_runs_them(converted):
    work, proc, _ = converted
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(work / "out").as_posix()
                     for p in (work / "out").glob("**/*.py"))
    assert written == ["branch_grad.py", "cli_pkg/helpers_grad.py", "cli_pkg/model_grad.py",
                       "local_import_grad.py", "loop_grad.py", "model_grad.py",
                       "quickstart_grad.py", "sibling_grad.py", "side_effects_grad.py",
                       "straight_grad.py"]
    assert "WAS RUN" not in proc.stdout + proc.stderr
    assert not (work / "MARKER_cwd").exists()
    assert not (work / "good" / "MARKER_side_effects").exists()
    assert "skipped main (it takes no arguments)" in proc.stderr     # quickstart's main()
    assert "samples/train_classifier.py: note: skipped accuracy (its output does not depend " \
           "on net)" in proc.stderr
    for path in (work / "out").glob("**/*.py"):
        text = path.read_text()
        assert text.startswith("# Generated by s2s 0.1.0: s2s convert good/ samples/quickstart")
        compile(text, str(path), "exec")
        assert not re.search(r"^\s*(import|from) s2s\b", text, re.MULTILINE), path


@pytest.mark.parametrize("index", range(len(GRADIENT_CASES)),
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(GRADIENT_CASES)])
def test_converted_gradient_matches_finite_differences(converted, index):
    work, proc, results = converted
    assert proc.returncode == 0, proc.stderr
    module_path, function, args, position = GRADIENT_CASES[index]
    args = [_argument(a) for a in args]
    top = Path(module_path).parts[0]
    folder = work / top
    dotted = Path(module_path).relative_to(top).with_suffix("").as_posix().replace("/", ".")
    with importable(folder):
        original = getattr(importlib.import_module(dotted), function)
        expected_value = original(*args)
        expected = numerical_grad(original, args, position)
        library = s2s_api.grad(original, grad_position=position)(*args)
    grads = results[index]
    assert_close(as_tree(grads, expected), expected)
    # grad_f returns what s2s.grad returns: the same structure, the same numbers
    assert_close(as_tree(grads, library), library, rtol=1e-9, atol=1e-12)
    if GRADIENT_CASES[index] in VALUE_CASES:
        value, grads = results[len(GRADIENT_CASES) + VALUE_CASES.index(GRADIENT_CASES[index])]
        assert_close(as_tree(value, expected_value), expected_value, path="value")
        assert_close(as_tree(grads, expected), expected)


def _argument(value):
    if isinstance(value, dict):
        return {k: _argument(v) for k, v in value.items()}
    return np.array(value) if isinstance(value, list) else value


def as_tree(data, like):
    """JSON lists back into the structure of ``like``: tuples and dicts of arrays, or floats."""
    if isinstance(like, tuple):
        return tuple(as_tree(d, l) for d, l in zip(data, like))
    if isinstance(like, dict):
        return {k: as_tree(data[k], v) for k, v in like.items()}
    return np.asarray(data) if np.ndim(like) else float(data)


def test_converted_gradients_of_unimportable_modules_match_closed_forms(converted):
    work, proc, results = converted
    assert proc.returncode == 0, proc.stderr
    cube_grad, quick_grad = results[len(GRADIENT_CASES) + len(VALUE_CASES):]
    x = np.array([0.5, -1.0, 2.0])
    assert_close(np.array(cube_grad), 3 * x ** 2)           # d/dx sum(x^3)
    assert quick_grad == 16.0                                # 6x + 4 at 2


def test_rerun_is_byte_identical(converted):
    work, _, _ = converted
    before = {p: p.read_bytes() for p in (work / "out").glob("**/*.py")}
    proc = s2s(*CONVERT, cwd=work, hashseed="12345")
    assert proc.returncode == 0, proc.stderr
    after = {p: p.read_bytes() for p in (work / "out").glob("**/*.py")}
    assert after == before


def test_output_reads_like_a_module(converted):
    text = (converted[0] / "out" / "cli_pkg" / "model_grad.py").read_text()
    assert '"""Gradient of energy (good/cli_pkg/model.py, line 8).' in text
    assert "Returns (dx, dy), as s2s.grad(energy, grad_position=(0, 1)) does" in text
    assert "def vjp_smooth(v):" in text and "Forward sweep of smooth (good/cli_pkg/helpers.py" \
        in text
    assert "from numpy import cos" in text and "WEIGHT = 3.0" in text
    assert "\n\n\n# Run-time helpers, copied from s2s.\n" in text
    assert "\n\n\ndef unbroadcast(g, x):\n" in text
    assert "def square" not in text           # only called actively: its vjp is enough


@pytest.fixture
def work(tmp_path):
    return copy_inputs(tmp_path)


def test_unresolvable_name_is_reported_and_the_good_functions_are_written(work):
    proc = s2s("convert", "bad/broken.py", cwd=work)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == ("bad/broken.py:12:19: error: s2s cannot resolve 'MODEL' without "
                        "running broken.py")
    assert "    return np.sum(MODEL * x)" in lines
    assert "                  ^" in lines
    assert any("""hint: 'MODEL' is set at line 4 by `MODEL = np.load("model.npy")""" in l
               for l in lines)
    text = (work / "bad" / "broken_grad.py").read_text()
    assert "def grad_good(x):" in text and "def grad_also_good(x):" in text
    assert "uses_model" not in text
    [dx] = run_isolated([["bad/broken_grad.py", "grad_also_good", [[1.0, -2.0]]]], work)
    assert dx == [2.0, -4.0]


def test_sample_with_a_runtime_object_reports_it(work):
    proc = s2s("convert", "samples/autodiff_tutorial.py", "--with-value", cwd=work)
    assert proc.returncode == 1
    assert proc.stderr.startswith("samples/autodiff_tutorial.py:46:14: error: s2s cannot "
                                  "resolve 'net'")
    assert "net = MyLinearNet()" in proc.stderr
    [(value, dx)] = run_isolated([["samples/autodiff_tutorial_grad.py", "value_and_grad_f",
                                   [3.0]]], work)
    assert (value, dx) == (39.0, 22.0)


def test_project_code_on_pythonpath_is_read_not_run(tmp_path):
    (tmp_path / "lib" / "mylib").mkdir(parents=True)
    (tmp_path / "lib" / "mylib" / "__init__.py").write_text(
        'open("MARKER_mylib", "w").close()\n'
        "import numpy as np\n\n\n"
        "def act(v):\n    return 2.0 * np.tanh(v)\n")
    (tmp_path / "model.py").write_text(
        "import numpy as np\nfrom mylib import act\n\n\n"
        "def f(x):\n    return np.sum(act(x))\n")
    proc = s2s("convert", "model.py", cwd=tmp_path, path=str(tmp_path / "lib"))
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "MARKER_mylib").exists()
    x = [0.3, -1.2]
    [dx] = run_isolated([["model_grad.py", "grad_f", [x]]], tmp_path)
    assert_close(np.array(dx), 2.0 * (1.0 - np.tanh(x) ** 2))


def test_syntax_error_is_reported_with_its_position(tmp_path):
    (tmp_path / "broken_syntax.py").write_text("def f(x):\n    return x +\n")
    proc = s2s("convert", "broken_syntax.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("broken_syntax.py:2:")
    assert "is not valid Python" in proc.stderr
    assert not (tmp_path / "broken_syntax_grad.py").exists()


def test_failed_conversion_leaves_no_file(work):
    proc = s2s("convert", "bad/broken.py", "--function", "uses_model", cwd=work)
    assert proc.returncode == 1
    assert sorted(p.name for p in (work / "bad").iterdir()) == ["broken.py", "mismatch.py"]


@pytest.mark.parametrize("args, message", [
    ([], "the following arguments are required"),
    (["convert", "good/straight.py", "--grad-position", "x"], "--grad-position"),
    (["convert", "missing.py"], "no such file"),
    (["convert", "good/straight.py", "--function", "nope"], "--function names nope"),
    (["convert", "good/straight.py", "--example", "loss x"], "--example"),
    (["convert", "good/straight.py", "--mode", "sideways"], "invalid choice"),
    (["show", "good/straight.py"], "PATH::FUNCTION"),
], ids=["no-command", "positions", "missing-file", "function", "example", "mode", "show"])
def test_usage_errors_exit_2_and_write_nothing(work, args, message):
    proc = s2s(*args, cwd=work)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not list(work.glob("**/*_grad.py"))


def test_check_passes_on_a_correct_conversion(work):
    proc = s2s("convert", "good/straight.py", "--check", "--grad-position", "loss:0,1,2",
               "--example", "loss: w=(3,), x=(4, 3), y=(4,)", "--example",
               "two_outputs: a=(2,), b=(2,)", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("  ok    ") == 3


def test_check_catches_a_module_that_changes_itself_at_import(work):
    # Static reading sees SCALE = 2.0; the module sets it to 5.0 when it runs. The converted
    # gradient is faithful to the source as read, and --check must see the disagreement.
    proc = s2s("convert", "bad/mismatch.py", "--check", cwd=work)
    assert proc.returncode == 1
    assert "FAIL  grad_scaled: dx differs from central finite differences" in proc.stdout
    proc = s2s("convert", "bad/mismatch.py", "--check", "--with-value", cwd=work)
    assert proc.returncode == 1
    assert "FAIL  value_and_grad_scaled: the value differs from the original function's" \
        in proc.stdout
    assert (work / "bad" / "mismatch_grad.py").exists()


def test_check_reports_an_example_the_function_cannot_take(work):
    proc = s2s("convert", "good/straight.py", "--function", "loss", "--check",
               "--example", "loss: w=(3,), x=(4, 2), y=(4,)", cwd=work)
    assert proc.returncode == 1
    assert "FAIL  grad_loss: raised ValueError" in proc.stdout


def test_forward_mode_writes_checked_jvps(work):
    proc = s2s("convert", "good/branch.py", "--mode", "forward", "--check",
               "--example", "piecewise: x=(3,)", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("  ok    jvp_") == 3
    proc = s2s("convert", "good/side_effects.py", "--mode", "forward", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert not (work / "MARKER_cwd").exists()
    [(value, tangent)] = run_isolated(
        [["good/side_effects_jvp.py", "jvp_cube_sum", [[1.0, 2.0], [0.5, -1.0]]]], work)
    assert value == pytest.approx(9.0)
    assert tangent == pytest.approx(3 * 1.0 * 0.5 + 3 * 4.0 * -1.0)    # sum(3 x^2 dx)


def test_runtime_import_uses_s2s_helpers(work):
    # (without --example: code specialized for known shapes needs no helpers)
    proc = s2s("convert", "good/straight.py", "--runtime", "import", "--function", "softplus",
               "--check", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (work / "good" / "straight_grad.py").read_text()
    assert "from s2s.runtime.numpy_helpers import" in text and "def unbroadcast" not in text


def test_show_prints_the_derivative(work):
    proc = s2s("show", "good/straight.py::loss", "--grad-position", "0,1", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("def grad_loss(w, x, y):\n"
                                  '    """Gradient of loss (good/straight.py, line 8).')
    assert "return (dw, dx)" in proc.stdout
    assert "\x1b[" not in proc.stdout            # no colours when not writing to a terminal
    compile(proc.stdout, "shown", "exec")


@pytest.mark.quick
def test_version():
    import s2s as package
    proc = s2s("--version", cwd=ROOT)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"s2s {package.__version__}"


@pytest.mark.quick
@pytest.mark.parametrize("command", [[], ["convert"], ["show"]])
def test_help_pages(command):
    proc = s2s(*command, "--help", cwd=ROOT)
    assert proc.returncode == 0
    assert "usage: s2s" in proc.stdout
    if command:
        assert "examples:" in proc.stdout


COMMENTED = '''\
"""A loop, a branch and a call, for the comments that map adjoint code to source lines."""
import numpy as np


def square_plus(v):
    return v * v + 1.0


def model(w, x, n):
    h = x
    for _ in range(n):
        h = np.tanh(h * w
                    + 0.1)
    if np.sum(h) > 0.0:
        out = np.sum(square_plus(h))
    else:
        out = np.sum(np.sin(h))
    return out
'''
ADJOINT_COMMENT = re.compile(r"^( *)# adjoint of line (\d+): (.*)$", re.MULTILINE)


def test_adjoint_blocks_are_commented_with_their_source_lines(tmp_path):
    import py_compile
    (tmp_path / "commented.py").write_text(COMMENTED)
    proc = s2s("convert", "commented.py", "--function", "model", "--with-value", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    output = tmp_path / "commented_grad.py"
    text = output.read_text()
    py_compile.compile(str(output), cfile=str(tmp_path / "compiled.pyc"), doraise=True)

    found = [(len(indent), int(n), line) for indent, n, line in ADJOINT_COMMENT.findall(text)]
    assert found == [
        (4, 14, "if np.sum(h) > 0.0:"),
        (8, 15, "out = np.sum(square_plus(h))"),
        (8, 17, "out = np.sum(np.sin(h))"),
        (4, 11, "for _ in range(n):"),
        (8, 12, "h = np.tanh(h * w + 0.1)"),         # a statement over two lines, joined
        (8, 6, "return v * v + 1.0"),                # in pullback_square_plus
    ]
    lines = text.splitlines()
    # each comment sits right above the statement it explains, in the adjoint sweep only
    primal_if = lines.index("    if cond:")
    assert not any("# adjoint of" in line for line in lines[:primal_if])
    assert lines[lines.index("    # adjoint of line 14: if np.sum(h) > 0.0:") + 1] \
        == "    if cond:"
    loop = lines.index("    # adjoint of line 11: for _ in range(n):")
    assert lines[loop + 2].startswith("    for _ in reversed(")
    assert lines[lines.index("        # adjoint of line 12: h = np.tanh(h * w + 0.1)") + 1] \
        .startswith("        dh_add = ")

    shown = s2s("show", "commented.py::model", "--with-value", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert [m[1:] for m in ADJOINT_COMMENT.findall(shown.stdout)] \
        == [(str(n), line) for _, n, line in found]

    again = s2s("convert", "commented.py", "--function", "model", "--with-value", cwd=tmp_path,
                hashseed="999")
    assert again.returncode == 0, again.stderr
    assert output.read_text() == text

    rng = np.random.default_rng(3)
    w = rng.uniform(0.5, 1.5, 3)
    cases = [(w, rng.uniform(0.5, 1.5, 3), 3), (w, -rng.uniform(0.5, 1.5, 3), 2)]
    results = run_isolated([["commented_grad.py", "value_and_grad_model",
                             [a.tolist(), b.tolist(), n]]
                            for a, b, n in cases], tmp_path)
    with importable(tmp_path):
        original = importlib.import_module("commented").model
        # the first case takes the if branch (out = sum(h * h + 1) >= 3), the second the else
        assert [float(original(a, b, n)) >= 3.0 for a, b, n in cases] == [True, False]
        for (a, b, n), (value, dw) in zip(cases, results):
            assert_close(value, float(original(a, b, n)), path="value")
            assert_close(np.array(dw), numerical_grad(original, [a, b, n], 0))


DYNAMIC = '''import numpy as np


def apply(f, x):
    return f(x) * 2.0
'''


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_standalone_run_time_callee_points_at_the_users_call(tmp_path, mode):
    (tmp_path / "dyn.py").write_text(DYNAMIC)
    proc = s2s("convert", "dyn.py", "--mode", mode, "--grad-position", "1", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("dyn.py:5:12: error: 'apply' calls a function that is only "
                                  "known at run time"), proc.stderr
    assert "--runtime import" in proc.stderr
    proc = s2s("convert", "dyn.py", "--mode", mode, "--grad-position", "1",
               "--runtime", "import", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


# np.unwrap: a NumPy function without a rule (np.diff was one until it got its rules)
SPRING = '''import numpy as np


def stretch(x):
    return np.unwrap(x)


def spring_force(x, k):
    d = stretch(x)
    return k * np.sum(d ** 2)
'''


def test_numpy_function_without_a_rule_is_located_with_a_rule_template(tmp_path):
    # as the library API's MissingRuleError: the function, the user's line and column, and
    # the rule to register; --runtime import must not turn it into code that fails later
    (tmp_path / "spring.py").write_text(SPRING)
    for extra in ([], ["--runtime", "import"], ["--mode", "forward"]):
        proc = s2s("convert", "spring.py", "--function", "spring_force", *extra, cwd=tmp_path)
        assert proc.returncode == 1, extra
        lines = proc.stderr.splitlines()
        kind = "forward-mode" if extra == ["--mode", "forward"] else "differentiation"
        assert lines[0] == (f"spring.py:5:12: error: s2s has no {kind} rule for np.unwrap "
                            f"(numpy.unwrap)"), proc.stderr
        assert "    return np.unwrap(x)" in lines and "           ^" in lines
        template = ("@s2s.tangent(np.unwrap) above def unwrap_jvp(" if kind == "forward-mode"
                    else "@s2s.adjoint(np.unwrap) above def unwrap_rule(")
        assert any(template in line for line in lines if "hint:" in line), proc.stderr
        assert "  note: while converting spring_force (spring.py)" in lines
        assert "only known at run time" not in proc.stderr
        assert not (tmp_path / "spring_grad.py").exists()
        assert not (tmp_path / "spring_jvp.py").exists()


def test_folders_are_searched_recursively_and_mirrored(tmp_path):
    for path, text in {"pkg/top.py": "def f(x):\n    return x * x\n",
                       "pkg/sub/__init__.py": "",
                       "pkg/sub/deep.py": "import numpy as np\n\n\ndef g(x):\n"
                                          "    return np.sum(np.sin(x))\n",
                       "pkg/.hidden/skip.py": "def h(x):\n    return x\n",
                       "pkg/__pycache__/skip.py": "def h(x):\n    return x\n"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    # absolute paths under the working directory are recorded relative to it
    proc = s2s("convert", str(tmp_path / "pkg"), "-o", str(tmp_path / "build"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("build/**/*.py"))
    assert written == ["build/sub/deep_grad.py", "build/top_grad.py"]
    text = (tmp_path / "build" / "sub" / "deep_grad.py").read_text()
    assert text.startswith("# Generated by s2s 0.1.0: s2s convert pkg -o build\n")
    assert '"""Gradient of g (pkg/sub/deep.py, line 4).' in text
    assert str(tmp_path) not in text
    x = [0.5, -1.0]
    [dx] = run_isolated([["build/sub/deep_grad.py", "grad_g", [x]]], tmp_path)
    assert_close(np.array(dx), np.cos(x))

    # next to the inputs by default; modules s2s wrote are never converted again
    for _ in range(2):
        proc = s2s("convert", "pkg", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("pkg/**/*_grad*")) \
        == ["pkg/sub/deep_grad.py", "pkg/top_grad.py"]

    # one output file for a folder is a usage error, and writes nothing
    for inputs in (["pkg"], ["pkg/top.py", "pkg/sub/deep.py"]):
        proc = s2s("convert", *inputs, "-o", "single.py", cwd=tmp_path)
        assert proc.returncode == 2
        assert "-o single.py names one file" in proc.stderr
        assert "give a folder (-o single/)" in proc.stderr
        assert not (tmp_path / "single.py").exists()


# every sample module, and the test that checks the CLI's gradients of its functions
SAMPLE_CONVERSIONS = {
    "quickstart.py": "GRADIENT_CASES", "model.py": "GRADIENT_CASES",
    "train_classifier.py": "test_convert_writes_every_module_and_never_runs_them",
    "autodiff_tutorial.py": "test_sample_with_a_runtime_object_reports_it",
    "filter_design.py": "test_filter_design_converts_with_its_computed_constants",
    "distributed_regression.py": "test_distributed_regression_loss_converts",
}


def test_every_sample_module_is_converted_by_a_test():
    samples = sorted(p.name for p in (ROOT / "samples").glob("*.py"))
    assert [s for s in samples if s not in SAMPLE_CONVERSIONS] == []


def test_distributed_regression_loss_converts(work):
    # the sample's loss is plain NumPy: its written gradient runs without Dask (--function:
    # the rest of the sample drives a cluster)
    proc = s2s("convert", "samples/distributed_regression.py", "--function", "loss",
               "-o", "dr/", cwd=work)
    assert proc.returncode == 0, proc.stderr
    rng = np.random.default_rng(4)
    w, X = rng.normal(size=3), rng.normal(size=(5, 3))
    y = np.where(rng.normal(size=5) > 0.0, 1.0, -1.0)
    [dw] = run_isolated([["dr/distributed_regression_grad.py", "grad_loss",
                          [w.tolist(), 0.3, X.tolist(), y.tolist()]]], work)
    margins = y * (X @ w + 0.3)
    closed_form = X.T @ (-y / (1.0 + np.exp(margins))) / len(y)    # d mean(log(1 + e^-m))
    assert_close(np.array(dw), closed_form, rtol=1e-9, atol=1e-12)


def test_filter_design_converts_with_its_computed_constants(work):
    # its module constants come from np.fft.rfftfreq, comparisons and np.where: evaluated at
    # conversion time; fit() drives s2s itself and is left out with --function
    proc = s2s("convert", "samples/filter_design.py", "--function",
               "response_error,magnitude_response", "-o", "fd/", cwd=work)
    assert proc.returncode == 0, proc.stderr
    text = (work / "fd" / "filter_design_grad.py").read_text()
    assert "weight = np.where((frequencies <= PASS_EDGE) | (frequencies >= STOP_EDGE)" in text
    taps = np.random.default_rng(3).normal(0.0, 0.2, 31)
    [dtaps] = run_isolated([["fd/filter_design_grad.py", "grad_response_error",
                             [taps.tolist()]]], work)
    with importable(work / "samples"):
        original = importlib.import_module("filter_design").response_error
    assert_close(np.array(dtaps), numerical_grad(original, [taps], 0))
    library = s2s_api.grad(original)(taps)
    assert_close(np.array(dtaps), library, rtol=1e-9, atol=1e-12)
