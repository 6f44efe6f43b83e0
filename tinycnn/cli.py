"""The ``tinycnn`` command: train, evaluate, predict, summary, profile, export, speedrun, datasets.

``tinycnn train`` with no arguments trains the MNIST CNN of the classic notebook on the
MNIST sample that ships inside tinycnn, so it works offline. Errors are one line on
stderr, never a traceback: exit status 2 for a wrong argument, 1 for a file that cannot be
used (missing, damaged, of the wrong kind, a model file that fails).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

DATASET_NAMES = ("mnist_sample", "mnist", "fashion_mnist", "cifar10")


class UsageError(Exception):
    """A mistake in what the user asked for; printed as one line (exit status 2)."""


class FileError(Exception):
    """A file the command cannot use; printed as one line (exit status 1)."""


def reading(path, read, kind: str):
    """``read()``, with any failure reported as a :class:`FileError` naming ``path`` (a
    ``kind``: "model file", "dataset file")."""
    if not Path(path).exists():
        raise FileError(f"{kind} not found: {path}")
    try:
        return read()
    except (UsageError, FileError):
        raise
    except Exception as err:  # noqa: BLE001  (a user's file may fail in any way; report it in one line)
        text = str(err)
        raise FileError(text if str(path) in text else f"{path}: {type(err).__name__}: {text}") from None


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number of at least 0."""
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number in [0, 1)."""
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


# ----- data ----------------------------------------------------------------------------
def load_dataset(spec: str):
    """``(x_train, y_train), (x_test, y_test), class_names`` from a name, an .npz or a folder."""
    from . import datasets
    if spec in DATASET_NAMES:
        module = getattr(datasets, spec)
        (x, y), (xt, yt) = module.load_data()
        return (x, y), (xt, yt), list(module.CLASS_NAMES)
    path = Path(spec)
    if path.suffix == ".npz":
        (x, y), (xt, yt) = reading(path, lambda: datasets.load_npz(path), "dataset file")
        return (x, y), (xt, yt), [str(i) for i in range(int(max(y.max(), yt.max())) + 1)]
    if path.is_dir():
        x, y, names = reading(path, lambda: datasets.image_folder(path), "dataset folder")
        order = np.random.default_rng(0).permutation(len(x))
        cut = int(0.8 * len(x))
        return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]]), names
    raise UsageError(f"unknown dataset {spec!r}: use one of {', '.join(DATASET_NAMES)}, an .npz file "
                     "with x_train/y_train/x_test/y_test, or a folder with one sub-folder per class")


def prepare_images(x) -> np.ndarray:
    """uint8 images -> float32 in [0, 1], with a channel axis (N, H, W, C)."""
    x = np.asarray(x)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return x[..., None] if x.ndim == 3 else x


# ----- models ----------------------------------------------------------------------------
def load_model_spec(spec: str, compile: bool = True):
    """A model from a zoo name, a Python file defining ``build_model()``, or a saved model."""
    from . import zoo
    from .models import load_model
    path = Path(spec)
    if path.suffix == ".py":
        return reading(path, lambda: _build_from_file(path), "model file")
    if path.suffix in (".npz", ".h5", ".hdf5", ".keras"):
        return reading(path, lambda: load_model(path), "model file")
    try:
        return zoo.build(spec, compile=compile)
    except ValueError as err:
        raise UsageError(f"{err}, or give a FILE.py defining build_model() or a saved model .npz") from None


def _build_from_file(path: Path):
    """The model ``build_model()`` of the Python file ``path`` returns."""
    from .models import Model
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not callable(getattr(module, "build_model", None)):
        raise FileError(f"{path} must define a function build_model() that returns a model")
    model = module.build_model()
    if not isinstance(model, Model):
        raise FileError(f"{path}: build_model() returned {type(model).__name__}, not a model "
                        "(a Sequential or a Model); end it with `return model`")
    return model


def check_fits(model, x, name) -> None:
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise UsageError(f"model {name} expects images of shape {expected}, but the dataset's are "
                         f"{tuple(x.shape[1:])}")


# ----- commands ------------------------------------------------------------------------------
def cmd_train(args) -> None:
    from . import callbacks, optimizers, plot, zoo
    from .utils import set_random_seed, to_categorical
    set_random_seed(args.seed)
    (x, y), (xt, yt), class_names = load_dataset(args.dataset)
    x, xt = prepare_images(x), prepare_images(xt)
    y, yt = to_categorical(y, len(class_names)), to_categorical(yt, len(class_names))
    model = load_model_spec(args.model)
    check_fits(model, x, args.model)
    entry = zoo.ENTRIES.get(args.model)
    if args.optimizer or args.lr is not None or model.optimizer is None:
        optimizer = optimizers.get(args.optimizer or (model.optimizer.get_config() if model.optimizer else "rmsprop"))
        if args.lr is not None:
            optimizer.learning_rate = args.lr
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    batch_size = args.batch_size or (entry.batch_size if entry else 32)
    extra, ranks, worker = [], 1, False
    if args.distributed:  # under mpiexec: this rank's part of the data, gradients averaged over ranks
        from . import distributed as dist
        dist.init()
        x, y = dist.shard(x, y, seed=args.seed)
        model.compile(optimizer=dist.DistributedOptimizer(model.optimizer), loss=model.loss,
                      metrics=[m.name for m in model.compiled_metrics])
        extra = [dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()]
        ranks, worker = dist.size(), dist.is_worker()  # fit keeps the workers quiet and their files unwritten
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    best = out / "best.weights.npz"
    cbs = [callbacks.ModelCheckpoint(str(best), monitor="val_loss", save_best_only=True, save_weights_only=True,
                                     verbose=1),
           callbacks.CSVLogger(str(out / "history.csv"))]
    cbs += extra
    if not worker:
        print(f"training {args.model} on {args.dataset}: {len(x) * ranks} images, {args.epochs} epochs, batch "
              f"{batch_size}" + (f" per rank x {ranks} ranks = {batch_size * ranks}" if ranks > 1 else ""))
    start = time.perf_counter()
    if args.augment:
        from .preprocessing.image import ImageDataGenerator
        cut = int(len(x) * (1 - args.validation_split))
        flips = x.shape[-1] == 3  # mirror colour photos; never digits
        generator = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=flips)
        history = model.fit(generator.flow(x[:cut], y[:cut], batch_size=batch_size, seed=args.seed),
                            epochs=args.epochs, validation_data=(x[cut:], y[cut:]), callbacks=cbs,
                            verbose=args.verbose)
    else:
        history = model.fit(x, y, batch_size=batch_size, epochs=args.epochs,
                            validation_split=args.validation_split, callbacks=cbs, verbose=args.verbose)
    seconds = time.perf_counter() - start
    if worker:
        return  # rank 0 evaluates and writes the results
    if best.exists():
        model.load_weights(best)
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    model.save(out / "model.npz")
    (out / "history.json").write_text(json.dumps(history.history, indent=1))
    (out / "classes.json").write_text(json.dumps(class_names))
    predictions = model.predict(xt[:32], verbose=0)
    plot.training_curves(history, path=out / "curves.png")
    plot.prediction_grid(xt[:32], yt[:32], predictions, class_names, path=out / "predictions.png")
    plot.confusion_matrix(yt, model.predict(xt, verbose=0), class_names, path=out / "confusion.png")
    print(f"trained in {seconds:.1f} s; wrote {out}/ (model.npz, best.weights.npz, history.csv, history.json, "
          "curves.png, predictions.png, confusion.png)")
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")


def cmd_evaluate(args) -> None:
    from .utils import to_categorical
    model = load_model_spec(args.model)
    if model.optimizer is None:
        raise UsageError(f"{args.model} was saved without compile settings; save it after model.compile")
    (_, _), (xt, yt), class_names = load_dataset(args.dataset)
    xt = prepare_images(xt)
    check_fits(model, xt, args.model)
    loss, accuracy = model.evaluate(xt, to_categorical(yt, len(class_names)), verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f} ({len(xt)} images)")


def read_image(path: Path, shape) -> np.ndarray:
    """One image file as float32 (H, W, C) in [0, 1], resized and converted to the model's
    input size and channels."""
    from .preprocessing.image import img_to_array, load_img
    height, width, channels = shape
    image = reading(path, lambda: load_img(path, color_mode="grayscale" if channels == 1 else "rgb",
                                           target_size=(height, width), interpolation="bilinear"), "image")
    return img_to_array(image) / 255.0


def cmd_predict(args) -> None:
    model = load_model_spec(args.model)
    classes_file = Path(args.model).with_name("classes.json")
    class_names = json.loads(classes_file.read_text()) if classes_file.exists() else None
    images = np.stack([read_image(Path(p), model.input_shape[1:]) for p in args.images])
    for path, probabilities in zip(args.images, model.predict(images, verbose=0)):
        k = int(np.argmax(probabilities))
        name = class_names[k] if class_names else str(k)
        print(f"{path}: {name} ({probabilities[k]:.3f})")


def cmd_summary(args) -> None:
    load_model_spec(args.model, compile=False).summary()


def cmd_profile(args) -> None:
    from .kernels import using
    # the tier chosen here is for this profile only (cli.main may run inside a program)
    with using(args.backend):
        model = load_model_spec(args.model, compile=False)
        x = np.random.default_rng(0).random((args.batch_size, *model.input_shape[1:]), dtype=np.float32)
        model.profile(x)


def cmd_export(args) -> None:
    model = load_model_spec(args.model, compile=False)
    model.export(args.out)
    print(f"wrote {args.out} (ONNX; NHWC float32 input of shape (N, {', '.join(map(str, model.input_shape[1:]))}))")


def widths(text: str) -> tuple:
    """An argparse type: three block widths, ``64,128,128``."""
    values = tuple(positive_int(part) for part in text.split(","))
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"needs three widths (one per block), e.g. 64,128,128; got {text}")
    return values


QUICK = {"epochs": 1, "batch_size": 64, "widths": (16, 32, 32)}  # --quick: a smoke run of the whole pipeline
QUICK_IMAGES = (512, 256)  # training and test images in --quick


def cmd_speedrun(args) -> None:
    from . import speedrun
    from .kernels.threads import set_num_threads
    if args.data_dir:
        os.environ["TINYCNN_DATA_DIR"] = args.data_dir
    if args.threads:
        set_num_threads(args.threads)
    began = time.perf_counter()   # end to end: loading counts too
    (x, y), (xt, yt), _ = load_dataset(args.data)
    loading = time.perf_counter() - began
    if x.shape[1:] != (32, 32, 3):
        raise UsageError(f"speedrun: needs 32x32 colour images (CIFAR-10), but {args.data} holds {x.shape[1:]}")
    options = {"seed": args.seed, "tricks_off": args.without}
    if args.quick:
        options.update(QUICK)
        x, y, xt, yt = x[:QUICK_IMAGES[0]], y[:QUICK_IMAGES[0]], xt[:QUICK_IMAGES[1]], yt[:QUICK_IMAGES[1]]
    for key in ("epochs", "batch_size", "widths"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    summary = speedrun.run(speedrun.Recipe(**options), ((x, y), (xt, yt)), verbose=args.verbose,
                           evaluate_every_epoch=args.curve, plot=args.plot)
    summary["seconds"], summary["load_seconds"] = round(summary["seconds"] + loading, 2), round(loading, 2)
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({key: summary[key] for key in ("test_accuracy", "seconds", "epochs", "threads")}))


def cmd_datasets(args) -> None:
    from .datasets import _files, mnist_sample
    print(f"cache: {_files.cache_root()}")
    for d in _files.data_dirs():
        print(f"data dir (TINYCNN_DATA_DIR): {d}")
    root = _files.cache_root()
    if root.exists() and not os.access(root, os.R_OK | os.X_OK):
        raise FileError(f"the cache folder {root} cannot be read (permissions); fix them, or set "
                        "TINYCNN_HOME to another folder")
    found = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    for p in found:
        print(f"  cached: {p}")
    if not found:
        print("  (nothing cached yet)")
    print(f"embedded: {mnist_sample.PATH} (6000 + 1000 MNIST images)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinycnn", description="Train and inspect small CNNs.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and write its results")
    train.add_argument("--model", default="seed004_mnist_cnn", help="zoo name, FILE.py with build_model(), or saved .npz")
    train.add_argument("--dataset", default="mnist_sample", help=f"{', '.join(DATASET_NAMES)}, FILE.npz or DIR")
    train.add_argument("--epochs", type=positive_int, default=3)
    train.add_argument("--batch-size", type=positive_int, default=None, help="default: the model's notebook value")
    train.add_argument("--optimizer", default=None, help="sgd, rmsprop, adam, adamax, adagrad, adadelta")
    train.add_argument("--lr", type=non_negative_float, default=None, help="learning rate")
    train.add_argument("--augment", action="store_true", help="random shifts (and flips for colour images)")
    train.add_argument("--validation-split", type=fraction, default=0.1)
    train.add_argument("--out", default="runs/latest", help="output folder")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over MPI ranks: run as mpiexec -n N tinycnn train --distributed")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved model")
    evaluate.add_argument("model", help="saved model .npz (e.g. runs/latest/model.npz)")
    evaluate.add_argument("--dataset", default="mnist_sample")
    evaluate.set_defaults(run=cmd_evaluate)

    predict = commands.add_parser("predict", help="classify image files")
    predict.add_argument("images", nargs="+", help="PNG or JPEG files")
    predict.add_argument("--model", default="runs/latest/model.npz", help="saved model .npz")
    predict.set_defaults(run=cmd_predict)

    summary = commands.add_parser("summary", help="print a model's layer table")
    summary.add_argument("model", help="zoo name, FILE.py or saved .npz")
    summary.set_defaults(run=cmd_summary)

    profile = commands.add_parser("profile", help="per-layer FLOPs and timings of one training step")
    profile.add_argument("model", help="zoo name, FILE.py or saved .npz")
    profile.add_argument("--batch-size", type=positive_int, default=32)
    profile.add_argument("--backend", default=None, help="kernel tier: reference, numpy, numba")
    profile.set_defaults(run=cmd_profile)

    export = commands.add_parser("export", help="write a model as an ONNX file, for onnxruntime and others")
    export.add_argument("model", help="zoo name, FILE.py or saved model file")
    export.add_argument("out", help="the .onnx file to write")
    export.set_defaults(run=cmd_export)

    speed = commands.add_parser("speedrun", help="train CIFAR-10 to about 90 %% fast (airbench's recipe)")
    speed.add_argument("--epochs", type=positive_int, default=None, help="default 10")
    speed.add_argument("--widths", type=widths, default=None, help="channels of the three blocks, default 64,128,128")
    speed.add_argument("--batch-size", type=positive_int, default=None, help="default 256")
    speed.add_argument("--seed", type=int, default=0)
    speed.add_argument("--data", default="cifar10", help="cifar10 (the stand-in or the real one) or FILE.npz")
    speed.add_argument("--data-dir", default=None, help="where cifar10's files are (sets TINYCNN_DATA_DIR)")
    speed.add_argument("--without", type=lambda t: [w for w in t.split(",") if w], default=[],
                       help="tricks to leave out, comma-separated (the ablation)")
    speed.add_argument("--quick", action="store_true",
                       help=f"{QUICK_IMAGES[0]} training images, one epoch, narrow blocks: a smoke test")
    speed.add_argument("--curve", action="store_true", help="test accuracy after every epoch (not timed)")
    speed.add_argument("--plot", default=None, help="PNG file for the accuracy and loss curves (with --curve)")
    speed.add_argument("--out", default=None, help="JSON file for the whole summary (recipe, curve)")
    speed.add_argument("--threads", type=positive_int, default=None)
    speed.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    speed.set_defaults(run=cmd_speedrun)

    datasets = commands.add_parser("datasets", help="where datasets are cached and found")
    datasets.set_defaults(run=cmd_datasets)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (FileError, FileNotFoundError, OSError) as err:
        print(f"tinycnn: error: {err}", file=sys.stderr)
        return 1
    except (UsageError, ValueError, KeyError, TypeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"tinycnn: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
