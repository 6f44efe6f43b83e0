"""Pooling layers."""
from __future__ import annotations

from .. import functional as F
from ..kernels.geometry import check_padding, pair, window_geometry
from .base import Layer, check_channels_last


class Pooling2D(Layer):
    """Shared arguments of the 2-D pooling layers (``strides=None`` means ``pool_size``)."""

    pool_function = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_channels_last(data_format, type(self).__name__)
        self.pool_size = pair(pool_size, "pool_size", type(self).__name__)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", type(self).__name__)
        self.padding = check_padding(padding, type(self).__name__)

    def call(self, x, training=False):
        return type(self).pool_function(x, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f'{type(self).__name__} "{self.name}": expects inputs of shape (batch, '
                             f"height, width, channels), got {input_shape}")
        out = [window_geometry(n, k, s, self.padding)[0]
               for n, k, s in zip(input_shape[1:3], self.pool_size, self.strides)]
        if min(out) < 1:
            raise ValueError(f'{type(self).__name__} "{self.name}": pool {self.pool_size} does not fit '
                             f"the input {tuple(input_shape[1:3])} with padding 'valid'")
        return (None, *out, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPooling2D(Pooling2D):
    pool_function = staticmethod(F.max_pool2d)


class AveragePooling2D(Pooling2D):
    pool_function = staticmethod(F.avg_pool2d)


class GlobalAveragePooling2D(Layer):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""

    def call(self, x, training=False):
        return F.mean(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1])


class GlobalMaxPooling2D(Layer):
    """Max over height and width: (N, H, W, C) -> (N, C)."""

    def call(self, x, training=False):
        return F.max(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1])


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
