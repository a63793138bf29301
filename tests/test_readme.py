"""Every code block of the README runs, and prints what the README says it prints.

Python blocks run one after another in one fresh interpreter, each as a file of its own (so
``inspect.getsource`` finds its functions); a line ``print(...)  # VALUE`` must print VALUE,
and a Python block after a line ``prints`` must be what the block before it printed (the
file named in a generated docstring aside). The command-line block runs each ``s2s``
command in a copy of ``samples/``. Blocks that install s2s or run the test suite are what
CI and ``tests/test_packaging.py`` run; blocks without a language are output or diagrams.
"""
from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import ROOT, s2s

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
WHERE = re.compile(r"\((\S+), line \d+\)")


def readme_blocks():
    """(language, code, the last line of prose before it) for each fenced block."""
    text = (ROOT / "README.md").read_text()
    blocks = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((match.group(1), match.group(2), before))
    return blocks


BLOCKS = readme_blocks()
PYTHON = [(i, code) for i, (lang, code, before) in enumerate(BLOCKS)
          if lang == "python" and before != "prints"]
OUTPUTS = [(i, code) for i, (lang, code, before) in enumerate(BLOCKS)
           if lang == "python" and before == "prints"]
SHELL = [code for lang, code, _ in BLOCKS if lang == "sh"]

RUNNER = r"""
import contextlib, io, json, runpy, sys
printed = []
for path in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(path, run_name="__main__")
    printed.append(out.getvalue())
print(json.dumps(printed))
"""


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """What each Python block prints, by block index."""
    folder = tmp_path_factory.mktemp("readme")
    paths = []
    for i, code in PYTHON:
        path = folder / f"readme_block_{i}.py"
        path.write_text(code)
        paths.append(str(path))
    proc = subprocess.run([sys.executable, "-c", RUNNER, *paths], cwd=str(folder),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return dict(zip((i for i, _ in PYTHON), json.loads(proc.stdout)))


def test_the_readme_has_the_blocks_this_test_reads():
    assert len(PYTHON) >= 4 and len(OUTPUTS) == 2 and len(SHELL) == 3
    assert all(BLOCKS[i - 1][0] == "python" and (i - 1, BLOCKS[i - 1][1]) in PYTHON
               for i, _ in OUTPUTS)


@pytest.mark.parametrize("index", [i for i, _ in PYTHON])
def test_python_block_prints_what_its_comments_say(printed, index):
    code = dict(PYTHON)[index]
    lines = printed[index].splitlines()
    expected = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "print":
            comment = code.splitlines()[node.lineno - 1].partition("  # ")[2].strip()
            try:
                expected.append((node.lineno, repr(ast.literal_eval(comment))))
            except (ValueError, SyntaxError):
                pass                    # a comment in words, not a value
    for _, value in expected:
        assert value in [repr(ast.literal_eval(line)) for line in lines
                         if _is_literal(line)], (value, printed[index])


def _is_literal(line: str) -> bool:
    try:
        ast.literal_eval(line)
        return True
    except (ValueError, SyntaxError):
        return False


@pytest.mark.parametrize("index", [i for i, _ in OUTPUTS])
def test_output_block_is_what_the_block_before_prints(printed, index):
    shown = WHERE.sub("(FILE)", dict(OUTPUTS)[index])
    got = WHERE.sub("(FILE)", printed[index - 1])
    assert shown in got, got


def test_command_line_block_runs(tmp_path):
    (block,) = [code for code in SHELL if "s2s convert" in code]
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    commands = [shlex.split(line.split("  #")[0]) for line in block.splitlines()
                if line.startswith("s2s ")]
    assert len(commands) >= 5
    for command in commands:
        proc = s2s(*command[1:], cwd=tmp_path)
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        assert "FAIL" not in proc.stdout
    assert (tmp_path / "samples" / "model_grad.py").is_file()
    assert (tmp_path / "build" / "model_grad.py").is_file()


def test_blocks_not_run_here_are_install_and_test_commands():
    others = [code for code in SHELL if "s2s convert" not in code]
    assert all("pip install" in code for code in others), others
