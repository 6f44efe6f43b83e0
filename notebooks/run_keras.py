"""Train a CIFAR-10 recipe of the notebooks in real Keras 3, as a yardstick for tinycnn.

notebooks/RESULTS.md compares tinycnn's runs of the recipes (``python notebooks/run_full.py``)
with what Keras itself reaches on the same data file. This script is the Keras side, for two
recipes, each model written layer for layer as in its notebook, with the same optimizer,
batch size, epochs and validation data, on the TensorFlow CPU backend:

* ``deep_sgd`` (notebook 04): validation on the 10,000 test images;
* ``small_cnn`` (notebook 05): RMSprop with Keras's defaults, the first 5,000 training
  images held out for validation, training on the other 45,000;
* ``model_1`` (notebook 03): RMSprop(0.0005) with Keras 2's per-batch ``decay=1e-6``
  (``InverseTimeDecay(0.0005, 1, 1e-6)``), 15 epochs, validation on the 10,000 test images.

It does not use tinycnn and runs in its own environment:

    /work/kerasenv/bin/python notebooks/run_keras.py                        # deep_sgd, 3 epochs
    /work/kerasenv/bin/python notebooks/run_keras.py --recipe small_cnn --epochs 30
    /work/kerasenv/bin/python notebooks/run_keras.py --recipe model_1 [--keras2]   # --keras2: tf_keras, legacy decay
    /work/kerasenv/bin/python notebooks/run_keras.py --epochs 1 --seed 1 --threads 2
    /work/kerasenv/bin/python notebooks/run_keras.py --epochs 1 --train-images 2000 --test-images 1000

A full run (all 50,000 training and 10,000 test images) appends one JSON line to
``keras_runs.jsonl`` next to this file; a run on a subset (``--train-images`` or
``--test-images``) only prints that line.

The classic notebook used Keras 2's ``SGD(lr=0.01, momentum=0.9, decay=0.01/25)``. Keras 2
applied ``decay`` after every batch, lr_t = 0.01 / (1 + 0.0004 * t) with t the number of
batches seen; Keras 3 has no ``decay`` argument, so the same schedule is given as
``InverseTimeDecay(0.01, decay_steps=1, decay_rate=0.0004)``.

Data: ``cifar10-jpeg75/cifar10_jpeg75.npz`` (the JPEG-75 CIFAR-10 stand-in) under
``$TINYCNN_DATA_DIR`` when set, else under ``shared/datasets`` beside or above the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LOG = HERE / "keras_runs.jsonl"
PARAMS = {"deep_sgd": 2_915_114, "small_cnn": 528_054, "model_1": 181_162}


def data_file() -> Path:
    if os.environ.get("TINYCNN_DATA_DIR"):
        roots = [Path(os.environ["TINYCNN_DATA_DIR"])]
    else:
        roots = [HERE.parent / "shared" / "datasets", HERE.parent.parent / "shared" / "datasets"]
    for root in roots:
        path = root / "cifar10-jpeg75" / "cifar10_jpeg75.npz"
        if path.is_file():
            return path
    raise SystemExit(f"cifar10_jpeg75.npz not found under {', '.join(map(str, roots))}")


def build_model(keras, recipe):
    layers, MaxNorm = keras.layers, keras.constraints.MaxNorm

    if recipe == "model_1":  # tinycnn.zoo.seed001_model1, 181,162 parameters
        return keras.Sequential([
            keras.Input(shape=(32, 32, 3)),
            layers.Conv2D(32, (5, 5), strides=(2, 2), padding="same"), layers.Activation("relu"),
            layers.Conv2D(32, (5, 5), strides=(2, 2)), layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)), layers.Dropout(0.25), layers.Flatten(),
            layers.Dense(512), layers.Activation("relu"), layers.Dropout(0.5),
            layers.Dense(10), layers.Activation("softmax"),
        ])
    if recipe == "small_cnn":  # tinycnn.zoo.seed003_cifar10_small, 528,054 parameters
        def conv(filters):
            return layers.Conv2D(filters, 2, padding="same", activation="relu")

        return keras.Sequential([
            keras.Input(shape=(32, 32, 3)),
            conv(16), layers.MaxPooling2D(2), conv(32), layers.MaxPooling2D(2),
            conv(64), layers.MaxPooling2D(2), layers.Dropout(0.3), layers.Flatten(),
            layers.Dense(500, activation="relu"), layers.Dropout(0.4),
            layers.Dense(10, activation="softmax"),
        ])

    def conv(filters):
        return layers.Conv2D(filters, (3, 3), activation="relu", padding="same")

    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        conv(32), layers.Dropout(0.2), conv(32), layers.MaxPooling2D((2, 2)),
        conv(64), layers.Dropout(0.2), conv(64), layers.MaxPooling2D((2, 2)),
        conv(128), layers.Dropout(0.2), conv(128), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dropout(0.2),
        layers.Dense(1024, activation="relu", kernel_constraint=MaxNorm(3)), layers.Dropout(0.2),
        layers.Dense(512, activation="relu", kernel_constraint=MaxNorm(3)), layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=sorted(PARAMS), default="deep_sgd")
    parser.add_argument("--epochs", type=int, help="default: 3 for deep_sgd, 100 for small_cnn, 15 for model_1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keras2", action="store_true",
                        help="run in tf_keras (Keras 2) with its legacy optimizers' own decay argument")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads")
    parser.add_argument("--train-images", type=int, help="use only the first N training images (not recorded)")
    parser.add_argument("--test-images", type=int, help="use only the first N test images (not recorded)")
    args = parser.parse_args()

    import tensorflow as tf
    # Thread pools can only be sized before TensorFlow runs its first op.
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.keras2:
        import tf_keras as keras
    else:
        import keras
    keras.utils.set_random_seed(args.seed)

    with np.load(data_file()) as d:  # uint8 NHWC images, uint8 labels 0..9
        x, y = d["x_train"][:args.train_images], d["y_train"][:args.train_images]
        xt, yt = d["x_test"][:args.test_images], d["y_test"][:args.test_images]
    x, xt = x.astype("float32") / 255, xt.astype("float32") / 255
    y, yt = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(yt, 10)
    epochs = args.epochs or {"deep_sgd": 3, "small_cnn": 100, "model_1": 15}[args.recipe]
    legacy = keras.optimizers.legacy if args.keras2 else None  # Keras 2's optimizers, with `decay`
    if args.recipe == "small_cnn":
        (x, y), validation = (x[5000:], y[5000:]), (x[:5000], y[:5000])
        optimizer = keras.optimizers.RMSprop()
    elif args.recipe == "model_1":
        validation = (xt, yt)
        lr = keras.optimizers.schedules.InverseTimeDecay(0.0005, decay_steps=1, decay_rate=1e-6)
        optimizer = legacy.RMSprop(learning_rate=0.0005, decay=1e-6) if legacy else \
            keras.optimizers.RMSprop(learning_rate=lr)
    elif legacy:
        validation = (xt, yt)
        optimizer = legacy.SGD(learning_rate=0.01, momentum=0.9, decay=0.01 / 25)
    else:
        validation = (xt, yt)
        # Keras 2's per-batch legacy decay=0.01/25: lr_t = 0.01 / (1 + 0.0004 * iterations).
        lr = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=0.01 / 25)
        optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=False)

    model = build_model(keras, args.recipe)
    print("parameters:", model.count_params())
    assert model.count_params() == PARAMS[args.recipe], model.count_params()
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"], optimizer=optimizer)

    epoch_seconds = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.append(time.perf_counter() - epoch_seconds.pop()))

    load_start, start = os.getloadavg()[0], time.perf_counter()
    history = model.fit(x, y, validation_data=validation, epochs=epochs, batch_size=32,
                        shuffle=True, callbacks=[timer], verbose=2).history
    seconds = time.perf_counter() - start

    def rounded(values):
        return [round(float(v), 4) for v in values]

    record = {
        "recipe": args.recipe, "engine": f"{'tf_keras' if args.keras2 else 'keras'} {keras.__version__} / tensorflow {tf.__version__}",
        "dataset": "cifar10 (JPEG-75 stand-in)", "params": model.count_params(),
        "train_images": len(x), "test_images": len(xt), "epochs_run": len(history["loss"]),
        "batch_size": 32, "seed": args.seed, "threads": args.threads,
        "seconds": round(seconds, 1), "seconds_per_epoch": [round(s, 1) for s in epoch_seconds],
        "val_accuracy_per_epoch": rounded(history["val_accuracy"]),
        "train_accuracy_per_epoch": rounded(history["accuracy"]),
        "val_loss_per_epoch": rounded(history["val_loss"]),
        "train_loss_per_epoch": rounded(history["loss"]),
        "final_val_accuracy": rounded(history["val_accuracy"])[-1],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": round(load_start, 2), "load_average_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    line = json.dumps(record)
    print(line)
    if args.train_images is None and args.test_images is None:
        with LOG.open("a") as f:
            f.write(line + "\n")
        print("appended to", LOG)
    else:
        print("subset run: not recorded")


if __name__ == "__main__":
    main()
