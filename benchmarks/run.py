"""Benchmark s2s gradients against hand-written NumPy gradients, autograd, JAX and Numba.

    python benchmarks/run.py                 # the full run: a minute or two on 2 cores
    python benchmarks/run.py --quick         # a smoke run, well under half a minute
    python benchmarks/run.py --only rnn      # one workload (repeat --only for more)
    python benchmarks/run.py --markdown      # Markdown with the machine, for the README

Every hand-written gradient is first checked against central finite differences (a wrong one
aborts the run), and every other gradient against the hand-written one, before anything is
timed. Times are medians of samples taken round-robin over the contenders in one process.
autograd and JAX are optional (``pip install -e ".[bench]"``); a missing one shows as n/a.
They run the same workload source with ``np`` (and ``math``) bound to their own NumPy.
Numba (``pip install -e ".[jit]"``) runs "s2s jit", ``s2s.grad(f, jit=True)``, and "Numba
forward", the workload itself under ``numba.njit``: what a compiled gradient is measured
against. Numba's files go to a fresh temporary folder, so the compile times are cold.
"s2s CuPy" is ``s2s.grad(f)`` on CuPy copies of the inputs, on a GPU (``pip install -e
".[gpu]"``); without CuPy or without a GPU it is n/a.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))          # benchmark the s2s of this checkout

import numpy as np                            # noqa: E402

import s2s                                    # noqa: E402

import checks                                 # noqa: E402
import handwritten                            # noqa: E402
import timing                                 # noqa: E402
import workloads                              # noqa: E402
from report import Problem, print_report      # noqa: E402

# Many short samples rather than a few long ones: on a busy machine the median then skips
# the samples that another process interrupted.
FULL = timing.Plan(sample_seconds=2e-4, min_samples=5, max_samples=501, budget_seconds=1.0)
QUICK = timing.Plan(sample_seconds=2e-4, min_samples=1, max_samples=31, budget_seconds=0.1)
# Fixed costs are differences of a few microseconds: they get many samples even in --quick.
FIXED_COSTS = timing.Plan(sample_seconds=2e-4, min_samples=501, max_samples=501,
                          budget_seconds=1.0)

CONTENDERS = ("forward", "hand", "s2s", "autograd", "JAX", "JAX jit", "Numba forward",
              "s2s jit", "s2s CuPy")
MEMORY_WORKLOADS = ("rnn", "euler")


@dataclass
class Workload:
    """A benchmarked function, its hand-written gradient and how to call both."""
    name: str
    what: str
    function: Callable
    hand: Callable
    positions: Union[int, Tuple[int, ...]]
    inputs: Callable[..., tuple]
    skip: Dict[str, str] = field(default_factory=dict)   # contender -> why it is not run


W = workloads
H = handwritten
WORKLOADS = [
    Workload("scalar_loop", "100 steps of y = 0.99 y + 0.1 math.sin(y) on a Python float",
             W.scalar_loop, H.grad_scalar_loop, 0, W.scalar_loop_inputs),
    Workload("mlp", "MSE of tanh(X W1 + b1) W2 + b2, batch 32, 64 -> 128 -> 10; d(W1, b1, W2, b2)",
             W.mlp_loss, H.grad_mlp_loss, (0, 1, 2, 3), W.mlp_inputs),
    Workload("elementwise", "sum(tanh(x) * x**2), 10^6 elements",
             W.elementwise, H.grad_elementwise, 0, W.elementwise_inputs),
    Workload("rnn", "50 steps of h = tanh(h Wh + x_t Wx), batch 16, input 8, state 32; d(Wh, Wx)",
             W.rnn_loss, H.grad_rnn_loss, (0, 1), W.rnn_inputs),
    Workload("euler", f"explicit Euler, {W.STEPS} steps, 64 damped oscillators; final energy, "
                      "d(stiffness, damping)",
             W.euler_oscillators, H.grad_euler_oscillators, (0, 1), W.euler_inputs,
             skip={"JAX jit": "XLA had not finished compiling the unrolled 1000-step Python "
                              "loop after 10 minutes"}),
    Workload("logistic", "mean logaddexp(0, -y (X w + b)), 4096 x 64; d(w, b)",
             W.logistic_loss, H.grad_logistic_loss, (0, 1), W.logistic_inputs),
    Workload("recurrence", "out[i] = out[i-1] * a + u[i] written by index, 1000 steps, "
                           "then sum; d(a, u)",
             W.linear_recurrence, H.grad_linear_recurrence, (0, 1), W.recurrence_inputs),
]
TINY = Workload("tiny", "sum(x * y), 4 elements", W.tiny, H.grad_tiny, 0, W.tiny_inputs)


# -- contenders -----------------------------------------------------------------------------
def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


_optional: Dict[str, Any] = {}


def optional_module(name: str) -> Any:
    """An optional module (autograd, jax), or None when it is not installed."""
    if name not in _optional:
        try:
            module = __import__(name)
            if name == "jax":
                module.config.update("jax_enable_x64", True)
                import jax.numpy  # noqa: F401
            if name == "autograd":
                import autograd.numpy  # noqa: F401
        except ImportError:
            module = None
        _optional[name] = module
    return _optional[name]


def gpu_module() -> Any:
    """CuPy when it is installed and sees a GPU, else None."""
    cupy = optional_module("cupy")
    try:
        return cupy if cupy is not None and cupy.cuda.runtime.getDeviceCount() else None
    except Exception:           # CuPy without a driver or a device
        return None


def on_host(value: Any) -> Any:
    """CuPy arrays (in tuples) copied back to NumPy, for the checks; the rest as it is."""
    if isinstance(value, tuple):
        return tuple(on_host(v) for v in value)
    cupy = gpu_module()
    return cupy.asnumpy(value) if cupy is not None and isinstance(value, cupy.ndarray) \
        else value


def ported(fn: Callable, xnp: Any) -> Callable:
    """``fn`` with its module's ``np`` and ``math`` bound to another NumPy (autograd's, JAX's)."""
    namespace = dict(fn.__globals__)
    namespace["np"] = xnp
    namespace["math"] = types.SimpleNamespace(sin=xnp.sin, cos=xnp.cos, exp=xnp.exp,
                                              log=xnp.log, tanh=xnp.tanh, sqrt=xnp.sqrt,
                                              pi=math.pi)
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                              fn.__closure__)


def make_s2s(workload: Workload, args: tuple, jit: bool = False) -> Callable[[], Any]:
    df = s2s.grad(workload.function, grad_position=workload.positions, jit=jit)
    return lambda: df(*args)


def make_s2s_cupy(workload: Workload, args: tuple) -> Optional[Callable[[], Any]]:
    """s2s's gradient of CuPy copies of the inputs: the same generated NumPy code, run on
    the GPU through NumPy's dispatch. None without CuPy, a GPU, or an array input."""
    cupy = gpu_module()
    if cupy is None or not any(isinstance(a, np.ndarray) for a in args):
        return None
    gpu_args = tuple(cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    df = s2s.grad(workload.function, grad_position=workload.positions)

    def gradient():
        grads = df(*gpu_args)
        cupy.cuda.get_current_stream().synchronize()    # kernels return before they finish
        return grads
    return gradient


def make_numba_forward(workload: Workload, args: tuple) -> Optional[Callable[[], Any]]:
    numba = optional_module("numba")
    if numba is None:
        return None
    compiled = numba.njit(workload.function)
    return lambda: compiled(*args)


def make_autograd(workload: Workload, args: tuple) -> Optional[Callable[[], Any]]:
    autograd = optional_module("autograd")
    if autograd is None:
        return None
    df = autograd.grad(ported(workload.function, autograd.numpy), workload.positions)
    return lambda: df(*args)


def make_jax(workload: Workload, args: tuple, jit: bool) -> Optional[Callable[[], Any]]:
    jax = optional_module("jax")
    if jax is None:
        return None
    jargs = tuple(jax.numpy.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    df = jax.grad(ported(workload.function, jax.numpy), workload.positions)
    if jit:
        df = jax.jit(df)
    return lambda: jax.block_until_ready(df(*jargs))


def prepare(workload: Workload, contender: str, args: tuple,
            expected: List[np.ndarray]) -> Union[Callable[[], Any], Problem]:
    """A warm, checked thunk that computes the contender's gradient, or why there is none
    (a contender that is not installed is n/a, without the note on why it is skipped)."""
    makers = {"s2s": lambda: make_s2s(workload, args),
              "s2s jit": lambda: make_s2s(workload, args, jit=True)
              if optional_module("numba") else None,
              "Numba forward": lambda: make_numba_forward(workload, args),
              "s2s CuPy": lambda: make_s2s_cupy(workload, args),
              "autograd": lambda: make_autograd(workload, args),
              "JAX": lambda: make_jax(workload, args, jit=False),
              "JAX jit": lambda: make_jax(workload, args, jit=True)}
    try:
        thunk = makers[contender]()
        if thunk is None:
            return Problem("n/a", "")
        if contender in workload.skip:      # made (jax.jit compiles lazily), never run
            return Problem("skipped", workload.skip[contender])
        got = thunk()                               # compiles, traces or jits: not timed
        if contender == "Numba forward":            # a value, not a gradient
            got, expected = [np.asarray(got)], [np.asarray(workload.function(*args))]
        else:
            got = checks.as_arrays(on_host(got), workload)
    except Exception as error:                      # the run goes on whatever a tool raises
        return Problem("error", f"error: {first_line(error)}")
    error = checks.relative_error(got, expected)
    if not error <= 1e-6:
        return Problem("WRONG", f"wrong gradient: relative error {error:.1e} against the "
                                f"hand-written one")
    return thunk


# -- measurements ---------------------------------------------------------------------------
@dataclass
class Row:
    """What was measured on one workload: per-call times, transform time, memory."""
    workload: Workload
    times: Dict[str, Union[float, Problem]]
    transform: Union[float, Problem, None] = None
    compile: Union[float, Problem, None] = None                 # first call of s2s jit
    memory: Optional[Tuple[int, Union[int, Problem]]] = None     # (hand, s2s) bytes


def measure_workload(workload: Workload, plan: timing.Plan, repeats: int) -> Row:
    f = workload.function
    args = workload.inputs(small=False)
    expected = checks.as_arrays(workload.hand(*args), workload)
    thunks: Dict[str, Callable[[], Any]] = {"forward": lambda: f(*args),
                                            "hand": lambda: workload.hand(*args)}
    times: Dict[str, Union[float, Problem]] = {}
    compile_time = jit_first_call_seconds(workload, args)
    for contender in CONTENDERS[2:]:
        prepared = prepare(workload, contender, args, expected)
        if isinstance(prepared, Problem):
            times[contender] = prepared
        else:
            thunks[contender] = prepared
    times.update(timing.per_call_seconds(thunks, plan))
    row = Row(workload, times, compile=compile_time)
    row.transform = times["s2s"] if isinstance(times["s2s"], Problem) else \
        transform_seconds(workload, repeats)
    if workload.name in MEMORY_WORKLOADS:
        hand_bytes = timing.peak_extra_bytes(thunks["hand"], repeats)
        s2s_bytes = times["s2s"] if isinstance(times["s2s"], Problem) else \
            timing.peak_extra_bytes(thunks["s2s"], repeats)
        row.memory = (hand_bytes, s2s_bytes)
    return row


def transform_seconds(workload: Workload, repeats: int) -> Union[float, Problem]:
    """Median time the first s2s.grad(f) call adds, with the compiled-code cache emptied.

    s2s transforms on the first call, for the shapes of that call's arguments: the
    transform time is that call's time less the quickest of three calls that follow it.
    """
    return first_call_seconds(workload.function, workload.positions, workload.inputs(),
                              repeats)


def clear_cache() -> Optional[Callable[[], None]]:
    """s2s's function that empties its caches, wherever this version keeps it."""
    for owner in (s2s, getattr(s2s, "api", None), sys.modules.get("s2s.api.grad")):
        found = getattr(owner, "clear_cache", None)
        if callable(found):
            return found
    return None


def first_call_seconds(function: Callable, positions: Union[int, Tuple[int, ...]],
                       args: tuple, repeats: int,
                       clock: Callable[[], float] = time.perf_counter) -> Union[float, Problem]:
    """Median time the first call of s2s.grad(function) adds, with the caches emptied."""
    clear = clear_cache()
    if clear is None:
        return Problem("n/a", "s2s has no clear_cache: cannot empty the cache")
    times = []
    for _ in range(repeats):
        clear()
        try:
            df = s2s.grad(function, grad_position=positions)
            start = clock()
            df(*args)
            first = clock() - start
            later = []
            for _ in range(3):
                start = clock()
                df(*args)
                later.append(clock() - start)
        except Exception as error:
            return Problem("error", f"error: {first_line(error)}")
        times.append(first - min(later))
    return statistics.median(times)


def jit_first_call_seconds(workload: Workload, args: tuple) -> Union[float, Problem, None]:
    """What the first call of s2s.grad(f, jit=True) adds over a later one (the transform
    and the Numba compile; Numba's files are in a fresh folder), or None without Numba."""
    if optional_module("numba") is None:
        return None
    clear = clear_cache()
    if clear is not None:
        clear()
    try:
        df = s2s.grad(workload.function, grad_position=workload.positions, jit=True)
        start = time.perf_counter()
        df(*args)
        first = time.perf_counter() - start
        start = time.perf_counter()
        df(*args)
        return first - (time.perf_counter() - start)
    except Exception as error:
        return Problem("error", f"error: {first_line(error)}")


SIZES = (50, 200, 800)      # statements of the straight-line functions


def measure_sizes(repeats: int) -> Dict[int, Union[float, Problem]]:
    """Transform time of straight-line functions of each size in SIZES (see
    ``workloads.straight_line``), after one transform that warms s2s up. In processor
    time: seconds long, these runs would otherwise measure whatever else the machine runs."""
    first_call_seconds(W.straight_line(5), 0, W.straight_line_inputs(), 1)
    return {n: first_call_seconds(W.straight_line(n), 0, W.straight_line_inputs(),
                                  repeats if n < 800 else max(1, repeats // 2),
                                  clock=time.process_time)
            for n in SIZES}


@dataclass
class Overheads:
    """Fixed costs around the generated code, in seconds per call."""
    generated: float        # the generated code, called directly
    wrapper: float          # the function grad(f) returns, cached
    construct: float        # s2s.grad(f) alone (the transform is lazy)
    second_grad: float      # s2s.grad(f)(x) with a warm cache, less a call of a cached one


def measure_overheads() -> Union[Overheads, Problem]:
    args = TINY.inputs()
    expected = checks.as_arrays(TINY.hand(*args), TINY)
    prepared = prepare(TINY, "s2s", args, expected)
    if isinstance(prepared, Problem):
        return prepared
    f = TINY.function
    df = s2s.grad(f)
    df(*args)
    try:
        generated = df.__wrapped__
        generated(*args)
    except Exception as error:
        return Problem("error", f"error: __wrapped__: {first_line(error)}")
    t = timing.per_call_seconds({"generated": lambda: generated(*args),
                                 "wrapper": lambda: df(*args),
                                 "construct": lambda: s2s.grad(f),
                                 "second": lambda: s2s.grad(f)(*args)}, FIXED_COSTS)
    return Overheads(t["generated"], t["wrapper"], t["construct"], t["second"] - t["wrapper"])


def main(argv: Optional[List[str]] = None) -> int:
    names = [w.name for w in WORKLOADS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="few samples: a smoke run, not a measurement")
    parser.add_argument("--only", action="append", choices=names, metavar="NAME",
                        help=f"run only this workload (repeatable): {', '.join(names)}")
    parser.add_argument("--markdown", action="store_true",
                        help="print the report as Markdown, for the README")
    options = parser.parse_args(argv)
    chosen = [w for w in WORKLOADS if not options.only or w.name in options.only]
    os.environ["S2S_JIT_CACHE"] = tempfile.mkdtemp(prefix="s2s-bench-numba-")
    plan = QUICK if options.quick else FULL
    repeats = 1 if options.quick else 5

    for workload in chosen + [TINY]:
        why = checks.check_handwritten(workload)
        if why is not None:
            print(f"ABORTED: the hand-written gradient of {workload.name} is wrong: {why}",
                  file=sys.stderr)
            return 1

    rows = []
    for workload in chosen:
        print(f"measuring {workload.name} ...", file=sys.stderr, flush=True)
        rows.append(measure_workload(workload, plan, repeats))
    print("measuring fixed costs ...", file=sys.stderr, flush=True)
    overheads = measure_overheads()
    print("measuring transform time by function size ...", file=sys.stderr, flush=True)
    sizes = measure_sizes(repeats)
    print_report(rows, CONTENDERS, overheads, TINY, sizes, options.markdown, options.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
