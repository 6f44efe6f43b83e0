"""Convolution layers."""
from __future__ import annotations

from .. import functional as F, utils
from ..kernels.geometry import check_padding, pair, window_geometry
from .base import check_channels_last, serialize
from .core import WithActivation


class Conv2D(WithActivation):
    """y = activation(conv2d(x, kernel) + bias); kernel (kh, kw, in_channels, filters).

    Output size per spatial axis: 'valid' floor((n - k) / s) + 1, 'same' ceil(n / s).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        check_channels_last(data_format, "Conv2D")
        if pair(dilation_rate, "dilation_rate", "Conv2D") != (1, 1):
            raise ValueError(f"Conv2D: dilation_rate other than 1 is not supported, got {dilation_rate!r}")
        self.filters = utils.count_argument(filters, "filters", "Conv2D")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = pair(strides, "strides", "Conv2D")
        self.padding = check_padding(padding, "Conv2D")
        self.use_bias = use_bias
        self.set_activation(activation)
        self.set_weight_options(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                                kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                                kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f'Conv2D "{self.name}": expects inputs of shape (batch, height, width, '
                             f"channels), got {input_shape}")
        self.compute_output_shape(input_shape)  # validates the geometry
        self.kernel = self.add_weight("kernel", (*self.kernel_size, input_shape[-1], self.filters),
                                      self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def pre_activation(self, x, training=False):
        return F.conv2d(x, self.kernel, self.bias, strides=self.strides, padding=self.padding)

    def compute_output_shape(self, input_shape):
        out = [window_geometry(n, k, s, self.padding)[0]
               for n, k, s in zip(input_shape[1:3], self.kernel_size, self.strides)]
        if min(out) < 1:
            raise ValueError(f'Conv2D "{self.name}": kernel {self.kernel_size} does not fit the input '
                             f"{tuple(input_shape[1:3])} with padding 'valid'")
        return (None, *out, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "use_bias": self.use_bias,
                **{key: serialize(getattr(self, key)) for key in (
                    "kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "bias_regularizer", "kernel_constraint", "bias_constraint")}}


Convolution2D = Conv2D  # Keras 1 name still seen in old notebooks

# Keras 2 also exported the pooling layers from keras.layers.convolutional.
from .pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D,  # noqa: E402,F401
                      GlobalMaxPool2D, GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)
