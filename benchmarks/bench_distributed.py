"""Data-parallel training over MPI ranks: images per second of ``fit`` for 1, 2 (and 4 where
the cores exist) ranks on seed models, with the time each step spends in the gradients'
Allreduce and the bytes it sends. Prints a Markdown table (medians of the timed epochs).

    python benchmarks/bench_distributed.py [--models seed004_mnist_cnn,seed003_cifar10_small]
                                           [--images 1024] [--epochs 3]

Each configuration runs as ``mpiexec -n R python bench_distributed.py --worker ...`` with
one kernel thread per rank; every rank trains on ``--images`` random images per epoch
(weak scaling: the global batch is the notebook's batch times R), after one warm-up epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def worker(model_name: str, images: int, epochs: int) -> None:
    import tinycnn.distributed as dist
    from tinycnn import zoo
    from tinycnn.utils import set_random_seed

    dist.init()
    set_random_seed(dist.rank())
    entry = zoo.ENTRIES[model_name]
    model = zoo.build(model_name, compile=False)
    model.compile(optimizer=dist.DistributedOptimizer(entry.optimizer()), loss=entry.loss)
    rng = np.random.default_rng(dist.rank())
    x = rng.random((images, *model.input_shape[1:]), dtype=np.float32)
    y = np.eye(model.output_shape[-1], dtype=np.float32)[rng.integers(0, model.output_shape[-1], images)]
    spent = []
    real = dist.allreduce_mean

    def timed(buffer):
        start = time.perf_counter()
        real(buffer)
        spent.append(time.perf_counter() - start)
        return buffer
    dist.allreduce_mean = timed
    callbacks = [dist.BroadcastGlobalVariablesCallback(0)]
    model.fit(x, y, batch_size=entry.batch_size, epochs=1, verbose=0, callbacks=callbacks)  # warm-up
    seconds = []
    for _ in range(epochs):
        spent.clear()
        start = time.perf_counter()
        model.fit(x, y, batch_size=entry.batch_size, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - start)
    if dist.rank() == 0:
        steps = -(-images // entry.batch_size)
        print(json.dumps({"model": model_name, "ranks": dist.size(), "params": model.count_params(),
                          "epoch_s": float(np.median(seconds)), "images_per_s": images * dist.size() / float(np.median(seconds)),
                          "allreduce_ms_per_step": 1e3 * float(np.sum(spent)) / steps,
                          "bytes_per_step": 4 * model.count_params(), "batch_per_rank": entry.batch_size}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="seed004_mnist_cnn,seed003_cifar10_small,seed001_model1")
    parser.add_argument("--images", type=int, default=1024, help="images per rank per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.images, args.epochs)
        return
    mpiexec = shutil.which("mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if mpiexec is None:
        raise SystemExit("no mpiexec: pip install 'tinycnn[mpi]'")
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    ranks = [r for r in (1, 2, 4) if r <= (os.cpu_count() or 1)]
    rows = []
    for name in args.models.split(","):
        for r in ranks:
            done = subprocess.run([mpiexec, "-n", str(r), sys.executable, __file__, "--worker", name, "--images",
                                   str(args.images), "--epochs", str(args.epochs)], capture_output=True, text=True,
                                  env=env, timeout=3600)
            if done.returncode != 0:
                raise SystemExit(done.stderr[-2000:])
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{os.uname().machine}, {os.cpu_count()} CPUs, 1 kernel thread per rank, {args.images} images per rank "
          f"per epoch, medians of {args.epochs} epochs")
    print()
    print("| model | ranks | batch per rank | images/s | speed-up | Allreduce ms/step | bytes/step |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    single = {row["model"]: row["images_per_s"] for row in rows if row["ranks"] == 1}
    for row in rows:
        print(f"| {row['model']} | {row['ranks']} | {row['batch_per_rank']} | {row['images_per_s']:.0f} | "
              f"{row['images_per_s'] / single[row['model']]:.2f} | {row['allreduce_ms_per_step']:.2f} | "
              f"{row['bytes_per_step']:,} |")


if __name__ == "__main__":
    main()
