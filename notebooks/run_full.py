"""Run the teaching notebooks' training recipes at full length and record what they reach.

The notebooks in this folder run the same recipes; in quick mode (``TINYCNN_QUICK=1``) they
only check that the code runs. This script trains each recipe on the full data set, for the
epochs the classic notebook used (or fewer with ``--epochs``), and appends one JSON line per
run to ``full_runs.jsonl`` next to this file: data set, epochs, batch size, wall time per
epoch, the final accuracy, the machine's load. ``RESULTS.md`` is written from those lines.

    python notebooks/run_full.py mnist_cnn model_2 deep_sgd      # some recipes
    python notebooks/run_full.py --list                          # what there is
    python notebooks/run_full.py --table                         # full_runs.jsonl as Markdown rows
    python notebooks/run_full.py small_cnn:15 augmentation:5      # fewer epochs than the recipe
    python notebooks/run_full.py mnist_cnn --threads 2           # threads (default 1, see below)

On a machine shared with other busy processes one kernel thread is usually faster than
several (a parallel loop waits for its slowest thread), hence ``--threads 1`` by default.

Data: ``TINYCNN_DATA_DIR`` when set, else ``shared/datasets`` beside or above the repository
(MNIST's official archives; for CIFAR-10 the JPEG-75 stand-in when the official archive is
absent, which tinycnn says with a warning).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LOG = HERE / "full_runs.jsonl"
RUNS = HERE / "full_runs"   # each run's final weights and history, for make_figures.py (not committed)


def find_data_dir() -> None:
    """Point TINYCNN_DATA_DIR at shared/datasets when it is not set already."""
    if os.environ.get("TINYCNN_DATA_DIR"):
        return
    for candidate in (HERE.parent / "shared" / "datasets", HERE.parent.parent / "shared" / "datasets"):
        if candidate.is_dir():
            os.environ["TINYCNN_DATA_DIR"] = str(candidate)
            return


@dataclass
class Recipe:
    notebook: str
    model: str              # zoo name
    dataset: str            # 'mnist' or 'cifar10'
    epochs: int
    validation: str         # 'split0.2' (last 20% of train), 'first5000' (x_train[:5000]), 'test'
    checkpoint: bool        # keep the best weights (val_loss) and reload them before testing
    augment: bool = False
    original: str = ""      # the classic notebook's figure
    notes: list = field(default_factory=list)


RECIPES = {
    "mnist_mlp": Recipe("01_mnist_mlp_vs_cnn", "seed004_mnist_mlp", "mnist", 10, "split0.2", True,
                        original="(no figure given for the MLP)"),
    "mnist_cnn": Recipe("01_mnist_mlp_vs_cnn", "seed004_mnist_cnn", "mnist", 10, "split0.2", True,
                        original="99.20% test"),
    # The notebook defines and fits an ImageDataGenerator, but its model.fit trains on the arrays.
    "augmentation": Recipe("02_cifar10_augmentation", "seed000_cifar10", "cifar10", 50, "first5000", True,
                           augment=False, original="77.41% test after 50 epochs"),
    "model_1": Recipe("03_cifar10_layers_explained", "seed001_model1", "cifar10", 15, "test", False,
                      original="64.50% validation (= test set) after 15 epochs"),
    "model_2": Recipe("03_cifar10_layers_explained", "seed001_model2", "cifar10", 5, "test", False,
                      original="50.64% validation (= test set) after 5 epochs"),
    "deep_sgd": Recipe("04_cifar10_deep_sgd", "seed002_cifar10_deep", "cifar10", 3, "test", False,
                       original="69.51% validation (= test set) after 3 epochs"),
    "small_cnn": Recipe("05_end_to_end_small_cnn", "seed003_cifar10_small", "cifar10", 100, "first5000", True,
                        original="about 66% test"),
}


class EpochTimer:
    """A callback recording the wall time of every epoch."""

    def __init__(self):
        from tinycnn.callbacks import Callback
        outer = self
        self.times = []

        class _Timer(Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.times.append(time.perf_counter() - outer._start)

        self.callback = _Timer()


def load(dataset: str):
    from tinycnn import datasets
    from tinycnn.utils import to_categorical
    if dataset == "mnist":
        (x, y), (xt, yt) = datasets.mnist.load_data()
        x, xt = x[..., None], xt[..., None]
    else:
        (x, y), (xt, yt) = datasets.cifar10.load_data()
    x = x.astype("float32") / 255
    xt = xt.astype("float32") / 255
    return (x, to_categorical(y, 10)), (xt, to_categorical(yt, 10))


def run(name: str, recipe: Recipe, epochs: int, seed: int, verbose: int) -> dict:
    import tinycnn
    from tinycnn import callbacks, zoo
    from tinycnn.preprocessing.image import ImageDataGenerator
    from tinycnn.utils import set_random_seed

    set_random_seed(seed)
    (x, y), (xt, yt) = load(recipe.dataset)
    model = zoo.build(recipe.model)
    if recipe.model == "seed004_mnist_mlp":
        x, xt = x[..., 0], xt[..., 0]
    batch = zoo.get(recipe.model).batch_size
    if recipe.validation == "split0.2":
        cut = int(len(x) * 0.8)
        (x, y), val = (x[:cut], y[:cut]), (x[cut:], y[cut:])
    elif recipe.validation == "first5000":
        (x, y), val = (x[5000:], y[5000:]), (x[:5000], y[:5000])
    else:
        val = (xt, yt)
    timer = EpochTimer()
    cbs = [timer.callback]
    best = HERE / f"_full_{name}_seed{seed}.weights.npz"
    if recipe.checkpoint:
        cbs.append(callbacks.ModelCheckpoint(str(best), monitor="val_loss", save_best_only=True,
                                             save_weights_only=True))
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    if recipe.augment:
        gen = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
        gen.fit(x)
        history = model.fit(gen.flow(x, y, batch_size=batch, seed=seed), steps_per_epoch=len(x) // batch,
                            epochs=epochs, validation_data=val, callbacks=cbs, verbose=verbose)
    else:
        history = model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=val,
                            callbacks=cbs, verbose=verbose)
    seconds = time.perf_counter() - start
    if recipe.checkpoint and best.exists():
        model.load_weights(str(best))
        best.unlink()
    test_loss, test_acc = model.evaluate(xt, yt, batch_size=256, verbose=0)
    h = history.history
    RUNS.mkdir(exist_ok=True)
    model.save_weights(str(RUNS / f"{name}.weights.npz"))
    (RUNS / f"{name}.history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in h.items()}))
    return {
        "recipe": name, "notebook": recipe.notebook, "model": recipe.model, "params": model.count_params(),
        "dataset": recipe.dataset + (" (JPEG-75 stand-in)" if recipe.dataset == "cifar10" else ""),
        "train_images": int(len(x)), "epochs_run": len(h["loss"]), "recipe_epochs": recipe.epochs,
        "batch_size": batch, "augment": recipe.augment, "validation": recipe.validation,
        "best_checkpoint": recipe.checkpoint,
        "seconds": round(seconds, 1), "seconds_per_epoch": [round(t, 1) for t in timer.times],
        "final_val_accuracy": round(float(h["val_accuracy"][-1]), 4),
        "best_val_accuracy": round(float(max(h["val_accuracy"])), 4),
        "val_accuracy_per_epoch": [round(float(a), 4) for a in h["val_accuracy"]],
        "test_accuracy": round(float(test_acc), 4), "test_loss": round(float(test_loss), 4),
        "original": recipe.original, "backend": tinycnn.get_backend().name,
        "load_average_at_start": round(load_before, 2), "load_average_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(), "threads": tinycnn.get_num_threads(), "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seed": seed,
    }


def print_table() -> None:
    """One Markdown row per recorded run (the format of RESULTS.md)."""
    print("| recipe | model (params) | data | train images | epochs run / recipe | batch | "
          "s per epoch (median) | best val acc | final val acc | test acc | classic notebook | "
          "load avg start/end | date |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for line in LOG.read_text().splitlines() if LOG.exists() else []:
        r = json.loads(line)
        per_epoch = sorted(r["seconds_per_epoch"])[len(r["seconds_per_epoch"]) // 2]
        print(f"| {r['recipe']} | {r['model']} ({r['params']:,}) | {r['dataset']} | {r['train_images']:,} | "
              f"{r['epochs_run']} / {r['recipe_epochs']} | {r['batch_size']} | {per_epoch:.0f} | "
              f"{r['best_val_accuracy']:.2%} | {r['final_val_accuracy']:.2%} | {r['test_accuracy']:.2%} | "
              f"{r['original']} | {r['load_average_at_start']} / {r['load_average_at_end']} | {r['date']} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", help="recipe names (see --list), each optionally "
                        "followed by :EPOCHS to run fewer epochs than the recipe")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("--table", action="store_true",
                        help="print the runs recorded in full_runs.jsonl as Markdown table rows")
    parser.add_argument("--epochs", type=int, help="run this many epochs instead of the recipe's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    if args.table:
        print_table()
        return 0
    if args.list or not args.recipes:
        for name, r in RECIPES.items():
            print(f"{name:13s} {r.notebook:30s} {r.model:22s} {r.dataset:8s} {r.epochs:3d} epochs  "
                  f"original: {r.original}")
        return 0
    requests = [(spec.partition(":")[0], spec.partition(":")[2]) for spec in args.recipes]
    unknown = [n for n, _ in requests if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; see --list")
    find_data_dir()
    import tinycnn
    tinycnn.set_num_threads(args.threads)
    for name, epochs in requests:
        recipe = RECIPES[name]
        epochs = int(epochs) if epochs else args.epochs or recipe.epochs
        print(f"== {name}: {recipe.model} on {recipe.dataset}, {epochs} epochs "
              f"(recipe: {recipe.epochs})", flush=True)
        row = run(name, recipe, epochs, args.seed, args.verbose)
        with open(LOG, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
