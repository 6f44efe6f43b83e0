"""Hypothesis strategies for tensors and sliding-window configurations.

Inputs for ops with kinks are built so that no kink lies within a finite-difference step:

* :func:`away_from_zero` arrays have |x| >= 0.05, so relu's kink at 0 is never crossed;
* :func:`distinct_values` arrays hold values at least 0.01 apart (a shuffled grid), so a
  max never has a tie or a near-tie that a step of 1e-6 could flip.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("tinycnn.testing.strategies needs hypothesis: pip install 'tinycnn[test]'") from err

from ..kernels.geometry import window_geometry  # noqa: F401  (re-exported for users)


@dataclass(frozen=True)
class WindowConfig:
    """A conv or pool configuration: input (n, h, w, c_in), window, strides, padding,
    and for convolutions the number of output channels."""
    n: int
    h: int
    w: int
    c_in: int
    window: tuple
    strides: tuple
    padding: str
    c_out: int = 0

    @property
    def input_shape(self):
        return (self.n, self.h, self.w, self.c_in)

    @property
    def kernel_shape(self):
        return (*self.window, self.c_in, self.c_out)


def shapes(min_dims=1, max_dims=4, min_side=1, max_side=5):
    """Array shapes with every side in [min_side, max_side]."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def _from_seed(build):
    return st.integers(0, 2**32 - 1).map(lambda seed: build(np.random.default_rng(seed)))


def arrays(shape, low=-2.0, high=2.0, dtype=np.float64):
    """Uniform random arrays of ``shape`` in [low, high]."""
    return _from_seed(lambda r: r.uniform(low, high, size=shape).astype(dtype))


def away_from_zero(shape, margin=0.05, high=2.0, dtype=np.float64):
    """Random arrays whose every element has |x| in [margin, high]: safe for relu."""
    def build(r):
        magnitude = r.uniform(margin, high, size=shape)
        return (magnitude * r.choice([-1.0, 1.0], size=shape)).astype(dtype)
    return _from_seed(build)


def distinct_values(shape, spacing=0.01, dtype=np.float64):
    """Random arrays whose elements are pairwise at least ``spacing`` apart (a shuffled,
    centred grid, so negative values are present): safe for max and max-pool."""
    def build(r):
        size = int(np.prod(shape))
        grid = (np.arange(size) - size / 2) * spacing
        return r.permutation(grid).reshape(shape).astype(dtype)
    return _from_seed(build)


@st.composite
def window_configs(draw, max_batch=3, max_side=9, max_channels=4, max_window=5, max_stride=3,
                   conv=True, paddings=("valid", "same")):
    """Convolution (``conv=True``) or pooling configurations whose window fits the input."""
    padding = draw(st.sampled_from(paddings))
    kh, kw = draw(st.integers(1, max_window)), draw(st.integers(1, max_window))
    min_h, min_w = (1, 1) if padding == "same" else (kh, kw)
    h = draw(st.integers(min_h, max(min_h, max_side)))
    w = draw(st.integers(min_w, max(min_w, max_side)))
    strides = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    return WindowConfig(n=draw(st.integers(1, max_batch)), h=h, w=w,
                        c_in=draw(st.integers(1, max_channels)), window=(kh, kw), strides=strides,
                        padding=padding, c_out=draw(st.integers(1, max_channels)) if conv else 0)


def conv_configs(**kwargs):
    return window_configs(conv=True, **kwargs)


def pool_configs(max_window=3, **kwargs):
    return window_configs(conv=False, max_window=max_window, **kwargs)
