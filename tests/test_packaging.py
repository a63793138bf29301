"""Packaging: the README and CI agree, and a built wheel works away from the checkout.

The wheel tests build s2s the way a user gets it (``pip wheel``), install it into a fresh
virtual environment, and run code from a directory outside the repository, so the source
checkout cannot be imported by accident.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The command lines inside the README's fenced code blocks."""
    commands, in_block = [], False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


@pytest.mark.quick
def test_ci_runs_the_readme_test_command():
    test_commands = [c for c in readme_commands() if "-m pytest" in c]
    assert len(test_commands) == 1, test_commands
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_commands[0] in ci_lines


@pytest.mark.quick
def test_readme_samples_exist():
    for command in readme_commands():
        for word in command.split():
            if word.startswith("samples/"):
                path = word.split("::")[0]      # s2s show samples/model.py::loss
                assert (ROOT / path).is_file(), word


def run(args: list, cwd: Path) -> str:
    """Run a command with no PYTHONPATH leaking in; fail with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run([str(a) for a in args], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv with the s2s wheel installed, and a work directory outside the repo."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: setuptools reuses build/ in the tree, which can put files
    # that were deleted since the last build into the wheel.
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
        ".hypothesis"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", "."],
        cwd=source)
    (wheel,) = (tmp / "dist").glob("s2s-*.whl")

    run([sys.executable, "-m", "venv", tmp / "venv"], cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", wheel], cwd=tmp)
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=tmp).strip()
    work = tmp / "work"
    work.mkdir()
    return {"python": python, "site": Path(purelib), "work": work}


def test_wheel_ships_templates(installed):
    reverse = installed["site"] / "s2s" / "templates" / "reverse"
    assert any(p.name != "__init__.py" for p in reverse.glob("*.py")), reverse
    assert (installed["site"] / "s2s" / "templates" / "forward" / "__init__.py").is_file()
    location = run([installed["python"], "-c", "import s2s; print(s2s.__file__)"],
                   cwd=installed["work"])
    assert Path(location.strip()).parent == installed["site"] / "s2s"


def test_installed_wheel_differentiates(installed):
    script = installed["work"] / "check_grad.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import s2s

        def f(x):
            return np.sin(x) * x

        print(repr(float(s2s.grad(f)(0.5))))
    """))
    got = float(run([installed["python"], script], cwd=installed["work"]).strip())
    assert math.isclose(got, math.cos(0.5) * 0.5 + math.sin(0.5), rel_tol=1e-12)


def test_installed_quickstart(installed):
    shutil.copy(ROOT / "samples" / "quickstart.py", installed["work"])
    out = run([installed["python"], "quickstart.py"], cwd=installed["work"])
    first_line, source = out.split("\n", 1)
    assert float(first_line.split("=")[-1]) == 16.0, out  # f'(x) = 6x + 4
    assert "def " in source, out


def test_readme_first_look_shows_what_s2s_writes():
    """The generated code the README prints for its first example is what s2s writes."""
    import ast
    import importlib.util
    import inspect

    import s2s
    text = (ROOT / "README.md").read_text()
    block = text.split("\nprints\n\n```python\n", 1)[1].split("```", 1)[0]
    spec = importlib.util.spec_from_file_location("quickstart",
                                                  ROOT / "samples" / "quickstart.py")
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    df = s2s.grad(quickstart.f)
    assert df(2.0) == 16.0
    written, shown = ast.parse(inspect.getsource(df)).body[0], ast.parse(block).body[0]
    # the docstring names the file where it was generated: compare the code after it
    assert ast.dump(ast.Module(body=written.body[1:], type_ignores=[])) == \
        ast.dump(ast.Module(body=shown.body[1:], type_ignores=[]))
