"""Logistic regression on a data set larger than one worker's memory, with s2s gradients
computed by a Dask cluster.

The loss is plain NumPy code. Given Dask arrays, ``s2s.value_and_grad`` returns the loss and
the gradients as lazy Dask arrays: its generated code calls NumPy functions, which Dask
receives through NumPy's dispatch protocols and turns into tasks. ``dask.compute`` then
runs the loss and both gradients in one pass over the data, on the workers.

The data (2 x 10^7 rows x 16 features in float64 by default, 2.56 GB) is generated chunk by
chunk on the workers from fixed seeds and kept there, split between workers whose memory
limit is below its size: no process ever holds all of it. Each step of s2s's gradient is
followed by a step of the same gradient written by hand with ``dask.array`` on the same data
(side by side, under the same load); each prints its loss and time. At the end come the
median times per step and the workers' peak memory.

    python samples/distributed_regression.py                         # 2 local workers
    python samples/distributed_regression.py --rows 20000 --steps 3  # a quick check
    python samples/distributed_regression.py --scheduler tcp://host:8786   # a real cluster
    python samples/distributed_regression.py --device gpu            # CuPy chunks on GPUs

It needs the ``dask`` extra (``pip install ".[dask]"``), and CuPy for ``--device gpu``.
"""
import argparse
import resource
import sys
import time

import numpy as np

import s2s

try:
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait
except ImportError:
    print("This sample needs Dask: pip install \".[dask]\" (or pip install "
          "\"dask[array]\" distributed)")
    sys.exit(0)


def loss(w, b, X, y):
    """Mean logistic loss for labels y in {-1, +1}."""
    margins = y * (X @ w + b)
    return np.mean(np.logaddexp(0.0, -margins))


def handwritten_step(w, b, X, y):
    """The same loss and gradient, written by hand with dask.array (the reference)."""
    margins = y * (X @ w + b)
    value = da.mean(da.logaddexp(0.0, -margins))
    dmargins = -y / ((1.0 + da.exp(margins)) * margins.shape[0])
    return value, X.T @ dmargins, dmargins.sum()


def make_data(rows, features, chunk_rows, device):
    """Features and labels of a noisy linear classifier, as lazy Dask arrays whose chunks
    the workers generate from fixed seeds (so recomputing one gives the same numbers)."""
    with dask.config.set({"array.backend": "cupy" if device == "gpu" else "numpy"}):
        rng = da.random.default_rng(0)
        X = rng.standard_normal((rows, features), chunks=(chunk_rows, features))
        noise = rng.standard_normal(rows, chunks=chunk_rows)
    true_w = np.linspace(-1.0, 1.0, features)
    if device == "gpu":
        import cupy
        true_w = cupy.asarray(true_w)
    y = da.where(X @ true_w + 0.5 * noise > 0.0, 1.0, -1.0)
    return X, y


def as_dask(values, device):
    """Small NumPy parameters as one-chunk Dask arrays (on the GPU with --device gpu): the
    arrays of one call must all be of one library."""
    if device == "gpu":
        import cupy
        values = cupy.asarray(values)
    return da.from_array(values, chunks=values.shape)


def peak_memory_mb():
    """This process's peak resident memory in MB (run on each worker)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def fit_side_by_side(steppers, X, y, features, steps, learning_rate, device):
    """``steps`` gradient steps from zero weights with each ``(label, step function)``, one
    step of each in turn (so both see the same load on the cluster); prints the loss and
    time of each step and returns the times by label, and the last weights."""
    weights = {label: (np.zeros(features), 0.0) for label, _ in steppers}
    times = {label: [] for label, _ in steppers}
    for step in range(steps):
        for label, step_fn in steppers:
            w, b = weights[label]
            start = time.perf_counter()
            value, dw, db = dask.compute(*step_fn(as_dask(w, device), b, X, y))
            times[label].append(time.perf_counter() - start)
            dw = dw.get() if hasattr(dw, "get") else dw       # CuPy to host: 16 numbers
            weights[label] = (w - learning_rate * np.asarray(dw), b - learning_rate * float(db))
            print(f"  step {step + 1:2d} {label:>18}: loss {float(value):.6f}   "
                  f"{times[label][-1]:.2f} s")
    return times, weights[steppers[0][0]][0]


gradient = s2s.value_and_grad(loss, grad_position=(0, 1))


def s2s_step(w, b, X, y):
    value, (dw, db) = gradient(w, b, X, y)
    return value, dw, db


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--learning-rate", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GiB",
                        help="per local worker (default 2GiB, below the data's size)")
    parser.add_argument("--scheduler", help="address of a running cluster's scheduler "
                        "(tcp://host:8786); without it a LocalCluster is started")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    args = parser.parse_args(argv)

    if args.scheduler:
        client = Client(args.scheduler)
    else:
        # each worker keeps its half of the data in memory: start spilling it to disk only
        # past 80% of the limit (the default, 60%, is about what that half takes)
        with dask.config.set({"distributed.worker.memory.target": 0.8,
                              "distributed.worker.memory.spill": 0.85}):
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                   memory_limit=args.memory_limit, dashboard_address=None)
        client = Client(cluster)
    rows = args.rows
    start = time.perf_counter()
    X, y = dask.persist(*make_data(rows, args.features, min(args.chunk_rows, rows),
                                   args.device))
    wait([X, y])
    size_gb = rows * args.features * 8 / 1e9
    print(f"data: {rows} x {args.features} float64 ({size_gb:.2f} GB) in {X.numblocks[0]} "
          f"chunks, made on {len(client.scheduler_info()['workers'])} workers (memory limit "
          f"{args.memory_limit} each) in {time.perf_counter() - start:.1f} s; device "
          f"{args.device}")

    times, w = fit_side_by_side([("s2s", s2s_step), ("dask.array by hand", handwritten_step)],
                                X, y, args.features, args.steps, args.learning_rate,
                                args.device)
    # the first step of each pays for starting up (s2s: the transform); compare the rest
    s2s_time, hand_time = (float(np.median(t[1:] or t)) for t in times.values())
    print(f"time per step (median): s2s {s2s_time:.2f} s, dask.array by hand "
          f"{hand_time:.2f} s (ratio {s2s_time / hand_time:.2f})")
    peaks = client.run(peak_memory_mb)
    print("workers' peak memory: " + ", ".join(f"{mb:.0f} MB" for mb in peaks.values()))
    print("weights:", np.round(w, 3))
    client.close()


if __name__ == "__main__":
    main()
