"""An error raised inside generated code names the generated line and the user's line.

The note (``add_note`` on Python 3.11+, the message on 3.9 and 3.10) shows the generated
line in full, which the interpreter's own traceback printer leaves out for code without a
file on 3.11 and 3.12, and the line of the user's file that the statement comes from; in a
callee's generated code too.
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import traceback

import numpy as np
import pytest

import s2s
from cli_helpers import ROOT, importable

MODULE = '''import numpy as np


def scale(v, k):
    return v[k] * 2.0


def loss(w, x):
    pred = np.tanh(x @ w)
    return np.sum(pred ** 2)


def indexed(v, k):
    return np.sum(scale(v, k))


def apply(f, x):
    return np.sum(f(x) * 2.0)
'''


@pytest.fixture
def module(tmp_path):
    (tmp_path / "tb_model.py").write_text(MODULE)
    with importable(tmp_path):
        yield importlib.import_module("tb_model"), tmp_path / "tb_model.py"


def _shown(exc_info) -> str:
    return "".join(traceback.format_exception(exc_info.type, exc_info.value, exc_info.tb))


def test_the_note_names_the_generated_line_and_the_users(module):
    model, path = module
    with pytest.raises(ValueError, match="mismatch") as info:
        s2s.grad(model.loss)(np.ones(3), np.ones((4, 2)))
    shown = _shown(info)
    assert "s2s: raised in generated code, <s2s grad_loss of loss #" in shown
    assert "\n    pred = np.tanh(x @ w)\n" in shown
    assert f"  which comes from {path}, line 9: pred = np.tanh(x @ w)" in shown


def test_an_error_in_a_callees_generated_code_points_at_the_callee(module):
    model, path = module
    with pytest.raises(IndexError) as info:
        s2s.grad(model.indexed)(np.ones(3), 5)
    shown = _shown(info)
    assert "s2s: raised in generated code, <s2s vjp_scale of scale #" in shown
    assert f"  which comes from {path}, line 5: return v[k] * 2.0" in shown


def test_an_uncaught_error_shows_both_lines(tmp_path):
    (tmp_path / "tb_model.py").write_text(MODULE)
    script = ("import numpy as np, s2s, tb_model\n"
              "s2s.grad(tb_model.loss)(np.ones(3), np.ones((4, 2)))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path),
                          env={"PYTHONPATH": str(ROOT), "PATH": ""}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1
    assert "\n    pred = np.tanh(x @ w)\n" in proc.stderr
    assert "which comes from " in proc.stderr and "tb_model.py, line 9" in proc.stderr


def test_errors_outside_generated_code_get_no_note():
    with pytest.raises(TypeError) as info:
        s2s.grad(lambda x: x * 2.0)("text")
    assert "s2s: raised in generated code" not in _shown(info)


def test_an_s2s_error_raised_while_generated_code_runs_keeps_its_own_location(module):
    model, _ = module
    # the callee is known only at run time: generated code asks for its rule, and the
    # MissingRuleError already names the user's line
    with pytest.raises(s2s.MissingRuleError) as info:
        s2s.grad(model.apply, grad_position=1)(np.unwrap, np.ones(3))
    assert "s2s: raised in generated code" not in _shown(info)


W, X = np.ones(3), np.ones((4, 2))
EVERY_TRANSFORM = {
    "grad": lambda m: s2s.grad(m.loss)(W, X),
    "value_and_grad": lambda m: s2s.value_and_grad(m.loss)(W, X),
    "GradOperation": lambda m: s2s.GradOperation()(m.loss)(W, X),
    "jvp": lambda m: s2s.jvp(m.loss, (W, X), (W, X)),
    "vjp": lambda m: s2s.vjp(m.loss, W, X)[1](1.0),
    "jacfwd": lambda m: s2s.jacfwd(m.loss)(W, X),
    "jacrev": lambda m: s2s.jacrev(m.loss)(W, X),
    "hessian": lambda m: s2s.hessian(m.loss)(W, X),
    "hvp": lambda m: s2s.hvp(m.loss, (W, X), (W, X)),
}


@pytest.mark.parametrize("transform", sorted(EVERY_TRANSFORM))
def test_every_transform_names_the_users_line(module, transform):
    # hessian and hvp differentiate generated gradient code: the note follows it back to
    # the user's own file
    model, path = module
    with pytest.raises(ValueError, match="mismatch") as info:
        EVERY_TRANSFORM[transform](model)
    shown = _shown(info)
    assert "s2s: raised in generated code, <s2s " in shown
    assert f"  which comes from {path}, line 9: pred = np.tanh(x @ w)" in shown


def test_forward_mode_names_the_callees_line(module):
    model, path = module
    with pytest.raises(IndexError) as info:
        s2s.jvp(model.indexed, (np.ones(3), 5), (np.ones(3), 0))
    shown = _shown(info)
    assert "s2s: raised in generated code, <s2s jvp_scale of scale #" in shown
    assert f"  which comes from {path}, line 5: return v[k] * 2.0" in shown
