"""Batch normalisation."""
from __future__ import annotations

from .. import functional as F
from .base import Layer, serialize


class BatchNormalization(Layer):
    """Per channel (last axis): training normalises with the batch's mean and (biased)
    variance and updates ``moving = momentum * moving + (1 - momentum) * batch``; inference
    uses the moving statistics. Weights in Keras's order: gamma, beta, moving_mean,
    moving_variance (the last two not trainable)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, 3):
            raise ValueError(f"BatchNormalization: only the channel axis (-1) is supported, got axis={axis}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.initializers = {"gamma": gamma_initializer, "beta": beta_initializer,
                             "moving_mean": moving_mean_initializer,
                             "moving_variance": moving_variance_initializer}

    def build(self, input_shape):
        channels = (input_shape[-1],)
        init = self.initializers
        self.gamma = self.add_weight("gamma", channels, init["gamma"]) if self.scale else None
        self.beta = self.add_weight("beta", channels, init["beta"]) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", channels, init["moving_mean"], trainable=False)
        self.moving_variance = self.add_weight("moving_variance", channels, init["moving_variance"],
                                               trainable=False)

    def call(self, x, training=False):
        channels = x.shape[-1]
        gamma = self.gamma if self.gamma is not None else F.tensor([1.0] * channels, "BatchNormalization", x.dtype)
        beta = self.beta if self.beta is not None else F.tensor([0.0] * channels, "BatchNormalization", x.dtype)
        return F.batch_norm(x, gamma, beta, self.moving_mean.data, self.moving_variance.data,
                            training=training and self.trainable, momentum=self.momentum,
                            epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **{f"{k}_initializer": serialize(v) for k, v in self.initializers.items()}}
