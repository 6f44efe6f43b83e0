"""One training step and one prediction batch of the speedrun's network, tinycnn beside PyTorch.

    python benchmarks/bench_speedrun_step.py [--rounds 5] [--steps 10] [--widths 64,128,128]
        [--batch-size 256] [--threads 2] [--out FILE.md]

The network of ``tinycnn speedrun`` (tinycnn/speedrun.py) and the same network in PyTorch
(benchmarks/speedrun_torch.py's ``build``: channels-last float32, airbench's optimizer), on
one pre-made batch of random CIFAR-shaped images, in the state of most of a run: the
whitening layer (its kernel from the batch itself, :func:`tinycnn.speedrun.whitening_kernel`)
frozen, its bias too (after epoch 3). A zero whitening kernel would make the first layers'
activations all zero, and tinycnn's step measurably faster than on real data. Each round
times ``--steps`` training steps (forward, loss, backward, update) and as many forward
passes in inference mode for each framework, one after the other (after 3 warm-up steps);
the table gives the median over the rounds of the milliseconds per step, and tinycnn's
speed as a multiple of PyTorch's.
This isolates the step from the data pipeline, Lookahead and evaluation that
``benchmarks/speedrun.py`` times end to end.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def tinycnn_step(recipe, x, labels, whitening):
    """(train one step, predict one batch) closures for tinycnn."""
    from tinycnn import speedrun
    model = speedrun.build_model(recipe, whitening)
    speedrun.freeze(model.layers[0].bias)
    speedrun.compile_recipe(model, recipe, steps=1000)
    onehot = np.eye(10, dtype=np.float32)[labels]
    return (lambda: model.train_on_batch(x, onehot)), (lambda: model.predict_on_batch(x))


def torch_step(recipe, x, labels, whitening):
    """The same two closures for PyTorch (speedrun_torch.py's network and optimizer form)."""
    import torch
    from speedrun_torch import build
    model = build(recipe, whitening)
    model[0].bias.requires_grad = False
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.85,
                                nesterov=True, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing, reduction="sum")
    images = torch.from_numpy(x).permute(0, 3, 1, 2)          # NHWC memory: channels-last
    y = torch.from_numpy(labels.astype(np.int64))

    def train():
        model.train()
        loss = loss_fn(model(images), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def predict():
        model.eval()
        with torch.no_grad():
            return model(images).numpy()
    return train, predict


def per_step_ms(fn, steps) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return 1000 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--widths", default="64,128,128")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    import torch
    import tinycnn
    from tinycnn import speedrun
    torch.set_num_threads(args.threads)
    tinycnn.set_num_threads(args.threads)
    recipe = speedrun.Recipe(widths=tuple(int(w) for w in args.widths.split(",")), batch_size=args.batch_size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch_size, 32, 32, 3)).astype(np.float32)
    labels = rng.integers(0, 10, args.batch_size)
    whitening = speedrun.whitening_kernel(x)
    closures = {"tinycnn": tinycnn_step(recipe, x, labels, whitening),
                "PyTorch": torch_step(recipe, x, labels, whitening)}
    for train, predict in closures.values():
        for _ in range(3):
            train()
            predict()
    times = {(name, kind): [] for name in closures for kind in ("train", "predict")}
    for _ in range(args.rounds):
        for name, (train, predict) in closures.items():
            times[name, "train"].append(per_step_ms(train, args.steps))
            times[name, "predict"].append(per_step_ms(predict, args.steps))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    median = {key: statistics.median(values) for key, values in times.items()}
    lines = [f"# Speedrun step, widths {args.widths}, batch {args.batch_size}", "",
             f"Machine: {cpu}, {args.threads} threads; PyTorch {torch.__version__}; "
             f"{args.rounds} rounds of {args.steps} steps, medians.", "",
             f"Command: `python benchmarks/bench_speedrun_step.py {' '.join(sys.argv[1:])}`", "",
             "| step | tinycnn ms | PyTorch ms | tinycnn speed / PyTorch's |", "| --- | ---: | ---: | ---: |"]
    for kind in ("train", "predict"):
        mine, theirs = median["tinycnn", kind], median["PyTorch", kind]
        lines.append(f"| {kind} | {mine:.1f} | {theirs:.1f} | {theirs / mine:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
