"""Two source trees of tinycnn side by side: is a change faster or slower for what a user runs?

    python benchmarks/bench_trees.py OLD_TREE NEW_TREE [--repeats 3] [--models a,b] [--images 1280]

OLD_TREE and NEW_TREE are checkouts (``git worktree add /tmp/old <commit>``). For each zoo
model (in both trees' zoo) and each round, a fresh worker process per tree (the order
alternates between rounds) imports tinycnn from that tree, builds the model with its
notebook's optimizer and batch size, and times on random data of the model's input shape:

* ``fit``: one epoch of ``model.fit`` over ``--images`` images (shuffled, verbose=0), the
  best of 3 after a warm-up epoch;
* ``steps``: the same batches through ``train_on_batch``, summed (fit's own overhead is
  fit / steps - 1);
* ``predict``: ``model.predict`` over the same images, the best of 3.

The table gives medians over rounds and NEW's speed relative to OLD (> 1: NEW is faster).
2 threads, as tinycnn's default on the 2-core machines.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

MODELS = ("seed000_cifar10", "seed001_model1", "seed002_cifar10_deep", "seed003_cifar10_small",
          "seed004_mnist_mlp", "seed004_mnist_cnn")


def worker(model_name: str, images: int) -> dict:
    import numpy as np

    import tinycnn
    from tinycnn import zoo
    tinycnn.set_num_threads(2)
    entry = zoo.get(model_name)
    model = zoo.build(model_name)
    batch = entry.batch_size
    r = np.random.default_rng(0)
    x = r.random((images, *model.input_shape[1:]), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, images)]

    def best(run, times=3):
        results = []
        for _ in range(times):
            start = time.perf_counter()
            run()
            results.append(time.perf_counter() - start)
        return min(results)

    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up (compiles, allocates)
    fit = best(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0))
    batches = [(x[i:i + batch], y[i:i + batch]) for i in range(0, images, batch)]
    steps = best(lambda: [model.train_on_batch(xb, yb) for xb, yb in batches])
    model.predict(x[:batch], batch_size=batch)
    predict = best(lambda: model.predict(x, batch_size=batch))
    import tinycnn.kernels
    return {"fit": fit, "steps": steps, "predict": predict,
            "files": [tinycnn.__file__, os.path.realpath(tinycnn.kernels.__file__)]}


def run_worker(tree: str, model: str, images: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
    out = subprocess.run([sys.executable, __file__, "--worker", model, "--images", str(images)],
                         env=env, capture_output=True, text=True, check=True, cwd=os.path.abspath(tree))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for file in result.pop("files"):   # the package and its kernels must both come from the tree
        if not file.startswith(os.path.realpath(tree)):
            raise RuntimeError(f"the worker for {tree} imported {file}; a checkout from before the "
                               "kernels moved into tinycnn/ needs a link: ln -s ../kernels TREE/tinycnn/kernels")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?")
    parser.add_argument("new", nargs="?")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--images", type=int, default=1280)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.images)))
        return
    models = args.models.split(",")
    results = {(m, t): [] for m in models for t in ("old", "new")}
    for round_ in range(args.repeats):
        for model in models:
            order = [("old", args.old), ("new", args.new)]
            for key, tree in (order if round_ % 2 == 0 else order[::-1]):
                results[(model, key)].append(run_worker(tree, model, args.images))
                print(f"round {round_ + 1} {model} {key}: {results[(model, key)][-1]}", file=sys.stderr)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, 2 threads, "
          f"{args.images} images, medians of {args.repeats} rounds (seconds; speed = old time / new time)\n")
    print("| model | fit old | fit new | fit speed | steps old | steps new | fit overhead new "
          "| predict old | predict new | predict speed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model in models:
        med = {(k, q): statistics.median(r[q] for r in results[(model, k)])
               for k in ("old", "new") for q in ("fit", "steps", "predict")}
        print(f"| {model} | {med['old', 'fit']:.3f} | {med['new', 'fit']:.3f} | "
              f"{med['old', 'fit'] / med['new', 'fit']:.3f} | {med['old', 'steps']:.3f} | "
              f"{med['new', 'steps']:.3f} | {med['new', 'fit'] / med['new', 'steps'] - 1:+.1%} | "
              f"{med['old', 'predict']:.3f} | {med['new', 'predict']:.3f} | "
              f"{med['old', 'predict'] / med['new', 'predict']:.3f} |")


if __name__ == "__main__":
    main()
