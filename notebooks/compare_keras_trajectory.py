"""Step-by-step check that tinycnn and Keras 3 follow the same training trajectory on "deep_sgd".

notebooks/RESULTS.md (section 04) has tinycnn and Keras 3 ending 3 epochs of the deep_sgd
recipe at different accuracies, but the two runs differed in initial weights, shuffling and
dropout masks, and the parity tests only follow 3 steps. This script removes all randomness
and follows hundreds of steps: both engines start from the same (Keras-drawn) weights and
take the same batches of real CIFAR-10 images in the same order, with every Dropout rate
set to 0.0 (dropout masks are random and cannot be shared between the two engines; with
rate 0 the layers are the identity and training is deterministic). Everything else is the
recipe: SGD momentum 0.9, lr 0.01 with Keras 2's per-batch decay 0.01/25, batch 32,
categorical cross-entropy, MaxNorm(3) on the two hidden Dense kernels.

It runs in two phases, each in its own environment (tinycnn is never imported by the first):

    /work/kerasenv/bin/python notebooks/compare_keras_trajectory.py keras --steps 300
    /work/venv/bin/python notebooks/compare_keras_trajectory.py tinycnn

The keras phase trains twice: the run itself, and a control that starts from the same
weights nudged by about one float32 rounding step (relative 1e-7). Such tiny differences
grow quickly in this network (after 20 steps the control's first-layer biases already
differ by ~10%), so the control is the yardstick for what rounding alone does. It writes
the scratch file ``notebooks/_trajectory_keras.npz`` (initial weights, per-step losses and
final weights of both runs; safe to delete, not meant to be committed), which the tinycnn
phase reads. The tinycnn phase prints the loss of both engines at a few steps with the
relative difference of tinycnn and of the control from Keras, the largest relative loss
difference over the first 10 / 100 / all steps, the relative difference of the final
weights (worst array), and a one-line verdict: SAME TRAJECTORY when tinycnn matches Keras
to 1e-5 over the first 10 steps and stays within 10x of the control's differences; a wrong
gradient, update or schedule shows up as a difference far above the control.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from run_keras import data_file  # this folder is on sys.path when the script runs

HERE = Path(__file__).resolve().parent
SCRATCH = HERE / "_trajectory_keras.npz"
PARAMS = 2_915_114
BATCH = 32


def load_batches(steps: int):
    """The first steps*32 training images, in file order, as (x float32 /255, y one-hot) batches."""
    with np.load(data_file()) as d:
        x = d["x_train"][:steps * BATCH].astype("float32") / 255
        y = np.eye(10, dtype="float32")[d["y_train"][:steps * BATCH]]
    if len(x) < steps * BATCH:
        raise SystemExit(f"only {len(x)} training images: too few for {steps} steps")
    return [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, steps * BATCH, BATCH)]


def add_layers(model, layers, max_norm, **first):
    """The deep_sgd stack (tinycnn/zoo.py seed002_cifar10_deep) with every Dropout at 0.0;
    ``first``: extra keywords of the first layer (tinycnn's input_shape)."""
    def conv(filters, **kw):
        return layers.Conv2D(filters, (3, 3), activation="relu", padding="same", **kw)

    stack = [conv(32, **first), layers.Dropout(0.0), conv(32), layers.MaxPooling2D((2, 2)),
             conv(64), layers.Dropout(0.0), conv(64), layers.MaxPooling2D((2, 2)),
             conv(128), layers.Dropout(0.0), conv(128), layers.MaxPooling2D((2, 2)),
             layers.Flatten(), layers.Dropout(0.0),
             layers.Dense(1024, activation="relu", kernel_constraint=max_norm(3)), layers.Dropout(0.0),
             layers.Dense(512, activation="relu", kernel_constraint=max_norm(3)), layers.Dropout(0.0),
             layers.Dense(10, activation="softmax")]
    for layer in stack:
        model.add(layer)
    print("parameters:", model.count_params())
    assert model.count_params() == PARAMS, model.count_params()
    return model


def run_keras(args) -> None:
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)  # before the first op
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    keras.utils.set_random_seed(0)
    batches = load_batches(args.steps)

    def train(weights=None):
        model = keras.Sequential([keras.Input(shape=(32, 32, 3))])
        add_layers(model, keras.layers, keras.constraints.MaxNorm)
        if weights is not None:
            model.set_weights(weights)
        # Keras 2's per-batch decay=0.01/25: lr_t = 0.01 / (1 + 0.0004 * iterations).
        lr = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=0.01 / 25)
        model.compile(loss="categorical_crossentropy",
                      optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=False))
        initial = model.get_weights()
        losses = [float(model.train_on_batch(x, y)) for x, y in batches]
        print(f"{args.steps} steps, last loss {losses[-1]:.4f}", flush=True)
        return initial, np.array(losses), model.get_weights()

    initial, losses, final = train()
    # The control: the same run from weights nudged by about one float32 rounding step.
    rng = np.random.default_rng(0)
    nudged = [w * (1 + 1e-7 * rng.standard_normal(w.shape)).astype("float32") for w in initial]
    _, control_losses, control_final = train(nudged)
    np.savez(SCRATCH, loss=losses, control_loss=control_losses,
             engine=f"keras {keras.__version__} / tensorflow {tf.__version__}",
             **{f"w{i}": w for i, w in enumerate(initial)},
             **{f"final{i}": w for i, w in enumerate(final)},
             **{f"control{i}": w for i, w in enumerate(control_final)})
    print("wrote", SCRATCH)


def run_tinycnn(args) -> None:
    import tinycnn
    from tinycnn import layers
    from tinycnn.constraints import maxnorm
    from tinycnn.models import Sequential
    from tinycnn.optimizers import SGD
    tinycnn.set_num_threads(args.threads)

    if not SCRATCH.is_file():
        raise SystemExit(f"{SCRATCH} not found: run the keras phase first")
    with np.load(SCRATCH) as d:
        keras_loss, control_loss, engine = d["loss"], d["control_loss"], str(d["engine"])
        count = sum(1 for k in d.files if k.startswith("final"))
        initial, keras_final, control_final = ([d[f"{key}{i}"] for i in range(count)]
                                               for key in ("w", "final", "control"))
    steps = len(keras_loss)
    batches = load_batches(steps)

    model = add_layers(Sequential(), layers, maxnorm, input_shape=(32, 32, 3))
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [w.shape for w in initial], (shapes, [w.shape for w in initial])
    model.set_weights(initial)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), initial))
    model.compile(loss="categorical_crossentropy",
                  optimizer=SGD(lr=0.01, momentum=0.9, decay=0.01 / 25, nesterov=False))
    tiny_loss = np.array([float(model.train_on_batch(x, y)) for x, y in batches])

    def weight_diff(weights):  # max over arrays of ||w - w_keras|| / ||w_keras||
        return max(np.linalg.norm(w - k) / np.linalg.norm(k) for w, k in zip(weights, keras_final))

    rel = np.abs(tiny_loss - keras_loss) / np.abs(keras_loss)
    ctrl = np.abs(control_loss - keras_loss) / np.abs(keras_loss)
    tiny_w, ctrl_w = weight_diff(model.get_weights()), weight_diff(control_final)
    print(f"\n{steps} steps of deep_sgd, dropout 0.0, same initial weights and batches; "
          f"{engine}; tinycnn {tinycnn.__version__}")
    print("rel diff: |loss - keras loss| / keras loss; control: Keras again from the initial "
          "weights nudged by ~1 float32 rounding step")
    print(f"{'step':>6} {'keras loss':>11} {'tinycnn loss':>13} {'rel diff':>9} {'control':>9}")
    for s in sorted({s for s in [1, 10, 50, *range(100, steps, 100), steps] if s <= steps}):
        i = s - 1
        print(f"{s:>6} {keras_loss[i]:>11.6f} {tiny_loss[i]:>13.6f} {rel[i]:>9.2e} {ctrl[i]:>9.2e}")
    for n in sorted({min(n, steps) for n in (10, 100, steps)}):
        print(f"largest rel loss diff, first {n:>3} steps: tinycnn {rel[:n].max():.2e}, "
              f"control {ctrl[:n].max():.2e}")
    print(f"final weights, max over arrays of ||w - w_keras|| / ||w_keras||: tinycnn {tiny_w:.2e}, "
          f"control {ctrl_w:.2e}")

    # Rounding differences grow chaotically; the control shows how far they alone carry Keras.
    within = rel.max() <= 10 * max(ctrl.max(), 1e-6) and tiny_w <= 10 * max(ctrl_w, 1e-6)
    if rel[:10].max() < 1e-5 and within:
        print("VERDICT: SAME TRAJECTORY - tinycnn stays as close to Keras as Keras stays to itself "
              "under a float32 rounding nudge (within 10x of the control)")
    else:
        print("VERDICT: MISMATCH - tinycnn departs from Keras more than float32 rounding explains; "
              "look at the first steps where the rel diff exceeds the control")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=["keras", "tinycnn"])
    parser.add_argument("--steps", type=int, default=300, help="training steps (keras phase; default 300)")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (default 1)")
    args = parser.parse_args()
    run_keras(args) if args.phase == "keras" else run_tinycnn(args)


if __name__ == "__main__":
    main()
