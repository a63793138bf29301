"""The samples run end to end in a fresh interpreter and print what they claim.

The tutorial's derivative is checked against the closed form f'(2) = 16, its gradients by
shape, and training by the printed losses falling; the classifier by its printed held-out
accuracy; the filter design by its losses falling and its fitted response, recomputed here
from the printed table, within the sample's stated tolerance of the ideal low-pass target.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run_sample(name, timeout):
    env = dict(os.environ)
    root = str(SAMPLES.parent)          # the checkout's s2s, even when it is not installed
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    completed = subprocess.run([sys.executable, str(SAMPLES / name)], capture_output=True,
                               text=True, timeout=timeout, env=env)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_autodiff_tutorial():
    out = run_sample("autodiff_tutorial.py", timeout=60)
    assert re.search(r"derivative at x = 2: 16\.0\b", out), out
    assert "shape of W's gradient: (4, 3)" in out
    assert "shape of b's gradient: (4,)" in out
    assert "shapes of the loss gradients: (4, 3) (4,)" in out
    losses = [float(v) for v in re.findall(r"^step +\d+ +loss ([0-9.eE+-]+)$", out, re.M)]
    assert len(losses) == 11, out
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.5 * losses[0], losses


def test_train_classifier_reaches_95_percent():
    pytest.importorskip("sklearn")
    out = run_sample("train_classifier.py", timeout=120)
    accuracies = [float(v) for v in re.findall(r"test accuracy ([0-9.]+)", out)]
    assert accuracies, out
    assert accuracies[-1] >= 0.95, out


def test_filter_design_fits_the_target_response():
    out = run_sample("filter_design.py", timeout=60)
    losses = [float(v) for v in re.findall(r"^step +\d+ +loss ([0-9.eE+-]+)$", out, re.M)]
    assert len(losses) == 11, out
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 1e-3 * losses[0], losses
    rows = re.findall(r"^  ([0-9.]+) +([01])\.0 +([0-9.]+)(  \(transition band\))?$", out, re.M)
    assert len(rows) == 17, out
    tolerance = float(re.search(r"\(tolerance ([0-9.]+)\)", out).group(1))
    assert tolerance <= 0.03
    for frequency, target, fitted, transition in rows:
        if not transition:
            assert abs(float(fitted) - float(target)) <= tolerance, (frequency, fitted)
    passband, stopband = map(float, re.search(
        r"largest passband error ([0-9.]+), largest stopband gain ([0-9.]+)", out).groups())
    assert passband <= tolerance and stopband <= tolerance, out
