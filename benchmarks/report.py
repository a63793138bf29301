"""The report: one table of times and ratios, then notes, fixed costs and memory.

Every number that has a target is printed with it and marked PASS or FAIL. A contender with
no time shows a short word in its cell (n/a, skipped, error, WRONG) and, for all but n/a, a
numbered note with the reason: for an error, the first line of the exception.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np

import s2s

TARGET_VS_HAND = 1.25           # s2s time / hand-written time
TARGET_TRANSFORM = 30e-3        # seconds from s2s.grad(f) to generated code, cache empty
TARGET_SECOND_GRAD = 5e-6       # seconds that a new grad(f) adds to a call, cache warm
TARGET_WRAPPER = 2e-6           # seconds the returned function adds over the generated code
TARGET_MEMORY = 1.5             # peak extra memory, s2s / hand-written
TARGET_LARGEST = 1.0            # seconds to transform the largest straight-line function
TARGET_GROWTH = 2.0             # time per statement, largest function / smallest
# s2s.grad(f, jit=True), by workload: (what is compared, the bound)
JIT_TARGETS = {
    "scalar_loop": [("jit/Numba forward", 3.0), ("jit/JAX jit", 0.5)],
    "euler": [("jit/Numba forward", 3.0)],
    "recurrence": [("s2s/jit", 20.0)],           # at least: a speed-up
    "mlp": [("s2s/jit", 1.0)],
    "logistic": [("s2s/jit", 1.0)],
    "elementwise": [("s2s/jit", 1.0)],
}


@dataclass
class Problem:
    """Why a contender has no time: shown as `short` in the table, `detail` in the notes."""
    short: str
    detail: str = ""


def fmt_time(seconds: float) -> str:
    """Three significant digits in s, ms, us or ns (ASCII, so any terminal can print it)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= scale:
            break
    else:
        unit, scale = "ns", 1e-9
    value = seconds / scale
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def fmt_bytes(n: int) -> str:
    for unit, scale in (("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


class Report:
    """Collects table cells; a Problem becomes a short cell plus a numbered note."""

    def __init__(self):
        self.notes: List[str] = []
        self.verdicts: List[bool] = []

    def problem(self, problem: Problem, who: str) -> str:
        if not problem.detail:
            return problem.short
        self.notes.append(f"{who}: {problem.detail}")
        return f"{problem.short} [{len(self.notes)}]"

    def judge(self, ok: bool) -> str:
        self.verdicts.append(ok)
        return "PASS" if ok else "FAIL"

    def judged(self, text: str, ok: bool) -> str:
        return f"{text} {self.judge(ok)}"

    def main_table(self, rows: list,
                   contenders: Sequence[str]) -> Tuple[List[str], List[List[str]]]:
        header = ["workload", *contenders, "s2s/forward",
                  f"s2s/hand (<={TARGET_VS_HAND})",
                  f"transform (<={TARGET_TRANSFORM * 1e3:.0f} ms)"]
        body = []
        for row in rows:
            name = row.workload.name
            cells = [name]
            for contender in contenders:
                value = row.times[contender]
                cells.append(self.problem(value, f"{contender} on {name}")
                             if isinstance(value, Problem) else fmt_time(value))
            s2s_time = row.times["s2s"]
            if isinstance(s2s_time, Problem):
                cells += ["-", "-", "-"]
            else:
                cells.append(f"{s2s_time / row.times['forward']:.2f}")
                ratio = s2s_time / row.times["hand"]
                cells.append(self.judged(f"{ratio:.2f}", ratio <= TARGET_VS_HAND))
                transform = row.transform
                cells.append(self.problem(transform, f"transform of {name}")
                             if isinstance(transform, Problem) else
                             self.judged(fmt_time(transform), transform <= TARGET_TRANSFORM))
            body.append(cells)
        return header, body

    def jit_table(self, rows: list) -> Tuple[List[str], List[List[str]]]:
        """s2s jit against Numba forward, s2s without jit and JAX jit, with its targets."""
        header = ["workload", "s2s jit", "Numba forward", "jit/Numba forward", "s2s/jit",
                  "jit/JAX jit", "first call of s2s jit"]
        body = []
        for row in rows:
            jit = row.times.get("s2s jit")
            if jit is None or isinstance(jit, Problem):
                continue
            ratios = {}
            for name, other, inverse in (("jit/Numba forward", "Numba forward", False),
                                         ("s2s/jit", "s2s", True),
                                         ("jit/JAX jit", "JAX jit", False)):
                value = row.times.get(other)
                if isinstance(value, float):
                    ratios[name] = value / jit if inverse else jit / value
            targets = dict(JIT_TARGETS.get(row.workload.name, []))
            cells = [row.workload.name, fmt_time(jit), self._time_cell(row, "Numba forward")]
            for name in header[3:6]:
                if name not in ratios:
                    cells.append("-")
                    continue
                text = f"{ratios[name]:.2f}"
                if name in targets:
                    bound = targets[name]
                    ok = ratios[name] >= bound if name == "s2s/jit" else ratios[name] <= bound
                    text = self.judged(f"{text} ({'>=' if name == 's2s/jit' else '<='} "
                                       f"{bound:g})", ok)
                cells.append(text)
            compile_time = row.compile
            cells.append(self.problem(compile_time, f"first call of s2s jit on "
                                                    f"{row.workload.name}")
                         if isinstance(compile_time, Problem) else
                         "-" if compile_time is None else fmt_time(compile_time))
            body.append(cells)
        return header, body

    def _time_cell(self, row: Any, contender: str) -> str:
        value = row.times.get(contender)
        return fmt_time(value) if isinstance(value, float) else "-"

    def overhead_lines(self, overheads: Any, tiny: Any) -> List[str]:
        if isinstance(overheads, Problem):
            return [f"s2s on {tiny.name}: {overheads.detail}"]
        o = overheads
        return [
            f"returned function over the generated code: {fmt_time(o.wrapper - o.generated)} "
            f"per call (<= {fmt_time(TARGET_WRAPPER)}) "
            f"{self.judge(o.wrapper - o.generated <= TARGET_WRAPPER)}; "
            f"generated code {fmt_time(o.generated)}, returned function {fmt_time(o.wrapper)}",
            f"second s2s.grad(f), cache warm: adds {fmt_time(o.second_grad)} to a call "
            f"(<= {fmt_time(TARGET_SECOND_GRAD)}) "
            f"{self.judge(o.second_grad <= TARGET_SECOND_GRAD)}; "
            f"s2s.grad(f) alone {fmt_time(o.construct)} (the transform is lazy)",
        ]

    def size_lines(self, sizes: dict) -> List[str]:
        """Transform time by function size: each size, then the targets on the largest."""
        lines = []
        for n, seconds in sizes.items():
            lines.append(f"{n} statements: " + (
                self.problem(seconds, f"transform of {n} statements")
                if isinstance(seconds, Problem) else
                f"{fmt_time(seconds)}, {fmt_time(seconds / n)} per statement"))
        measured = {n: t for n, t in sizes.items() if not isinstance(t, Problem)}
        if len(measured) < len(sizes) or len(sizes) < 2:
            return lines
        small, large = min(measured), max(measured)
        growth = (measured[large] / large) / (measured[small] / small)
        lines.append(f"{large} statements in {fmt_time(measured[large])} "
                     f"(<= {fmt_time(TARGET_LARGEST)}) "
                     f"{self.judge(measured[large] <= TARGET_LARGEST)}")
        lines.append(f"time per statement, {large} statements against {small}: {growth:.2f}x "
                     f"(<= {TARGET_GROWTH}x) {self.judge(growth <= TARGET_GROWTH)}")
        return lines

    def memory_lines(self, rows: list) -> List[str]:
        lines = []
        for row in rows:
            if row.memory is None:
                continue
            hand_bytes, s2s_bytes = row.memory
            if isinstance(s2s_bytes, Problem):
                lines.append(f"{row.workload.name}: hand-written {fmt_bytes(hand_bytes)}, "
                             f"s2s {s2s_bytes.short} (see the notes)")
                continue
            ratio = s2s_bytes / max(hand_bytes, 1)
            lines.append(f"{row.workload.name}: hand-written {fmt_bytes(hand_bytes)}, s2s "
                         f"{fmt_bytes(s2s_bytes)}: {ratio:.2f}x (<= {TARGET_MEMORY}x) "
                         f"{self.judge(ratio <= TARGET_MEMORY)}")
        return lines


def text_table(header: List[str], body: List[List[str]], markdown: bool) -> str:
    """Aligned plain-text columns, or a Markdown table (numbers right-aligned in both)."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return "  ".join([cells[0].ljust(widths[0])] +
                         [c.rjust(w) for c, w in zip(cells[1:], widths[1:])])
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] +
                     [line(cells) for cells in body])


def machine() -> str:
    """Platform, CPU model, core count and the versions of everything measured."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for text in info:
                if text.startswith("model name"):
                    cpu = text.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for name in ("autograd", "jax", "numba"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    checkout = str(Path(__file__).resolve().parent.parent)
    try:
        commit = subprocess.run(["git", "-C", checkout, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    s2s_version = f"s2s {getattr(s2s, '__version__', '?')}" + (f" (git {commit})" if commit
                                                                else "")
    return (f"{platform.platform()}, {cpu}, {os.cpu_count()} cores; "
            f"{', '.join(versions)}; {s2s_version}")


def print_report(rows: list, contenders: Sequence[str], overheads: Any, tiny: Any,
                 sizes: dict, markdown: bool, quick: bool) -> None:
    """Print the table and the lines under it (rows are ``run.Row``, tiny a ``run.Workload``,
    sizes maps statements to transform seconds)."""
    report = Report()
    header, body = report.main_table(rows, contenders)
    jit_header, jit_body = report.jit_table(rows)
    memory = report.memory_lines(rows)
    overhead = report.overhead_lines(overheads, tiny)
    by_size = report.size_lines(sizes)
    bullet = "- " if markdown else "  "
    run = "quick run (--quick: few samples, rough)" if quick else "full run"
    print(f"{'## ' if markdown else ''}s2s gradient benchmark, {run}")
    print()
    print(f"{bullet}Machine: {machine()}")
    print(f"{bullet}Date: {datetime.datetime.now().isoformat(sep=' ', timespec='minutes')}")
    if hasattr(os, "getloadavg"):
        # above the core count, other processes competed for the CPU during the run
        print(f"{bullet}Load average at the end (1, 5, 15 min): "
              f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{bullet}Command: {'`' if markdown else ''}"
          f"{shlex.join(['python'] + sys.argv)}{'`' if markdown else ''}")
    print()
    print("Median time per gradient call (forward: the function alone), from samples taken "
          "round-robin over the contenders in one process. transform: from s2s.grad(f) to "
          "its generated code (what the first call adds), with the cache emptied.")
    print()
    print(text_table(header, body, markdown))
    print()
    if jit_body:
        print("Compiled by Numba: s2s.grad(f, jit=True) against the workload itself under "
              "numba.njit (Numba forward), s2s without jit and JAX's jit. first call: what "
              "the first call adds (transform and Numba compile, Numba's disk cache empty).")
        print()
        print(text_table(jit_header, jit_body, markdown))
        print()
    if report.notes:
        print("Notes:")
        print()
        for i, note in enumerate(report.notes, 1):
            print(f"{bullet}[{i}] {note}")
        print()
    if overhead:
        print(f"Fixed costs, on {tiny.name} ({tiny.what}):")
        print()
        for text in overhead:
            print(bullet + text)
        print()
    if by_size:
        print("Transform time by function size, on straight-line functions of N statements "
              "y = np.sin(y) * 0.5 + y * c (processor time of the first call of s2s.grad(f), "
              "caches emptied):")
        print()
        for text in by_size:
            print(bullet + text)
        print()
    if memory:
        print("Peak memory allocated during one gradient call (tracemalloc), s2s against "
              "hand-written:")
        print()
        for text in memory:
            print(bullet + text)
        print()
    print("Workloads (benchmarks/workloads.py):")
    print()
    for row in rows:
        print(f"{bullet}{row.workload.name}: {row.workload.what}")
    print()
    passed = sum(report.verdicts)
    print(f"Targets: {passed} PASS, {len(report.verdicts) - passed} FAIL.")
