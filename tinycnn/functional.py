"""The functional API: one function per differentiable op.

Each function checks its arguments in the user's terms (the op's name, the shapes
involved), then applies the matching :class:`~tinycnn.autograd.Function` from
:mod:`tinycnn.ops`. Layers, losses and user code all go through here.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import utils
from .backend import EPSILON  # Keras's backend epsilon
from .kernels.geometry import plan_2d
from .ops import activations, arithmetic, conv, dropout as dropout_ops, linalg, losses, pooling
from .ops import device, normalization, reduction, shape as shape_ops
from .tensor import Tensor, to_float_array


def tensor(value, op: str, dtype=None) -> Tensor:
    """``value`` as a Tensor; non-numeric input raises a TypeError naming ``op``."""
    if isinstance(value, Tensor):
        return value
    return Tensor(to_float_array(value, dtype, what=op))


def _pair_of_tensors(x, y, op):
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    dtype = like.dtype if like is not None else None
    x, y = tensor(x, op, dtype if not isinstance(x, Tensor) else None), \
        tensor(y, op, dtype if not isinstance(y, Tensor) else None)
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {x.shape} and {y.shape} cannot be broadcast together") from None
    return x, y


# ----- elementwise ---------------------------------------------------------------------
def add(x, y):
    return arithmetic.Add.apply(*_pair_of_tensors(x, y, "add"))


def sub(x, y):
    return arithmetic.Sub.apply(*_pair_of_tensors(x, y, "sub"))


def mul(x, y):
    return arithmetic.Mul.apply(*_pair_of_tensors(x, y, "mul"))


def div(x, y):
    return arithmetic.Div.apply(*_pair_of_tensors(x, y, "div"))


def neg(x):
    return arithmetic.Neg.apply(tensor(x, "neg"))


def maximum(x, y):
    return arithmetic.Maximum.apply(*_pair_of_tensors(x, y, "maximum"))


def minimum(x, y):
    return arithmetic.Minimum.apply(*_pair_of_tensors(x, y, "minimum"))


def pow(x, exponent):
    if not np.isscalar(exponent):
        raise TypeError(f"pow: the exponent must be a number, got {type(exponent).__name__}")
    return arithmetic.Pow.apply(tensor(x, "pow"), exponent=exponent)


def exp(x):
    return arithmetic.Exp.apply(tensor(x, "exp"))


def log(x):
    return arithmetic.Log.apply(tensor(x, "log"))


def abs(x):
    return arithmetic.Abs.apply(tensor(x, "abs"))


def clip(x, lo, hi):
    if lo > hi:
        raise ValueError(f"clip: lower bound {lo} is above upper bound {hi}")
    return arithmetic.Clip.apply(tensor(x, "clip"), lo=lo, hi=hi)


def cast(x, dtype):
    target = np.dtype(dtype)
    if target.kind != "f":
        raise TypeError(f"cast: tensors hold floating-point numbers; cannot cast to {target}")
    return arithmetic.Cast.apply(tensor(x, "cast"), dtype=target)


def square(x):
    return mul(x, x)


def sqrt(x):
    return pow(x, 0.5)


# ----- reductions and shapes --------------------------------------------------------------
def _axis(x: Tensor, axis, op):
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of shape {x.shape}")
    return tuple(axes) if isinstance(axis, (tuple, list)) else axis


def sum(x, axis=None, keepdims=False):
    x = tensor(x, "sum")
    return reduction.Sum.apply(x, axis=_axis(x, axis, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = tensor(x, "mean")
    return reduction.Mean.apply(x, axis=_axis(x, axis, "mean"), keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    x = tensor(x, "max")
    return reduction.Max.apply(x, axis=_axis(x, axis, "max"), keepdims=keepdims)


def reshape(x, shape):
    x = tensor(x, "reshape")
    shape = tuple(int(s) for s in shape)
    try:
        np.empty(x.shape, dtype=np.int8).reshape(shape)  # validates without touching data
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.size} elements) into shape {shape}") from None
    return shape_ops.Reshape.apply(x, shape=shape)


def transpose(x, axes=None):
    x = tensor(x, "transpose")
    if axes is not None and sorted(a % builtins.max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                         f"{x.ndim} axes of shape {x.shape}")
    return shape_ops.Transpose.apply(x, axes=None if axes is None else tuple(axes))


def getitem(x, index):
    return shape_ops.GetItem.apply(tensor(x, "getitem"), index=index)


def concatenate(xs, axis=-1):
    """The tensors of ``xs`` joined along ``axis``; every other axis must agree."""
    xs = [tensor(x, "concatenate") for x in xs]
    if not xs:
        raise ValueError("concatenate: give at least one tensor")
    ndim = xs[0].ndim
    if any(x.ndim != ndim for x in xs) or not -ndim <= axis < ndim:
        raise ValueError(f"concatenate: axis {axis} needs tensors of one rank, got shapes {[x.shape for x in xs]}")
    axis %= ndim
    others = {x.shape[:axis] + x.shape[axis + 1:] for x in xs}
    if len(others) > 1:
        raise ValueError(f"concatenate: shapes {[x.shape for x in xs]} differ outside axis {axis}")
    return shape_ops.Concatenate.apply(*xs, axis=axis)


def flatten(x):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in row-major order: H, W, C for NHWC images,
    so Dense weights port to and from Keras."""
    x = tensor(x, "flatten")
    if x.ndim < 2:
        raise ValueError(f"flatten: needs a batch axis and at least one more, got shape {x.shape}")
    return reshape(x, (x.shape[0], math.prod(x.shape[1:])))


def matmul(x, y):
    x, y = tensor(x, "matmul"), tensor(y, "matmul", dtype=x.dtype if not isinstance(y, Tensor) else None)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"matmul: both operands need at least 2 axes, got shapes {x.shape} and {y.shape}")
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(
            f"matmul: shapes {x.shape} and {y.shape} are not aligned: the last axis of the "
            f"first ({x.shape[-1]}) must equal the second-to-last axis of the second ({y.shape[-2]})")
    try:
        np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: the stacked axes of {x.shape} and {y.shape} do not broadcast") from None
    return linalg.MatMul.apply(x, y)


# ----- activations ------------------------------------------------------------------------
def relu(x):
    return activations.ReLU.apply(tensor(x, "relu"))


def gelu(x):
    return activations.GELU.apply(tensor(x, "gelu"))


def sigmoid(x):
    return activations.Sigmoid.apply(tensor(x, "sigmoid"))


def tanh(x):
    return activations.Tanh.apply(tensor(x, "tanh"))


def softmax(x, axis=-1):
    x = tensor(x, "softmax")
    return activations.Softmax.apply(x, axis=_axis(x, axis, "softmax"))


def log_softmax(x, axis=-1):
    x = tensor(x, "log_softmax")
    return activations.LogSoftmax.apply(x, axis=_axis(x, axis, "log_softmax"))


def linear(x):
    return tensor(x, "linear")


# ----- convolution and pooling -------------------------------------------------------------
def conv2d(x, kernel, bias=None, strides=1, padding="valid", relu=False, pool=False):
    """Keras-style 2-D convolution: x (N, H, W, Cin), kernel (kh, kw, Cin, Cout),
    bias (Cout,) or None; padding 'valid' or 'same' (TF's asymmetric 'same'). With
    ``relu=True``, ``relu(conv2d(...))`` as one fused op (what ``Conv2D(activation='relu')``
    runs); with ``pool=True`` also followed by ``max_pool2d(..., 2)``, in the same op."""
    x, kernel = tensor(x, "conv2d"), tensor(kernel, "conv2d")
    if x.ndim != 4:
        raise ValueError(f"conv2d: input must be 4-D (batch, height, width, channels), got shape {x.shape}")
    if kernel.ndim != 4:
        raise ValueError(f"conv2d: kernel must be 4-D (kh, kw, in_channels, out_channels), "
                         f"got shape {kernel.shape}")
    if x.shape[3] != kernel.shape[2]:
        raise ValueError(f"conv2d: input has {x.shape[3]} channels (shape {x.shape}) but the kernel "
                         f"expects {kernel.shape[2]} (kernel shape {kernel.shape})")
    _, strides, out_hw, pads = plan_2d("conv2d", x.shape[1:3], kernel.shape[:2], strides, padding)
    if pool and min(out_hw) < 2:
        raise ValueError(f"conv2d: pool=True needs an output of at least 2x2 to pool, got {tuple(out_hw)}")
    config = dict(strides=strides, pads=pads, relu=relu, pool=pool)
    if bias is None:
        return conv.Conv2D.apply(x, kernel, **config)
    bias = tensor(bias, "conv2d")
    if bias.shape != (kernel.shape[3],):
        raise ValueError(f"conv2d: bias must have shape ({kernel.shape[3]},), got {bias.shape}")
    return conv.Conv2D.apply(x, kernel, bias, **config)


def _pool(cls, op, x, pool_size, strides, padding):
    x = tensor(x, op)
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (batch, height, width, channels), got shape {x.shape}")
    pool, strides, _, pads = plan_2d(op, x.shape[1:3], pool_size,
                                     pool_size if strides is None else strides, padding)
    return cls.apply(x, pool=pool, strides=strides, pads=pads)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max over each window; ``strides=None`` means equal to ``pool_size`` (Keras)."""
    return _pool(pooling.MaxPool2D, "max_pool2d", x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Mean over the real cells of each window (padding is not counted)."""
    return _pool(pooling.AvgPool2D, "avg_pool2d", x, pool_size, strides, padding)


# ----- regularisation and normalisation -----------------------------------------------------
def dropout(x, rate, training=True, rng=None):
    """Inverted dropout; identity when not training or when rate is 0. ``rng`` is a
    ``numpy.random.Generator`` (tinycnn's seeded one by default)."""
    x = tensor(x, "dropout")
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        return x
    return dropout_ops.Dropout.apply(x, rate=rate, rng=rng if rng is not None else utils.rng())


def batch_norm(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    """Normalise each channel (last axis) and apply the affine map ``gamma * xhat + beta``.

    Training uses the batch's statistics and folds them into the moving averages, in place:
    ``moving = momentum * moving + (1 - momentum) * batch``. Inference uses the moving
    statistics: ``y = (x - moving_mean) / sqrt(moving_var + eps) * gamma + beta``.
    """
    x, gamma, beta = tensor(x, "batch_norm"), tensor(gamma, "batch_norm"), tensor(beta, "batch_norm")
    channels = x.shape[-1]
    for name, value in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                        ("moving_var", moving_var)):
        if tuple(np.shape(value)) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for an input of "
                             f"shape {x.shape}, got {tuple(np.shape(value))}")
    if not training:
        mean_, var_ = (_like(v, x) for v in (moving_mean, moving_var))
        return normalization.BatchNormInference.apply(x, gamma, beta, mean=mean_, var=var_, eps=epsilon)
    return normalization.BatchNormTrain.apply(x, gamma, beta, eps=epsilon,
                                              moving=(moving_mean, moving_var, momentum))


def _like(values, x: Tensor):
    """``values`` as an array of x's dtype, on x's device (arrays keep their place)."""
    return values.astype(x.dtype, copy=False) if hasattr(values, "astype") else np.asarray(values, x.dtype)


# ----- losses (per sample; Keras's loss objects take the batch mean) ------------------------
def _targets_like(y_true, y_pred, op):
    y_true = to_float_array(y_true.data if isinstance(y_true, Tensor) else y_true,
                            dtype=y_pred.dtype, what=op)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{op}: targets have shape {y_true.shape} but predictions have shape "
                         f"{y_pred.shape}; they must match (one-hot targets: use "
                         "tinycnn.utils.to_categorical, or the sparse loss for integer labels)")
    return device.to_device(y_true)


def _integer_labels(y_true, y_pred, op):
    labels = np.asarray(device.to_host(y_true.data if isinstance(y_true, Tensor) else y_true))
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"{op}: integer labels must have shape {y_pred.shape[:-1]} (or with a "
                         f"trailing 1) for predictions of shape {y_pred.shape}, got {labels.shape}")
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError(f"{op}: labels must be whole numbers (class indices)")
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{op}: labels must lie in [0, {classes - 1}] for {classes} classes, "
                         f"found {labels.min()}..{labels.max()}")
    return device.to_device(labels)


def softmax_cross_entropy(logits, targets):
    """Fused softmax + cross-entropy per sample: logits (N, K) and targets either one-hot
    rows (N, K) or integer labels (N,)."""
    logits = tensor(logits, "softmax_cross_entropy")
    if logits.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: logits must be 2-D (batch, classes), got {logits.shape}")
    targets_array = np.asarray(device.to_host(targets.data if isinstance(targets, Tensor) else targets))
    if targets_array.ndim == 2 and targets_array.shape[-1] != 1:
        targets_array = _targets_like(targets_array, logits, "softmax_cross_entropy")
    else:
        targets_array = _integer_labels(targets_array, logits, "softmax_cross_entropy")
    return losses.SoftmaxCrossEntropy.apply(logits, targets=targets_array)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's categorical cross-entropy per sample. From probabilities:
    ``p = y_pred / sum(y_pred)``, clipped to [1e-7, 1 - 1e-7], ``loss = -sum(y log p)``."""
    y_pred = tensor(y_pred, "categorical_crossentropy")
    y_true = _targets_like(y_true, y_pred, "categorical_crossentropy")
    if from_logits:
        return losses.SoftmaxCrossEntropy.apply(y_pred, targets=y_true)
    p = clip(y_pred / sum(y_pred, axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
    return -sum(y_true * log(p), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's sparse categorical cross-entropy per sample, labels as integers. From
    probabilities Keras clips to [1e-7, 1 - 1e-7], takes the log and treats the result as
    logits, i.e. ``loss = -log(p_y / sum(p))`` on the clipped p."""
    y_pred = tensor(y_pred, "sparse_categorical_crossentropy")
    labels = _integer_labels(y_true, y_pred, "sparse_categorical_crossentropy")
    logits = y_pred if from_logits else log(clip(y_pred, EPSILON, 1 - EPSILON))
    return losses.SoftmaxCrossEntropy.apply(logits, targets=labels)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Mean over the last axis of ``-(y log p + (1 - y) log(1 - p))``, p clipped to
    [1e-7, 1 - 1e-7]; from logits z: ``max(z, 0) - z y + log(1 + e^-|z|)``."""
    y_pred = tensor(y_pred, "binary_crossentropy")
    y_true = _targets_like(y_true, y_pred, "binary_crossentropy")
    if from_logits:
        # TensorFlow's sigmoid_cross_entropy_with_logits, kink included: the branch for
        # z >= 0 is taken at z = 0, so the gradient there is sigmoid(0) - y = 0.5 - y
        # (relu(z) and |z| written with a constant mask, not relu/abs, whose gradient at 0 is 0)
        positive = y_pred.data >= 0
        mask = Tensor(positive.astype(y_pred.dtype))
        sign = Tensor(np.where(positive, 1, -1).astype(y_pred.dtype))
        per_item = y_pred * mask - y_pred * y_true + log(1 + exp(-(y_pred * sign)))
    else:
        p = clip(y_pred, EPSILON, 1 - EPSILON)
        per_item = -(y_true * log(p) + (1 - y_true) * log(1 - p))
    return mean(per_item, axis=-1)


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)^2) over the last axis."""
    y_pred = tensor(y_pred, "mean_squared_error")
    return mean(square(y_pred - _targets_like(y_true, y_pred, "mean_squared_error")), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|) over the last axis."""
    y_pred = tensor(y_pred, "mean_absolute_error")
    return mean(abs(y_pred - _targets_like(y_true, y_pred, "mean_absolute_error")), axis=-1)


# ----- Tensor's operators and methods are these functions -----------------------------------
def _reflected(op):
    """``other <op> tensor``: the same op with its operands swapped."""
    return lambda x, y: op(y, x)


def _reshape_method(x, *shape):
    return reshape(x, tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)


def _transpose_method(x, *axes):
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    return transpose(x, axes or None)


for _name, _function in {
        "__add__": add, "__radd__": _reflected(add), "__sub__": sub, "__rsub__": _reflected(sub),
        "__mul__": mul, "__rmul__": _reflected(mul), "__truediv__": div,
        "__rtruediv__": _reflected(div), "__neg__": neg, "__pow__": pow, "__matmul__": matmul,
        "__rmatmul__": _reflected(matmul), "__getitem__": getitem, "astype": cast,
        "sum": sum, "mean": mean, "max": max, "reshape": _reshape_method,
        "transpose": _transpose_method, "T": property(_transpose_method), "exp": exp, "log": log,
        "relu": relu, "sigmoid": sigmoid, "tanh": tanh}.items():
    setattr(Tensor, _name, _function)
