"""Write the golden files that hold tinycnn to real Keras's numbers.

Run by hand, from the repository root, with the Python environment that has Keras 3,
TensorFlow and tf_keras (Keras 2) installed (tinycnn is *not* imported here)::

    /work/kerasenv/bin/python tests/reference/make_keras_golden.py

It rewrites everything under ``tests/reference/golden/``; golden files change only by
re-running this script. ``tests/parity/test_keras_parity.py`` reads them without Keras.

Every input, weight and gradient sequence comes from a fixed seed and is set into Keras
with ``set_weights`` / ``assign``: no Keras random draw is ever compared. Every ``.npz``
file holds ``__meta__``, a JSON string with the Keras, TensorFlow, tf_keras, NumPy and h5py
versions and a description of each case; arrays are float32 (labels int64, sample
indices int64).

Whole-model initial weights come from ``hash_uniform`` (splitmix64 of the element index
and a per-weight seed, mapped to ``[-limit, limit]`` with exactly rounded float64
arithmetic), which the tests recompute bit for bit instead of reading 33 MB of initial
weights from disk; each file stores the float64 sums of the weights it set, which the tests
check first. For the same reason, weight arrays above ``SAMPLE_ABOVE`` elements are stored
after training as a fixed sample of ``SAMPLE_COUNT`` entries plus whole-array aggregates,
and the predictions after training check every weight at once.

``--only make_functional`` (any ``make_*`` step's name) rewrites that step's files only.

Second mode, the other direction (tinycnn writes, Keras reads)::

    /work/venv/bin/python tests/parity/test_keras_parity.py --write-for-keras DIR
    /work/kerasenv/bin/python tests/reference/make_keras_golden.py --verify-tinycnn DIR

loads each tinycnn-written ``.weights.h5`` into the same architecture in Keras 3 and checks
Keras's predictions against tinycnn's.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deterministic import hash_uniform, splitmix64  # noqa: E402
from functional_models import resnet_block_model  # noqa: E402

tf.config.experimental.enable_op_determinism()
tf.get_logger().setLevel("ERROR")

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
SAMPLE_ABOVE = 16384
SAMPLE_COUNT = 8192


def versions() -> dict:
    return {"keras": keras.__version__, "tensorflow": tf.__version__,
            "tf_keras": tf_keras.__version__, "numpy": np.__version__, "h5py": h5py.__version__,
            "generator": "tests/reference/make_keras_golden.py"}


def f32(a):
    return np.asarray(a, dtype=np.float32)


def save(name: str, arrays: dict, meta: dict) -> None:
    payload = {"__meta__": np.array(json.dumps({"versions": versions(), **meta}))}
    for key, value in arrays.items():
        value = np.asarray(value)
        payload[key] = value.astype(np.float32) if value.dtype.kind == "f" else value.astype(np.int64)
    np.savez_compressed(os.path.join(GOLDEN, name), **payload)


# ----- deterministic weights shared with the tests (tests/reference/deterministic.py) ----
def hash_indices(size: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct flat indices below ``size``, sorted (same rule as the tests)."""
    candidates = (splitmix64(4 * count, seed) % np.uint64(size)).astype(np.int64)
    _, first = np.unique(candidates, return_index=True)
    return np.sort(candidates[np.sort(first)[:count]])


def init_limits(shapes, scales=None):
    """Per weight: glorot limit for kernels (2-D or 4-D), 0.05 for vectors."""
    limits = []
    for i, shape in enumerate(shapes):
        if len(shape) == 4:
            fan_in, fan_out = shape[0] * shape[1] * shape[2], shape[0] * shape[1] * shape[3]
            limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
        elif len(shape) == 2:
            limit = float(np.sqrt(6.0 / (shape[0] + shape[1])))
        else:
            limit = 0.05
        limits.append(limit * (scales or {}).get(i, 1.0))
    return limits


# ----- layers: Conv2D --------------------------------------------------------------------
def grads_of(fn, x, weights, r):
    """Outputs of fn(x) and the gradients of sum(fn(x) * r) w.r.t. x and each weight."""
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = fn(x)
        loss = tf.reduce_sum(y * tf.constant(r))
    grads = tape.gradient(loss, [x] + list(weights))
    return y.numpy(), [None if g is None else g.numpy() for g in grads]


def conv_cases():
    kernels, cins, sizes = (1, 2, 3, 4, 5), (1, 3, 16), (27, 28, 31, 32)
    cases, i = [], 0
    for padding in ("valid", "same"):
        for stride in (1, 2, 3):
            for size in sizes:
                k = kernels[i % 5]
                cases.append(dict(kernel=[k, k], strides=[stride, stride], padding=padding,
                                  size=[size, size], cin=cins[i % 3], bias=i % 2 == 0))
                i += 1
    cases += [dict(kernel=[3, 5], strides=[1, 2], padding="same", size=[28, 31], cin=3, bias=True),
              dict(kernel=[2, 4], strides=[2, 3], padding="valid", size=[31, 27], cin=1, bias=False),
              dict(kernel=[5, 5], strides=[3, 3], padding="same", size=[27, 27], cin=16, bias=True),
              dict(kernel=[4, 4], strides=[2, 2], padding="same", size=[32, 32], cin=3, bias=False)]
    for axis, values in (("kernel", kernels), ("cin", cins), ("size", sizes)):
        seen = {c[axis][0] if isinstance(c[axis], list) else c[axis] for c in cases}
        assert set(values) <= seen, (axis, seen)
    for padding in ("same",):
        for stride in (2, 3):
            parities = {c["size"][0] % 2 for c in cases if c["padding"] == padding and c["strides"][0] == stride}
            assert parities == {0, 1}
    return cases


def make_conv():
    rng = np.random.default_rng(20240101)
    arrays, cases = {}, conv_cases()
    filters = 3
    for i, c in enumerate(cases):
        batch = 1 if c["cin"] == 16 else 2
        x = f32(rng.standard_normal((batch, *c["size"], c["cin"])))
        layer = keras.layers.Conv2D(filters, c["kernel"], strides=c["strides"], padding=c["padding"],
                                    use_bias=c["bias"])
        layer.build(x.shape)
        w = f32(rng.uniform(-0.5, 0.5, (*c["kernel"], c["cin"], filters)))
        weights = [w] + ([f32(rng.standard_normal(filters) * 0.1)] if c["bias"] else [])
        layer.set_weights(weights)
        out_shape = layer.compute_output_shape(x.shape)
        r = f32(rng.standard_normal(out_shape))
        y, grads = grads_of(layer, x, layer.trainable_weights, r)
        p = f"c{i}/"
        arrays.update({p + "x": x, p + "kernel": w, p + "r": r, p + "y": y, p + "dx": grads[0],
                       p + "dkernel": grads[1]})
        if c["bias"]:
            arrays.update({p + "bias": weights[1], p + "dbias": grads[2]})
    save("conv2d.npz", arrays, {"what": "Conv2D outputs and gradients of sum(y * r) w.r.t. x, "
                                        "kernel and bias", "filters": filters, "cases": cases})


# ----- layers: pooling ---------------------------------------------------------------------
def make_pooling():
    rng = np.random.default_rng(20240102)
    arrays, cases = {}, []
    for kind in ("max", "avg"):
        for padding in ("valid", "same"):
            for pool in (2, 3):
                for stride in (1, 2, 3):
                    cases.append(dict(kind=kind, pool=[pool, pool], strides=[stride, stride],
                                      padding=padding, shape=[2, 9, 10, 3], ties=False))
        cases.append(dict(kind=kind, pool=[2, 2], strides=None, padding="valid", shape=[2, 11, 8, 2], ties=False))
        cases.append(dict(kind=kind, pool=[3, 2], strides=[2, 1], padding="same", shape=[1, 8, 7, 2], ties=False))
    cases.append(dict(kind="max", pool=[3, 3], strides=[1, 1], padding="same", shape=[2, 6, 7, 2], ties=True))
    cases.append(dict(kind="max", pool=[2, 2], strides=[2, 2], padding="valid", shape=[2, 6, 6, 2], ties=True))
    for i, c in enumerate(cases):
        if c["ties"]:  # small integers: many tied maxima inside one window
            x = f32(rng.integers(-2, 2, c["shape"]))
        else:
            x = f32(rng.standard_normal(c["shape"]) - 0.5)  # mostly negative: padding must not win
        cls = keras.layers.MaxPooling2D if c["kind"] == "max" else keras.layers.AveragePooling2D
        layer = cls(pool_size=c["pool"], strides=c["strides"], padding=c["padding"])
        r = f32(rng.standard_normal(layer.compute_output_shape(x.shape)))
        y, grads = grads_of(layer, x, [], r)
        arrays.update({f"c{i}/x": x, f"c{i}/r": r, f"c{i}/y": y, f"c{i}/dx": grads[0]})
    save("pooling.npz", arrays, {"what": "MaxPooling2D / AveragePooling2D outputs and gradients of "
                                         "sum(y * r) w.r.t. x", "cases": cases})


# ----- layers: core and normalisation ----------------------------------------------------------
def make_core():
    rng = np.random.default_rng(20240103)
    arrays, cases = {}, []

    def record(name, fn, x, weights, extra=None, kind=None, **info):
        out = fn(tf.constant(x)) if not weights else None
        r = f32(rng.standard_normal(np.shape(out) if out is not None else info.pop("out_shape")))
        y, grads = grads_of(fn, x, weights, r)
        arrays.update({f"{name}/x": x, f"{name}/r": r, f"{name}/y": y, f"{name}/dx": grads[0]})
        for j, g in enumerate(grads[1:]):
            arrays[f"{name}/dw{j}"] = g
        arrays.update({f"{name}/{k}": v for k, v in (extra or {}).items()})
        cases.append(dict(name=name, kind=kind or name, **info))

    for use_bias in (True, False):
        layer = keras.layers.Dense(5, use_bias=use_bias)
        x = f32(rng.standard_normal((4, 7)))
        layer.build(x.shape)
        ws = [f32(rng.uniform(-0.6, 0.6, (7, 5)))] + ([f32(rng.standard_normal(5) * 0.1)] if use_bias else [])
        layer.set_weights(ws)
        record(f"dense_bias{int(use_bias)}", layer, x, layer.trainable_weights,
               extra={f"w{j}": w for j, w in enumerate(ws)}, kind="dense", use_bias=use_bias,
               out_shape=(4, 5))

    layer = keras.layers.Dense(5)                     # Dense on a 3-D input: the last axis
    x = f32(rng.standard_normal((2, 3, 7)))
    layer.build(x.shape)
    ws = [f32(rng.uniform(-0.6, 0.6, (7, 5))), f32(rng.standard_normal(5) * 0.1)]
    layer.set_weights(ws)
    record("dense_3d", layer, x, layer.trainable_weights, extra={"w0": ws[0], "w1": ws[1]},
           kind="dense", use_bias=True, out_shape=(2, 3, 5))

    for act in ("relu", "softmax", "sigmoid", "tanh", "gelu"):
        x = f32(rng.standard_normal((4, 6)) * 3)
        x[0, :3] = 0.0                          # relu's kink: gradient 0 at exactly 0
        x[1, 0], x[1, 1] = 30.0, -30.0          # saturation
        record(f"activation_{act}", keras.layers.Activation(act), x, [], kind="activation",
               activation=act)

    x = f32(rng.standard_normal((4, 6)) * 4)
    x[0, :2] = 0.0
    record("relu_layer", keras.layers.ReLU(max_value=6.0, negative_slope=0.1), x, [], kind="relu_layer",
           max_value=6.0, negative_slope=0.1)

    record("rescaling", keras.layers.Rescaling(1 / 9, offset=0.25), f32(rng.standard_normal((3, 4, 2))), [],
           kind="rescaling", scale=1 / 9, offset=0.25)

    flatten_x = f32(rng.standard_normal((2, 3, 4, 5)))
    record("flatten", keras.layers.Flatten(), flatten_x, [], kind="flatten")
    dense = keras.layers.Dense(4)
    dense.build((2, 60))
    ws = [f32(rng.uniform(-0.3, 0.3, (60, 4))), f32(rng.standard_normal(4) * 0.1)]
    dense.set_weights(ws)
    flat = keras.layers.Flatten()
    record("flatten_dense", lambda t: dense(flat(t)), flatten_x, dense.trainable_weights,
           extra={"w0": ws[0], "w1": ws[1]}, kind="flatten_dense", out_shape=(2, 4))

    record("global_average_pooling", keras.layers.GlobalAveragePooling2D(),
           f32(rng.standard_normal((2, 5, 6, 3))), [], kind="global_average_pooling")

    record("global_max_pooling", keras.layers.GlobalMaxPooling2D(),
           f32(rng.standard_normal((2, 5, 6, 3)) - 1), [], kind="global_max_pooling")

    x = f32(rng.standard_normal((3, 4, 5)))
    record("dropout_inference", lambda t: keras.layers.Dropout(0.5)(t, training=False), x, [],
           kind="dropout_inference", rate=0.5)

    bn_cases = [dict(shape=[6, 4, 4, 3], momentum=0.99, epsilon=1e-3, center=True, scale=True),
                dict(shape=[16, 5], momentum=0.9, epsilon=1e-5, center=True, scale=True),
                # the speedrun's: no gamma, a fast-moving average, a tiny epsilon
                dict(shape=[8, 3, 3, 4], momentum=0.6, epsilon=1e-12, center=True, scale=False),
                dict(shape=[8, 3, 3, 4], momentum=0.9, epsilon=1e-3, center=False, scale=True)]
    for j, c in enumerate(bn_cases):
        channels = c["shape"][-1]
        x = f32(rng.standard_normal(c["shape"]) * 2 + 1)
        start = {"gamma": f32(rng.uniform(0.5, 1.5, channels)), "beta": f32(rng.standard_normal(channels) * 0.2),
                 "moving_mean": f32(rng.standard_normal(channels) * 0.5),
                 "moving_variance": f32(rng.uniform(0.5, 2.0, channels))}
        if not c["scale"]:
            del start["gamma"]
        if not c["center"]:
            del start["beta"]
        for training in (True, False):
            layer = keras.layers.BatchNormalization(**{k: v for k, v in c.items() if k != "shape"})
            layer.build(x.shape)
            layer.set_weights(list(start.values()))
            name = f"batchnorm{j}_{'train' if training else 'infer'}"
            record(name, lambda t, layer=layer, training=training: layer(t, training=training),
                   x, layer.trainable_weights, extra=start,
                   kind="batchnorm", training=training, out_shape=tuple(c["shape"]), **c)
            after = layer.get_weights()
            arrays[f"{name}/moving_mean_after"] = after[-2]
            arrays[f"{name}/moving_variance_after"] = after[-1]
    save("core.npz", arrays, {"what": "Dense, Activation, Flatten, GlobalAveragePooling2D, Dropout "
                                      "(inference), BatchNormalization: outputs y, gradients of sum(y * r) "
                                      "w.r.t. x (dx) and the trainable weights in Keras order (dw0, dw1...); "
                                      "batchnorm moving statistics after one call (one call in training "
                                      "mode updates them once)", "cases": cases})


# ----- losses ----------------------------------------------------------------------------------
def make_losses():
    rng = np.random.default_rng(20240104)
    arrays, cases = {}, []
    n, k = 8, 5

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    labels = rng.integers(0, k, n)
    onehot = f32(np.eye(k)[labels])
    soft = f32(rng.dirichlet(np.ones(k), n))
    probs = f32(softmax(rng.standard_normal((n, k)) * 2))
    saturated = probs.copy()
    saturated[0] = 0.0
    saturated[0, labels[0]] = 1.0                          # exactly right, p = 1
    saturated[1] = 0.25
    saturated[1, labels[1]] = 0.0                          # exactly wrong, p = 0
    saturated[2, labels[2]] = 1e-9                         # below the clip
    saturated[3] = 1e-9
    saturated[3, labels[3]] = 1.0 - 4e-9
    unnormalised = f32(rng.uniform(0.05, 2.0, (n, k)))
    logits = f32(rng.standard_normal((n, k)) * 3)
    extreme_logits = logits.copy()
    extreme_logits[0, labels[0]] = 60.0
    extreme_logits[1, labels[1]] = -60.0
    bin_true = f32(rng.integers(0, 2, (n, 3)))
    bin_probs = f32(rng.uniform(0.02, 0.98, (n, 3)))
    bin_saturated = bin_probs.copy()
    bin_saturated[0] = [0.0, 1.0, 1e-9]
    bin_saturated[1] = [1.0, 0.0, 1 - 1e-9]
    bin_logits = f32(rng.standard_normal((n, 3)) * 4)
    bin_logits[0] = [40.0, -40.0, 0.0]
    regression_true, regression_pred = f32(rng.standard_normal((n, 4))), f32(rng.standard_normal((n, 4)))

    L = keras.losses
    specs = [
        ("cce_probs", "categorical_crossentropy", False, onehot, probs),
        ("cce_probs_soft_labels", "categorical_crossentropy", False, soft, probs),
        ("cce_probs_unnormalised", "categorical_crossentropy", False, onehot, unnormalised),
        ("cce_probs_saturated", "categorical_crossentropy", False, onehot, saturated),
        ("cce_logits", "categorical_crossentropy", True, onehot, logits),
        ("cce_logits_extreme", "categorical_crossentropy", True, onehot, extreme_logits),
        ("cce_probs_label_smoothing", "categorical_crossentropy", False, onehot, probs, 0.2),
        ("cce_logits_label_smoothing", "categorical_crossentropy", True, onehot, logits, 0.2),
        ("scce_probs", "sparse_categorical_crossentropy", False, labels, probs),
        ("scce_probs_unnormalised", "sparse_categorical_crossentropy", False, labels, unnormalised),
        ("scce_probs_saturated", "sparse_categorical_crossentropy", False, labels, saturated),
        ("scce_logits", "sparse_categorical_crossentropy", True, labels, logits),
        ("scce_logits_extreme", "sparse_categorical_crossentropy", True, labels, extreme_logits),
        ("bce_probs", "binary_crossentropy", False, bin_true, bin_probs),
        ("bce_probs_saturated", "binary_crossentropy", False, bin_true, bin_saturated),
        ("bce_logits", "binary_crossentropy", True, bin_true, bin_logits),
        ("mse", "mean_squared_error", None, regression_true, regression_pred),
        ("mae", "mean_absolute_error", None, regression_true, regression_pred),
    ]
    classes = {"categorical_crossentropy": L.CategoricalCrossentropy,
               "sparse_categorical_crossentropy": L.SparseCategoricalCrossentropy,
               "binary_crossentropy": L.BinaryCrossentropy, "mean_squared_error": L.MeanSquaredError,
               "mean_absolute_error": L.MeanAbsoluteError}
    for name, loss_name, from_logits, y_true, y_pred, *smoothing in specs:
        options = {} if from_logits is None else {"from_logits": from_logits}
        if smoothing:
            options["label_smoothing"] = smoothing[0]
        loss = classes[loss_name](**options)
        pred = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = loss(tf.constant(y_true), pred)
        grad = tape.gradient(value, pred)
        arrays.update({f"{name}/y_true": y_true, f"{name}/y_pred": y_pred,
                       f"{name}/loss": np.array(value.numpy()), f"{name}/grad": grad.numpy()})
        cases.append(dict(name=name, loss=loss_name, from_logits=from_logits, **(
            {"label_smoothing": smoothing[0]} if smoothing else {})))

    # inside a model, Keras recovers the logits of a final softmax (no 1e-7 clip): a
    # saturated softmax output gives the exact -log p, not -log(1e-7) = 16.1
    x = f32(rng.standard_normal((4, 3)))
    y = f32(np.eye(5)[[0, 1, 2, 3]])
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="softmax")])
    w = [f32(rng.standard_normal((3, 5)) * 25), f32(rng.standard_normal(5))]
    model.set_weights(w)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", jit_compile=False)
    value = model.test_on_batch(x, y)
    arrays.update({"model_softmax_saturated/x": x, "model_softmax_saturated/y_true": y,
                   "model_softmax_saturated/w0": w[0], "model_softmax_saturated/w1": w[1],
                   "model_softmax_saturated/loss": np.array(value),
                   "model_softmax_saturated/y_pred": model.predict_on_batch(x)})
    save("losses.npz", arrays, {"what": "Keras 3 loss objects: value (mean over the batch) and its "
                                        "gradient w.r.t. y_pred; model_softmax_saturated: "
                                        "Dense(5, softmax) test_on_batch loss with saturated outputs",
                                "cases": cases})


# ----- optimizers --------------------------------------------------------------------------------
OPTIMIZER_CASES = [
    # name, class, kwargs, source ('keras3' or 'tf_keras_legacy')
    ("sgd", "SGD", {"learning_rate": 0.01}, "keras3"),
    ("sgd_momentum", "SGD", {"learning_rate": 0.01, "momentum": 0.9}, "keras3"),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}, "keras3"),
    ("rmsprop", "RMSprop", {"learning_rate": 0.001}, "keras3"),
    ("rmsprop_momentum", "RMSprop", {"learning_rate": 0.001, "momentum": 0.9}, "keras3"),
    ("rmsprop_centered", "RMSprop", {"learning_rate": 0.001, "centered": True}, "keras3"),
    ("rmsprop_centered_momentum", "RMSprop", {"learning_rate": 0.001, "centered": True, "momentum": 0.5},
     "keras3"),
    ("adam", "Adam", {"learning_rate": 0.001}, "keras3"),
    ("adam_fast", "Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.99}, "keras3"),
    ("adamax", "Adamax", {"learning_rate": 0.002}, "keras3"),
    ("adagrad", "Adagrad", {"learning_rate": 0.01}, "keras3"),
    ("adadelta", "Adadelta", {"learning_rate": 1.0}, "keras3"),
    ("adadelta_default", "Adadelta", {"learning_rate": 0.001}, "keras3"),
    ("sgd_momentum_clipnorm", "SGD", {"learning_rate": 0.01, "momentum": 0.9, "clipnorm": 1.0}, "keras3"),
    ("adam_clipvalue", "Adam", {"learning_rate": 0.01, "clipvalue": 0.5}, "keras3"),
    ("rmsprop_global_clipnorm", "RMSprop", {"learning_rate": 0.001, "global_clipnorm": 2.0}, "keras3"),
    # Keras 3's decoupled weight decay, moving average (EMA) with periodic overwrite, and a
    # per-step schedule (a dict: tinycnn's PiecewiseLinear; KerasPiecewiseLinear below on Keras's side)
    ("sgd_nesterov_weight_decay", "SGD", {"learning_rate": 0.05, "momentum": 0.85, "nesterov": True,
                                          "weight_decay": 0.05}, "keras3"),
    ("adam_weight_decay", "Adam", {"learning_rate": 0.01, "weight_decay": 0.1}, "keras3"),
    ("sgd_momentum_ema_overwrite", "SGD", {"learning_rate": 0.02, "momentum": 0.9, "use_ema": True,
                                           "ema_momentum": 0.8, "ema_overwrite_frequency": 7}, "keras3"),
    ("sgd_nesterov_schedule", "SGD", {"learning_rate": {"class_name": "PiecewiseLinear", "config": {
        "boundaries": [0.0, 20.0, 90.0], "values": [0.004, 0.02, 0.0014]}}, "momentum": 0.85, "nesterov": True,
        "weight_decay": 0.02}, "keras3"),
    # legacy decay: Keras 3 ignores `decay`, so Keras 2 (tf_keras.optimizers.legacy) is the reference
    ("sgd_momentum_decay", "SGD", {"learning_rate": 0.01, "momentum": 0.9, "decay": 0.01 / 25},
     "tf_keras_legacy"),
    ("sgd_momentum_decay_strong", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "decay": 0.05},
     "tf_keras_legacy"),
    ("rmsprop_decay", "RMSprop", {"learning_rate": 0.0005, "decay": 1e-6}, "tf_keras_legacy"),
    ("rmsprop_decay_strong", "RMSprop", {"learning_rate": 0.001, "decay": 0.05}, "tf_keras_legacy"),
]
RECORD_STEPS = [1] + list(range(10, 101, 10))


def keras_piecewise_linear(boundaries, values):
    """tinycnn's PiecewiseLinear schedule written with Keras ops, as a sum of clipped ramps
    (not an interpolation call): values[0] + sum_i clip((t - b_i) / (b_i+1 - b_i), 0, 1) dv_i."""
    class KerasPiecewiseLinear(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            t = keras.ops.cast(step, "float32")
            rate = values[0]
            for b0, b1, v0, v1 in zip(boundaries, boundaries[1:], values, values[1:]):
                rate = rate + keras.ops.clip((t - b0) / (b1 - b0), 0.0, 1.0) * (v1 - v0)
            return rate

        def get_config(self):
            return {"boundaries": boundaries, "values": values}
    return KerasPiecewiseLinear()


def make_optimizers():
    rng = np.random.default_rng(20240105)
    shapes = [(4, 3), (5,)]
    start = [f32(rng.standard_normal(s)) for s in shapes]
    steps = 100
    scales = np.exp(rng.standard_normal(steps) * 0.7)   # gradients of varying size
    grads = [[f32(rng.standard_normal(s) * scales[t] + 0.1) for s in shapes] for t in range(steps)]
    grads[5][0][:] = 0.0                                  # a step with a zero gradient
    arrays = {"start0": start[0], "start1": start[1],
              "grads0": np.stack([g[0] for g in grads]), "grads1": np.stack([g[1] for g in grads])}
    cases = []
    for name, cls, kwargs, source in OPTIMIZER_CASES:
        if source == "keras3":
            rate = kwargs["learning_rate"]
            if isinstance(rate, dict):
                rate = keras_piecewise_linear(**rate["config"])
            opt = getattr(keras.optimizers, cls)(**{**kwargs, "learning_rate": rate})
            variables = [keras.Variable(s.copy()) for s in start]
        else:
            opt = getattr(tf_keras.optimizers.legacy, cls)(**kwargs)
            variables = [tf.Variable(s.copy()) for s in start]
        track = {0: [], 1: []}
        for t in range(steps):
            opt.apply_gradients(zip([tf.constant(g) for g in grads[t]], variables))
            if t + 1 in RECORD_STEPS:
                for j, v in enumerate(variables):
                    track[j].append(np.array(v.numpy()))
        arrays[f"{name}/trajectory0"] = np.stack(track[0])
        arrays[f"{name}/trajectory1"] = np.stack(track[1])
        if kwargs.get("use_ema"):  # what fit leaves: the averages (Keras calls this at the end of fit)
            opt.finalize_variable_values(variables)
            for j, v in enumerate(variables):
                arrays[f"{name}/finalized{j}"] = np.array(v.numpy())
        note = None
        if source == "tf_keras_legacy":
            note = (f"tf_keras.optimizers.legacy.{cls} ({type(opt).__module__}): lr_t = lr / (1 + decay * "
                    "iterations) with iterations counted from 0 before the update")
            if cls == "RMSprop":
                note += ("; without momentum it computes p -= lr_t * g / (sqrt(a) + eps) (epsilon OUTSIDE "
                         "the root; with momentum the raw op uses sqrt(a + eps)); tinycnn follows Keras 3 "
                         "(inside), a difference of order eps / sqrt(a) ~ 1e-7 relative here")
        cases.append(dict(name=name, optimizer=cls, kwargs=kwargs, source=source, note=note))
    save("optimizers.npz", arrays, {"what": "parameter values after the steps in record_steps, two "
                                            "parameters updated with apply_gradients from the same start "
                                            "by the same 100 gradients (finalized: after "
                                            "finalize_variable_values, with use_ema)", "record_steps": RECORD_STEPS,
                                    "cases": cases})


# ----- whole models --------------------------------------------------------------------------
def conv(filters, kernel, **kw):
    return ["Conv2D", {"filters": filters, "kernel_size": list(kernel), **kw}]


def dense(units, **kw):
    return ["Dense", {"units": units, **kw}]


def act(name):
    return ["Activation", {"activation": name}]


def pool(size=2):
    return ["MaxPooling2D", {"pool_size": [size, size]}]


def drop():
    return ["Dropout", {"rate": 0.0}]  # every dropout rate is 0 in the parity models


FLAT = ["Flatten", {}]
RELU_SAME = {"padding": "same", "activation": "relu"}

# The zoo's architectures (tinycnn/zoo.py), written again here in Keras terms.
ARCHITECTURES = {
    "seed000_cifar10": ((32, 32, 3), [conv(32, (3, 3), **RELU_SAME), pool(), conv(32, (2, 2), **RELU_SAME), pool(),
                                      drop(), conv(64, (2, 2), **RELU_SAME), pool(), drop(), FLAT,
                                      dense(512, activation="relu"), drop(), dense(10, activation="softmax")]),
    "seed001_model1": ((32, 32, 3), [conv(32, (5, 5), strides=[2, 2], padding="same"), act("relu"),
                                     conv(32, (5, 5), strides=[2, 2]), act("relu"), pool(), drop(), FLAT,
                                     dense(512), act("relu"), drop(), dense(10), act("softmax")]),
    "seed001_model2": ((32, 32, 3), [conv(32, (5, 5), padding="same"), act("relu"), conv(32, (5, 5)), act("relu"),
                                     pool(), drop(), conv(32, (3, 3)), act("relu"), conv(16, (3, 3)), act("relu"),
                                     pool(), drop(), FLAT, dense(512), act("relu"), drop(), dense(10),
                                     act("softmax")]),
    "seed002_cifar10_deep": ((32, 32, 3), [conv(32, (3, 3), **RELU_SAME), drop(), conv(32, (3, 3), **RELU_SAME),
                                           pool(), conv(64, (3, 3), **RELU_SAME), drop(),
                                           conv(64, (3, 3), **RELU_SAME), pool(),
                                           conv(128, (3, 3), **RELU_SAME), drop(),
                                           conv(128, (3, 3), **RELU_SAME), pool(), FLAT, drop(),
                                           dense(1024, activation="relu", kernel_constraint={"max_norm": 3}),
                                           drop(),
                                           dense(512, activation="relu", kernel_constraint={"max_norm": 3}),
                                           drop(), dense(10, activation="softmax")]),
    "seed003_cifar10_small": ((32, 32, 3), [conv(16, (2, 2), **RELU_SAME), pool(), conv(32, (2, 2), **RELU_SAME),
                                            pool(), conv(64, (2, 2), **RELU_SAME), pool(), drop(), FLAT,
                                            dense(500, activation="relu"), drop(),
                                            dense(10, activation="softmax")]),
    "seed004_mnist_mlp": ((28, 28), [FLAT, dense(512, activation="relu"), dense(512, activation="relu"),
                                     dense(10, activation="softmax")]),
    "seed004_mnist_cnn": ((28, 28, 1), [conv(32, (3, 3), **RELU_SAME), pool(), conv(64, (3, 3), **RELU_SAME),
                                        pool(), FLAT, dense(64, activation="relu"),
                                        dense(10, activation="softmax")]),
    "mnist_cnn": ((28, 28, 1), [conv(32, (3, 3), activation="relu"), conv(64, (3, 3), activation="relu"), pool(),
                                drop(), FLAT, dense(128, activation="relu"), drop(),
                                dense(10, activation="softmax")]),
    "cifar10_cnn": ((32, 32, 3), [conv(32, (3, 3), padding="same"), act("relu"), conv(32, (3, 3)), act("relu"),
                                  pool(), drop(), conv(64, (3, 3), padding="same"), act("relu"),
                                  conv(64, (3, 3)), act("relu"), pool(), drop(), FLAT, dense(512), act("relu"),
                                  drop(), dense(10), act("softmax")]),
}
# The notebook's optimizer for the 3-step test. Legacy decay is left out (Keras 3 ignores it;
# the optimizer golden file covers decay against Keras 2).
TRAINING = {
    "seed000_cifar10": ("Adamax", {"learning_rate": 0.002}),
    "seed001_model1": ("RMSprop", {"learning_rate": 0.0005}),          # notebook: decay=1e-6
    "seed001_model2": ("RMSprop", {"learning_rate": 0.0001}),          # notebook: decay=1e-6
    "seed002_cifar10_deep": ("SGD", {"learning_rate": 0.01, "momentum": 0.9}),  # notebook: decay=0.01/25
    "seed003_cifar10_small": ("RMSprop", {}),
    "seed004_mnist_mlp": ("RMSprop", {}),
    "seed004_mnist_cnn": ("RMSprop", {}),
    "mnist_cnn": ("Adadelta", {"learning_rate": 1.0}),
    "cifar10_cnn": ("RMSprop", {"learning_rate": 0.0001}),             # notebook: decay=1e-6
}
# kernels scaled up at start so that max_norm(3) is active after the first update
INIT_SCALES = {"seed002_cifar10_deep": {12: 3.0}}
# Architectures small enough to store whole as weights files; the others are stored as
# "mini" variants with the same layer list and fewer filters / units (see shrink()).
WEIGHTS_FILE_FULL = ("seed001_model1", "seed001_model2", "seed004_mnist_cnn")


def shrink(spec):
    """The same layers with fewer filters (filters // 8, at least 4) and hidden units (16)."""
    out, last_dense = [], max(i for i, (cls, _) in enumerate(spec) if cls == "Dense")
    for i, (cls, kw) in enumerate(spec):
        kw = dict(kw)
        if cls == "Conv2D":
            kw["filters"] = max(4, kw["filters"] // 8)
        if cls == "Dense" and i != last_dense:
            kw["units"] = 16
        out.append([cls, kw])
    return out


def build_keras(api, input_shape, spec):
    """The architecture in Keras 3 (api=keras) or Keras 2 (api=tf_keras)."""
    layers = []
    for cls, kw in spec:
        kw = dict(kw)
        if "kernel_constraint" in kw:
            kw["kernel_constraint"] = api.constraints.MaxNorm(kw["kernel_constraint"]["max_norm"])
        layers.append(getattr(api.layers, cls)(**kw))
    if api is keras:
        return keras.Sequential([keras.Input(input_shape)] + layers)
    model = tf_keras.Sequential([tf_keras.layers.InputLayer(input_shape=input_shape)] + layers)
    return model


def model_weights(model, seed, scales=None):
    shapes = [tuple(w.shape) for w in model.get_weights()]
    limits = init_limits(shapes, scales)
    weights = [hash_uniform(s, seed * 1000 + j, lim) for j, (s, lim) in enumerate(zip(shapes, limits))]
    return weights, limits


def model_batch(rng, input_shape, n=8):
    x = f32(rng.uniform(0, 1, (n, *input_shape)))
    y = f32(np.eye(10)[rng.integers(0, 10, n)])
    return x, y


def make_models():
    rng = np.random.default_rng(20240106)
    for m, (name, (input_shape, spec)) in enumerate(ARCHITECTURES.items()):
        keras.utils.clear_session()
        model = build_keras(keras, input_shape, spec)
        seed = 100 + m
        weights, limits = model_weights(model, seed, INIT_SCALES.get(name))
        model.set_weights(weights)
        x, y = model_batch(rng, input_shape)
        cls, kwargs = TRAINING[name]
        model.compile(optimizer=getattr(keras.optimizers, cls)(**kwargs), loss="categorical_crossentropy",
                      jit_compile=False)
        arrays = {"x": x, "y": y, "predictions_before": model.predict_on_batch(x),
                  "test_loss_before": np.array(model.test_on_batch(x, y))}
        losses = [model.train_on_batch(x, y) for _ in range(3)]
        arrays["train_losses"] = np.array(losses)
        arrays["predictions_after"] = model.predict_on_batch(x)
        weight_meta = []
        for j, (w0, w1) in enumerate(zip(weights, model.get_weights())):
            info = {"shape": list(w0.shape), "seed": seed * 1000 + j, "limit": limits[j],
                    "sum": float(np.sum(w0, dtype=np.float64)),
                    "abs_sum": float(np.sum(np.abs(w0), dtype=np.float64))}
            delta = w1.astype(np.float64) - w0.astype(np.float64)
            info["delta_abs_sum"] = float(np.abs(delta).sum())
            info["delta_square_sum"] = float(np.square(delta).sum())
            info["after_sum"] = float(w1.astype(np.float64).sum())
            if w0.size > SAMPLE_ABOVE:
                index = hash_indices(w0.size, SAMPLE_COUNT, seed * 1000 + j + 500)
                arrays[f"after{j}_index"] = index
                arrays[f"after{j}"] = w1.reshape(-1)[index]
                info["sampled"] = True
            else:
                arrays[f"after{j}"] = w1
                info["sampled"] = False
            weight_meta.append(info)
        save(f"model_{name}.npz", arrays, {
            "what": "Keras 3 model with the zoo architecture (dropout rates 0), initial weights "
                    "hash_uniform(shape, seed, limit), predictions before training, test loss, the losses "
                    "returned by 3 train_on_batch calls on (x, y) and the weights and predictions after them",
            "name": name, "input_shape": list(input_shape), "spec": spec, "optimizer": cls,
            "optimizer_kwargs": kwargs, "loss": "categorical_crossentropy",
            "note": "legacy decay of the notebook's optimizer left out (Keras 3 ignores it; "
                    "covered by optimizers.npz against tf_keras)",
            "weights": weight_meta, "params": int(model.count_params())})
        print(f"  {name}: {model.count_params():,} params, losses {losses}")


def make_functional():
    keras.utils.clear_session()
    rng = np.random.default_rng(20240108)
    model = resnet_block_model(keras)
    weights = [f32(rng.uniform(-0.5, 0.5, w.shape)) for w in model.get_weights()]
    bn = model.get_layer(index=3)
    names = [v.path for v in model.weights]
    for j, path in enumerate(names):  # moving variance must be positive
        if path.endswith("moving_variance"):
            weights[j] = f32(rng.uniform(0.5, 1.5, weights[j].shape))
    model.set_weights(weights)
    x = f32(rng.standard_normal((4, 8, 8, 3)))
    r = f32(rng.standard_normal((4, 5)))
    y, grads = grads_of(lambda t: model(t, training=False), x, model.trainable_weights, r)
    arrays = {"x": x, "r": r, "y": y, "dx": grads[0]}
    arrays.update({f"w{j}": w for j, w in enumerate(weights)})
    trainable = {id(v) for v in model.trainable_weights}
    order = [j for j, v in enumerate(model.weights) if id(v) in trainable]
    arrays.update({f"dw{j}": g for j, g in zip(order, grads[1:])})
    save("functional_resnet_block.npz", arrays, {
        "what": "Keras 3 functional model (resnet_block_model): weights w<j> in model.get_weights() order, "
                "outputs y = model(x, training=False) and the gradients of sum(y * r) w.r.t. x and each "
                "trainable weight (dw<j>, same index as w<j>)",
        "config": json.loads(model.to_json()), "layers": [layer.name for layer in model.layers],
        "weight_paths": names, "batchnorm": bn.name, "params": int(model.count_params())})
    print(f"  functional_resnet_block: {model.count_params():,} params, layers {[l.name for l in model.layers]}")


def make_weight_files():
    rng = np.random.default_rng(20240107)
    for m, (name, (input_shape, spec)) in enumerate(ARCHITECTURES.items()):
        variant = "full" if name in WEIGHTS_FILE_FULL else "mini"
        spec = spec if variant == "full" else shrink(spec)
        x, _ = model_batch(rng, input_shape, n=4)
        arrays, meta = {"x": x}, {}
        for api, tag, path, seed in ((keras, "keras3", f"{name}.weights.h5", 300 + m),
                                     (tf_keras, "tf_keras", f"{name}_tfkeras.h5", 400 + m)):
            if api is keras:
                keras.utils.clear_session()
            else:
                tf_keras.backend.clear_session()
            model = build_keras(api, input_shape, spec)
            weights, limits = model_weights(model, seed)
            model.set_weights(weights)
            target = os.path.join(GOLDEN, "weights", path)
            if os.path.exists(target):
                os.remove(target)
            model.save_weights(target)
            if api is tf_keras and name == "seed002_cifar10_deep":
                # Keras 2's whole-model .h5 (weights under 'model_weights'), compiled, so the
                # file also holds optimizer weights that a weights loader must ignore
                model.compile(optimizer=tf_keras.optimizers.legacy.RMSprop(), loss="categorical_crossentropy")
                model.train_on_batch(x, np.eye(10, dtype=np.float32)[:len(x)])
                model.set_weights(weights)
                whole = os.path.join(GOLDEN, "weights", f"{name}_tfkeras_model.h5")
                if os.path.exists(whole):
                    os.remove(whole)
                model.save(whole)
                meta["tf_keras_model_file"] = f"weights/{name}_tfkeras_model.h5"
            arrays[f"{tag}_predictions"] = model.predict_on_batch(x) if api is keras else model.predict(x, verbose=0)
            meta[tag] = {"file": f"weights/{path}", "weights": [
                {"shape": list(w.shape), "seed": seed * 1000 + j, "limit": lim,
                 "sum": float(np.sum(w, dtype=np.float64))} for j, (w, lim) in enumerate(zip(weights, limits))],
                "params": int(model.count_params())}
        save(f"weights_{name}.npz", arrays, {
            "what": "weights files saved by Keras 3 (model.save_weights('*.weights.h5')) and by Keras 2 "
                    "(tf_keras model.save_weights('*.h5')), and each model's predictions on x",
            "name": name, "variant": variant, "input_shape": list(input_shape), "spec": spec, **meta})
        print(f"  weights {name} ({variant}): {meta['keras3']['params']:,} params")


# ----- the other direction: tinycnn writes, Keras 3 reads -------------------------------------
def verify_tinycnn(folder):
    """Load every ``*.weights.h5`` written by tinycnn in ``folder`` into the same architecture
    in Keras 3; compare Keras's predictions with tinycnn's (``<name>.npz``: spec, x,
    predictions)."""
    names = sorted(f[:-len(".weights.h5")] for f in os.listdir(folder) if f.endswith(".weights.h5"))
    if not names:
        raise SystemExit(f"no *.weights.h5 files in {folder}")
    worst = 0.0
    for name in names:
        with np.load(os.path.join(folder, name + ".npz")) as data:
            meta = json.loads(str(data["__meta__"]))
            x, expected = data["x"], data["predictions"]
        keras.utils.clear_session()
        model = build_keras(keras, tuple(meta["input_shape"]), meta["spec"])
        model.load_weights(os.path.join(folder, name + ".weights.h5"))
        got = model.predict_on_batch(x)
        err = float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-30))
        worst = max(worst, err)
        print(f"  {name}: Keras 3 loaded tinycnn's file, predictions rel. error {err:.2e}")
        assert err < 1e-5, name
    print(f"all {len(names)} tinycnn-written files load in Keras {keras.__version__}; worst {worst:.2e}")


def main(argv):
    if len(argv) == 2 and argv[0] == "--verify-tinycnn":
        verify_tinycnn(argv[1])
        return
    steps = (make_conv, make_pooling, make_core, make_losses, make_optimizers, make_models, make_functional,
             make_weight_files)
    if len(argv) == 2 and argv[0] == "--only":  # one file (group), e.g. --only make_functional
        steps = [step for step in steps if step.__name__ == argv[1]]
    elif argv:
        raise SystemExit(__doc__)
    os.makedirs(os.path.join(GOLDEN, "weights"), exist_ok=True)
    for step in steps:
        print(step.__name__)
        step()
    total = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(GOLDEN) for f in files)
    print(f"golden folder: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
