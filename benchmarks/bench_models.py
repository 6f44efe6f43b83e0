"""Training and inference throughput of the seed models: tinycnn (each tier) vs PyTorch vs
Keras 3, measured side by side on random data of the models' input shapes.

    python benchmarks/bench_models.py [--repeats 3] [--keras-python PATH] [--models a,b]

Each framework is timed three ways: single training steps on pre-made batches, whole fit()
epochs (shuffled, gathered batches: what a user runs; PyTorch's epoch does the same random
permutation, indexing and contiguous copy), and predict.

Every measurement runs in a fresh worker process (so peak RSS is per framework), frameworks
alternate within each round, and the table reports medians over rounds. PyTorch is timed in
channels-first and channels-last layouts and the faster counts; its batches are indexed and
then made contiguous in the layout under test (a strided batch would run it ~10x slower and
flatter tinycnn). Keras runs when a Python with keras + tensorflow is given (default:
/work/kerasenv/bin/python if present). Writes benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREADS = 2
SEED_MODELS = {  # zoo name -> batch size used by its notebook
    "seed000_cifar10": 35,
    "seed001_model1": 32,
    "seed001_model2": 32,
    "seed002_cifar10_deep": 32,
    "seed003_cifar10_small": 32,
    "seed004_mnist_mlp": 64,
    "seed004_mnist_cnn": 64,
}
FIT_IMAGES = int(os.environ.get("BENCH_FIT_IMAGES", 1280))  # images in each timed fit() epoch
FIT_EPOCHS = 3  # timed epochs after a warm-up one; the median counts
PREDICT_IMAGES = int(os.environ.get("BENCH_PREDICT_IMAGES", 10000))  # images in the timed predict() pass
TRAIN_SECONDS = float(os.environ.get("BENCH_SECONDS", 4.0))  # each training measurement runs about this long
PREDICT_SECONDS = TRAIN_SECONDS / 2


# ----- workers: one framework, one model, print JSON ----------------------------------------
def timed_steps(step, batches, budget):
    """Run ``step(batch)`` for warm-up then for about ``budget`` seconds; return
    (images per second, steps timed)."""
    for b in batches[:2]:
        step(b)
    done, images, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < budget or done < 3:
        b = batches[done % len(batches)]
        step(b)
        done += 1
        images += len(b[0])
    return images / (time.perf_counter() - start), done


def make_data(input_shape, batch, classes=10, batches=8, seed=0):
    import numpy as np
    r = np.random.default_rng(seed)
    x = r.random((batch * batches, *input_shape), dtype=np.float32)
    y = np.eye(classes, dtype=np.float32)[r.integers(0, classes, batch * batches)]
    return [(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]) for i in range(batches)]


def epoch_data(input_shape, classes=10, seed=1):
    """``FIT_IMAGES`` random images and one-hot labels: the data set one fit() epoch sees."""
    import numpy as np
    r = np.random.default_rng(seed)
    x = r.random((FIT_IMAGES, *input_shape), dtype=np.float32)
    return x, np.eye(classes, dtype=np.float32)[r.integers(0, classes, FIT_IMAGES)]


def timed_epochs(epoch) -> float:
    """Images per second of ``epoch()`` (one pass over ``FIT_IMAGES``), median of
    ``FIT_EPOCHS`` after a warm-up."""
    epoch()
    seconds = []
    for _ in range(FIT_EPOCHS):
        start = time.perf_counter()
        epoch()
        seconds.append(time.perf_counter() - start)
    return FIT_IMAGES / statistics.median(seconds)


def predict_data(input_shape, seed=2):
    import numpy as np
    return np.random.default_rng(seed).random((PREDICT_IMAGES, *input_shape), dtype=np.float32)


def timed_pass(run, warm_up) -> float:
    """Images per second of one ``run()`` over ``PREDICT_IMAGES`` after ``warm_up()``."""
    warm_up()
    start = time.perf_counter()
    run()
    return PREDICT_IMAGES / (time.perf_counter() - start)


def worker_tinycnn(model_name, batch, tier):
    """``tier`` is a kernel tier name, optionally with ``+blas2`` to let BLAS use 2 threads
    (tinycnn's default is 1, see kernels/threads.py)."""
    import tinycnn
    from tinycnn import zoo
    tier, _, blas = tier.partition("+blas")
    tinycnn.set_backend(tier)
    tinycnn.set_num_threads(THREADS, blas_threads=int(blas or 1))
    model = zoo.build(model_name)
    batches = make_data(model.input_shape[1:], batch)
    train, steps = timed_steps(lambda b: model.train_on_batch(*b), batches, TRAIN_SECONDS)
    predict, _ = timed_steps(lambda b: model.predict_on_batch(b[0]), batches, PREDICT_SECONDS)
    x, y = epoch_data(model.input_shape[1:])
    fit = timed_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0))
    images = predict_data(model.input_shape[1:])
    predict_all = timed_pass(lambda: model.predict(images, batch_size=batch, verbose=0),
                             lambda: model.predict(images[:4 * batch], batch_size=batch, verbose=0))
    return {"train": train, "predict": predict, "fit": fit, "predict_all": predict_all, "steps": steps}


def torch_model(config, input_shape, channels_last):
    """The same architecture in PyTorch, from a tinycnn model config (Keras names)."""
    import torch
    from torch import nn
    acts = {"relu": nn.ReLU, "softmax": lambda: nn.Softmax(dim=1), "linear": None}
    h, w, c = input_shape if len(input_shape) == 3 else (*input_shape, 1)  # MNIST's MLP: (28, 28)
    modules, flat = [], None
    for entry in config["layers"]:
        kind, cfg = entry["class_name"], entry["config"]
        if kind == "Conv2D":
            (kh, kw), (sh, sw) = cfg["kernel_size"], cfg["strides"]
            if cfg["padding"] == "same":
                oh, ow = -(-h // sh), -(-w // sw)
                ph, pw = max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - w, 0)
                modules.append(nn.ZeroPad2d((pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)))
                h, w = h + ph, w + pw
            modules.append(nn.Conv2d(c, cfg["filters"], (kh, kw), (sh, sw)))
            h, w, c = (h - kh) // sh + 1, (w - kw) // sw + 1, cfg["filters"]
            if acts.get(cfg.get("activation", "linear")):
                modules.append(acts[cfg["activation"]]())
        elif kind == "MaxPooling2D":
            (ph, pw), (sh, sw) = cfg["pool_size"], cfg["strides"]
            modules.append(nn.MaxPool2d((ph, pw), (sh, sw)))
            h, w = (h - ph) // sh + 1, (w - pw) // sw + 1
        elif kind == "Dropout":
            modules.append(nn.Dropout(cfg["rate"]))
        elif kind == "Flatten":
            modules.append(nn.Flatten())
            flat = h * w * c
        elif kind == "Dense":
            modules.append(nn.Linear(flat, cfg["units"]))
            flat = cfg["units"]
            if acts.get(cfg.get("activation", "linear")):
                modules.append(acts[cfg["activation"]]())
        elif kind == "Activation":
            modules.append(acts[cfg["activation"]]())
    model = nn.Sequential(*modules)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def worker_torch(model_name, batch, config, input_shape, device="cpu"):
    import numpy as np
    import torch
    torch.set_num_threads(THREADS)
    per_layout = {}
    for channels_last in (False, True):
        model = torch_model(config, input_shape, channels_last).to(device)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        def images(x):  # NHWC numpy -> the layout under test
            x = x if x.ndim == 4 else x[..., None]
            return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt).to(device)

        batches = [(images(x), torch.from_numpy(y.argmax(1)).to(device)) for x, y in make_data(input_shape, batch)]
        softmax_last = isinstance(model[-1], torch.nn.Softmax)
        body = model[:-1] if softmax_last else model
        optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()

        def train_step(b):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(body(b[0]), b[1])
            loss.backward()
            optimizer.step()
            loss.item()  # read the loss every step, as fit does (and as tinycnn must)

        def predict_step(b):
            with torch.no_grad():
                model.eval()
                model(b[0]).cpu()  # predictions come back to the host, as predict's do
                model.train()

        x_all, y_all = epoch_data(input_shape)
        x_all, y_all = images(x_all), torch.from_numpy(y_all.argmax(1)).to(device)

        def fit_epoch():  # what fit does: a new order, each batch gathered and made contiguous
            order = torch.randperm(FIT_IMAGES, device=device)
            for start in range(0, FIT_IMAGES, batch):
                index = order[start:start + batch]
                train_step((x_all[index].contiguous(memory_format=fmt), y_all[index]))

        test_images = images(predict_data(input_shape))

        def predict_all(count=PREDICT_IMAGES):  # what predict does: every batch, outputs to NumPy
            model.eval()
            with torch.no_grad():
                np.concatenate([model(test_images[start:start + batch]).cpu().numpy()
                                for start in range(0, count, batch)])
            model.train()

        train, _ = timed_steps(train_step, batches, TRAIN_SECONDS / 2)
        predict, _ = timed_steps(predict_step, batches, PREDICT_SECONDS / 2)
        per_layout["NHWC" if channels_last else "NCHW"] = (
            train, predict, timed_epochs(fit_epoch), timed_pass(predict_all, lambda: predict_all(4 * batch)))
    layout = max(per_layout, key=lambda name: per_layout[name][0])  # the faster layout counts
    best = lambda i: max(values[i] for values in per_layout.values())  # noqa: E731
    return {"train": per_layout[layout][0], "predict": best(1), "fit": best(2), "predict_all": best(3),
            "layout": layout}


def worker_keras(model_name, batch, config, input_shape):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    import keras
    model = keras.Sequential([keras.Input(shape=input_shape)])
    for entry in config["layers"]:
        kind, cfg = entry["class_name"], dict(entry["config"])
        if kind == "InputLayer":
            continue
        keep = {"Conv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
                "MaxPooling2D": ("pool_size", "strides", "padding"), "Dropout": ("rate",),
                "Flatten": (), "Dense": ("units", "activation"), "Activation": ("activation",)}[kind]
        model.add(getattr(keras.layers, kind)(**{k: cfg[k] for k in keep}))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    batches = make_data(input_shape, batch)
    train, _ = timed_steps(lambda b: model.train_on_batch(*b), batches, TRAIN_SECONDS)
    predict, _ = timed_steps(lambda b: model.predict_on_batch(b[0]), batches, PREDICT_SECONDS)
    x, y = epoch_data(input_shape)
    fit = timed_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0))
    images = predict_data(input_shape)
    predict_all = timed_pass(lambda: model.predict(images, batch_size=batch, verbose=0),
                             lambda: model.predict(images[:4 * batch], batch_size=batch, verbose=0))
    return {"train": train, "predict": predict, "fit": fit, "predict_all": predict_all, "versions": f"keras {keras.__version__}, tf {tf.__version__}"}


def run_worker(args) -> None:
    spec = json.loads(args.worker)
    kind = spec["framework"]
    if kind in ("torch", "torch-cuda"):
        result = worker_torch(spec["model"], spec["batch"], spec["config"], tuple(spec["input_shape"]),
                              "cuda" if kind == "torch-cuda" else "cpu")
    elif kind == "keras":
        result = worker_keras(spec["model"], spec["batch"], spec["config"], tuple(spec["input_shape"]))
    else:
        result = worker_tinycnn(spec["model"], spec["batch"], kind.split(":")[1])
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


# ----- driver -------------------------------------------------------------------------------
def measure(python, spec) -> dict | None:
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "NUMBA_NUM_THREADS": str(THREADS)}
    done = subprocess.run([python, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  {spec['framework']} on {spec['model']} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


FIRST_STEP = """
import time, numpy as np
start = time.perf_counter()
import tinycnn
from tinycnn import zoo
imported = time.perf_counter()
model = zoo.build("seed000_cifar10")
x = np.random.default_rng(0).random((35, 32, 32, 3), dtype=np.float32)
model.train_on_batch(x, np.eye(10, dtype=np.float32)[np.arange(35) % 10])
print(f"RESULT {imported - start} {time.perf_counter() - imported}")
"""


def jit_cost() -> dict:
    """Seconds to import tinycnn and run the first training step of seed000_cifar10 in a
    fresh process with the numba tier: with an empty Numba cache, then with it filled."""
    import tempfile
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "TINYCNN_BACKEND": "numba"}
        for label in ("cold", "warm"):
            done = subprocess.run([sys.executable, "-c", FIRST_STEP], capture_output=True, text=True, env=env)
            line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")][0].split()
            out[label] = (float(line[1]), float(line[2]))
    return out


def sgemm_gflops() -> float:
    import numpy as np
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(10):
        a @ a
    return 10 * 2 * 1024 ** 3 / (time.perf_counter() - start) / 1e9


def training_flops(model, batch) -> float:
    """Forward FLOPs x 3 (forward, and the two gradient GEMMs of backward) per image."""
    from tinycnn.profiling import layer_work
    import numpy as np
    shape = (batch, *model.input_shape[1:])
    total = 0
    for layer in model.layers:
        total += layer_work(layer, shape)[1]
        shape = (batch, *layer.output_shape[1:])
    return 3 * total / batch


def machine_description() -> str:
    import numpy as np
    import numba
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    return (f"{cpu}, {os.cpu_count()} cores; {THREADS} threads for every framework (BLAS, Numba, torch, TF); "
            f"Python {platform.python_version()}, NumPy {np.__version__}, Numba {numba.__version__}, "
            f"PyTorch {torch_version}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(SEED_MODELS))
    parser.add_argument("--tiers", default="numpy,numba")
    parser.add_argument("--frameworks", default=None,
                        help="explicit list, e.g. tinycnn:cuda,torch-cuda (default: tiers + torch + keras)")
    parser.add_argument("--no-jit", action="store_true", help="skip the JIT-cost measurement")
    parser.add_argument("--keras-python", default="/work/kerasenv/bin/python")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)

    from tinycnn import zoo
    frameworks = [f"tinycnn:{t}" for t in args.tiers.split(",")]
    try:
        import torch  # noqa: F401
        frameworks.append("torch")
    except ImportError:
        print("PyTorch not installed: its column is skipped (pip install torch==2.13.0)")
    if Path(args.keras_python).exists():
        frameworks.append("keras")
    if args.frameworks:
        frameworks = args.frameworks.split(",")
    results = {}
    for model_name in args.models.split(","):
        model = zoo.build(model_name)
        base = {"model": model_name, "batch": SEED_MODELS[model_name], "config": model.get_config(),
                "input_shape": list(model.input_shape[1:])}
        for round_ in range(args.repeats):
            for framework in frameworks:  # alternate frameworks within every round
                python = args.keras_python if framework == "keras" else sys.executable
                result = measure(python, {**base, "framework": framework})
                print(f"{model_name} round {round_ + 1} {framework}: {result}", flush=True)
                if result:
                    results.setdefault((model_name, framework), []).append(result)
    write_table(args.out, results, frameworks, sgemm_gflops(), machine_description(),
                {} if args.no_jit else jit_cost())


def write_table(path, results, frameworks, sgemm, machine, jit) -> None:
    from tinycnn import zoo
    lines = ["# Seed-model benchmark", "", f"Machine: {machine}.", "",
             f"Machine sgemm rate (NumPy float32 1024^3, {THREADS} threads): {sgemm:.1f} GFLOP/s.", "",
             "Images per second, median of rounds (training = one optimizer step per batch on random data; "
             f"fit = whole fit() epochs of {FIT_IMAGES} images, shuffled, median of {FIT_EPOCHS} after a warm-up; "
             f"predict step = one inference batch; predict() = one pass over {PREDICT_IMAGES} images in batches "
             "of the notebook's size, outputs back in NumPy). Ratio = tinycnn numba / PyTorch. GFLOP/s = "
             "training FLOPs (3 x forward) x images/s. RSS = peak resident memory of the worker process.", "",
             "| model | batch | framework | train img/s | fit img/s | predict step img/s | predict() img/s "
             "| train GFLOP/s | peak RSS MB |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    for model_name, batch in SEED_MODELS.items():
        flops = training_flops(zoo.build(model_name, compile=False), batch)
        for framework in frameworks:
            runs = results.get((model_name, framework))
            if not runs:
                continue
            train = statistics.median(r["train"] for r in runs)
            fit = statistics.median(r["fit"] for r in runs)
            predict = statistics.median(r["predict"] for r in runs)
            predict_all = statistics.median(r["predict_all"] for r in runs)
            rss = statistics.median(r["rss_mb"] for r in runs)
            label = framework + (f" ({runs[0]['layout']})" if "layout" in runs[0] else "")
            lines.append(f"| {model_name} | {batch} | {label} | {train:.0f} | {fit:.0f} | {predict:.0f} | {predict_all:.0f} | "
                         f"{train * flops / 1e9:.1f} | {rss:.0f} |")
        gpu = (model_name, "tinycnn:cuda") in results
        mine = results.get((model_name, "tinycnn:cuda" if gpu else "tinycnn:numba"))
        theirs = results.get((model_name, "torch-cuda" if gpu else "torch"))
        numpy_runs = results.get((model_name, "tinycnn:numpy"))
        if mine and theirs:
            ratio = lambda key, a=mine, b=theirs: (  # noqa: E731
                statistics.median(r[key] for r in a) / statistics.median(r[key] for r in b))
            ratios.append((model_name, ratio("train"), ratio("fit"), ratio("predict"), ratio("predict_all"),
                           ratio("train", b=numpy_runs) if numpy_runs else None))
    if ratios:
        lines += ["", "tinycnn = the numba tier on the CPU, the cuda tier on a GPU; PyTorch likewise.", "",
                  "| model | tinycnn/PyTorch train | tinycnn/PyTorch fit | tinycnn/PyTorch predict step "
                  "| tinycnn/PyTorch predict() | numba/numpy train |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {m} | {t:.2f}x | {f:.2f}x | {p:.2f}x | {a:.2f}x | "
                  f"{'(numpy tier not run)' if n is None else f'{n:.2f}x'} |" for m, t, f, p, a, n in ratios]
    if not jit:
        Path(path).write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    lines += ["", "JIT cost, numba tier, fresh process (import tinycnn / first training step of seed000_cifar10):",
              "", "| Numba cache | import s | first step s |", "| --- | ---: | ---: |"]
    lines += [f"| {label} | {imp:.2f} | {step:.2f} |" for label, (imp, step) in jit.items()]
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
