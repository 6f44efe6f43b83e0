"""Core layers: Input, Dense, Activation, ReLU, Dropout, Flatten."""
from __future__ import annotations

import numpy as np

from .. import activations, functional as F, graph, utils
from .base import Layer, serialize


class InputLayer(Layer):
    """Declares the shape of one sample; made by :func:`Input`. Holds no weights."""

    def __init__(self, shape, name=None, dtype="float32"):
        super().__init__(name=name or None, input_shape=tuple(shape), dtype=dtype)

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {"name": self.name, "shape": list(self.requested_input_shape[1:]), "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("trainable", None)
        return cls(**config)


def Input(shape, batch_size=None, name=None, dtype="float32"):
    """Keras's ``Input(shape=...)``: a symbolic tensor for one batch of inputs, to call layers
    on (the functional API, :mod:`tinycnn.graph`) or to start a Sequential model's list."""
    if shape is None or any(d is None for d in tuple(shape)):
        raise ValueError(f"Input: shape must be fully known (one sample's shape), got {shape!r}")
    if any(int(d) < 1 for d in shape):
        raise ValueError(f"Input: every axis of shape must be at least 1, got {tuple(shape)}")
    return graph.input_tensor(InputLayer(tuple(int(d) for d in shape), name=name, dtype=dtype))


class WithActivation(Layer):
    """A layer whose output is ``activation(pre_activation(x))``; the pre-activation of a
    final softmax layer is its logits."""

    def set_activation(self, activation):
        self.activation_name, self.activation = activations.get(activation)

    def pre_activation(self, x, training=False):  # pragma: no cover - interface
        raise NotImplementedError

    def call(self, x, training=False):
        return self.activation(self.pre_activation(x, training))

    def get_config(self):
        return {**super().get_config(), "activation": self.activation_name}


class Dense(WithActivation):
    """y = activation(x @ kernel + bias), applied to the last axis; kernel (in, units)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = utils.count_argument(units, "units", "Dense"), use_bias
        self.set_activation(activation)
        self.set_weight_options(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                                kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                                kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def pre_activation(self, x, training=False):
        y = F.matmul(x, self.kernel)
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                **{key: serialize(getattr(self, key)) for key in (
                    "kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "bias_regularizer", "kernel_constraint", "bias_constraint")}}


class Activation(WithActivation):
    """Applies an activation function by name: ``Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.set_activation(activation)

    def pre_activation(self, x, training=False):
        return x


class ReLU(Layer):
    """max(x, 0), optionally with a slope for negative inputs and a ceiling:
    y = min(relu(x), max_value) - negative_slope * relu(-x)."""

    def __init__(self, max_value=None, negative_slope=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        self.max_value, self.negative_slope = max_value, float(negative_slope)

    def call(self, x, training=False):
        y = F.relu(x)
        if self.max_value is not None:
            y = F.clip(y, 0.0, float(self.max_value))
        if self.negative_slope:
            y = y - self.negative_slope * F.relu(-x)
        return y

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope}


class Rescaling(Layer):
    """y = x * scale + offset (fixed numbers, no weights), as Keras's ``Rescaling``: pixels
    to [0, 1] with ``scale=1/255``, or a fixed output scale on logits."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"Rescaling: {what} must be a finite number, got {value!r}")
        self.scale, self.offset = float(scale), float(offset)

    def call(self, x, training=False):
        y = x * self.scale
        return y + self.offset if self.offset else y

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Dropout(Layer):
    """Inverted dropout at training time; identity at inference."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate, self.seed = float(rate), seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        return F.dropout(x, self.rate, training=training, rng=self._rng or utils.rng())

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    """(N, H, W, C) -> (N, H*W*C) in H, W, C order, as Keras."""

    def call(self, x, training=False):
        return F.flatten(x)

    def compute_output_shape(self, input_shape):
        return (None, int(np.prod(input_shape[1:])))
