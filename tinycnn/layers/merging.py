"""Merge layers: combine a list of tensors into one (the branches of a functional model).

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum`` and ``Minimum`` combine their
inputs elementwise (shapes equal, or broadcastable as NumPy broadcasts), left to right:
``Add()([a, b, c]) = (a + b) + c``, ``Average = (a + b + c) / 3``. ``Concatenate(axis)``
joins them along one axis (by default the channels). The gradients are the ops' own
(:mod:`tinycnn.ops.arithmetic`, :mod:`tinycnn.ops.shape`).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .base import Layer, shape_str


class Merge(Layer):
    """A layer called on a list of at least two tensors, combined pairwise by ``combine``."""

    min_inputs, max_inputs = 2, None

    def build(self, input_shape) -> None:
        count = len(input_shape) if isinstance(input_shape, list) else 1
        if not isinstance(input_shape, list) or count < self.min_inputs or \
                (self.max_inputs is not None and count > self.max_inputs):
            wanted = f"exactly {self.max_inputs}" if self.max_inputs == self.min_inputs else f"at least {self.min_inputs}"
            raise ValueError(f'{type(self).__name__} layer "{self.name}" must be called on a list of {wanted} '
                             f"inputs, e.g. {type(self).__name__}()([a, b]); got {shape_str(input_shape)}")

    def compute_output_shape(self, input_shape):
        try:
            sample = np.broadcast_shapes(*(tuple(s[1:]) for s in input_shape))
        except ValueError:
            raise ValueError(f'{type(self).__name__} layer "{self.name}": inputs of shapes '
                             f"{shape_str(input_shape)} cannot be combined elementwise; give them the "
                             "same shape (or use Concatenate)") from None
        return (None, *sample)

    def call(self, xs, training=False):
        out = xs[0]
        for x in xs[1:]:
            out = self.combine(out, x)
        return out

    def combine(self, a, b):  # pragma: no cover - interface
        raise NotImplementedError


class Add(Merge):
    """The sum of the inputs."""

    def combine(self, a, b):
        return F.add(a, b)


class Subtract(Merge):
    """``a - b`` of exactly two inputs ``[a, b]``."""

    max_inputs = 2

    def combine(self, a, b):
        return F.sub(a, b)


class Multiply(Merge):
    """The elementwise product of the inputs."""

    def combine(self, a, b):
        return F.mul(a, b)


class Average(Add):
    """The mean of the inputs: their sum divided by their number."""

    def call(self, xs, training=False):
        return F.div(super().call(xs, training), float(len(xs)))


class Maximum(Merge):
    """The elementwise maximum of the inputs."""

    def combine(self, a, b):
        return F.maximum(a, b)


class Minimum(Merge):
    """The elementwise minimum of the inputs."""

    def combine(self, a, b):
        return F.minimum(a, b)


class Concatenate(Merge):
    """The inputs joined along ``axis`` (default -1, the channels of NHWC images); every
    other axis must agree."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        ranks = {len(s) for s in input_shape}
        if len(ranks) > 1 or not -len(input_shape[0]) <= self.axis < len(input_shape[0]) or self.axis % len(input_shape[0]) == 0:
            raise ValueError(f'Concatenate layer "{self.name}": axis={self.axis} needs inputs of one rank '
                             f"and a non-batch axis; got shapes {shape_str(input_shape)}")
        axis = self.axis % len(input_shape[0])
        others = {tuple(s[1:axis]) + tuple(s[axis + 1:]) for s in input_shape}
        if len(others) > 1:
            raise ValueError(f'Concatenate layer "{self.name}": inputs of shapes {shape_str(input_shape)} '
                             f"differ outside axis {self.axis}; only the concatenated axis may differ")
        return (*input_shape[0][:axis], sum(s[axis] for s in input_shape), *input_shape[0][axis + 1:])

    def call(self, xs, training=False):
        return F.concatenate(xs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
