"""Weight initializers with Keras's names and formulas.

Fans: a Dense kernel (in, out) has fan_in = in, fan_out = out; a conv kernel
(kh, kw, cin, cout) has fan_in = kh*kw*cin and fan_out = kh*kw*cout.

* ``glorot_uniform``: U(-l, l), l = sqrt(6 / (fan_in + fan_out))     (the default)
* ``he_uniform``: l = sqrt(6 / fan_in);  ``lecun_uniform``: l = sqrt(3 / fan_in)
* ``glorot_normal``, ``he_normal``, ``lecun_normal``: a normal truncated at two standard
  deviations, with variance 2 / (fan_in + fan_out), 2 / fan_in and 1 / fan_in; the standard
  deviation before truncation is divided by 0.8796..., the std of a unit normal truncated
  at +-2, so the variance after truncation is the one named.
* ``random_normal`` N(0, 0.05^2), ``random_uniform`` U(-0.05, 0.05), ``zeros``, ``ones``,
  ``constant``.
* ``dirac`` (tinycnn's own, PyTorch's ``dirac_`` on the first filters): a conv kernel whose
  first min(cin, cout) filters pass their own input channel through (1 at the centre tap,
  0 elsewhere), the other filters drawn by ``fill`` (glorot_uniform by default): a layer
  that starts as the identity on those channels.

All draws come from tinycnn's seeded generator (:func:`tinycnn.utils.rng`).
"""
from __future__ import annotations

import numpy as np

from . import utils

TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def compute_fans(shape) -> tuple[float, float]:
    shape = tuple(shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive_field = float(np.prod(shape[:-2]))
    return receptive_field * shape[-2], receptive_field * shape[-1]


class Initializer:
    """Callable ``init(shape, dtype) -> ndarray``."""

    def __call__(self, shape, dtype="float32"):  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"class_name": type(self).__name__, **vars(self)}


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=dtype)


def in_chunks(draw, shape, dtype, chunk=1 << 16) -> np.ndarray:
    """``draw(n)`` (n float64 values of the one generator) into a new ``dtype`` array of
    ``shape``, at most ``chunk`` values at a time: the values of one big draw, without its
    float64 temporary of twice the weight's memory."""
    out = np.empty(int(np.prod(shape)), dtype)
    for start in range(0, out.size, chunk):
        out[start:start + chunk] = draw(min(chunk, out.size - start))
    return out.reshape(shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype="float32"):
        return in_chunks(lambda n: utils.rng().uniform(self.minval, self.maxval, size=n), shape, dtype)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype="float32"):
        return in_chunks(lambda n: utils.rng().normal(self.mean, self.stddev, size=n), shape, dtype)


def truncated_normal(shape, stddev) -> np.ndarray:
    """N(0, stddev^2) restricted to [-2 stddev, 2 stddev] (redraw what falls outside)."""
    values = utils.rng().normal(0.0, 1.0, size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = utils.rng().normal(0.0, 1.0, size=int(outside.sum()))
        outside = np.abs(values) > 2
    return values * stddev


class VarianceScaling(Initializer):
    """Draws with variance ``scale / n``, n = fan_in, fan_out or their mean (``mode``)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * variance)
            return in_chunks(lambda n: utils.rng().uniform(-limit, limit, size=n), shape, dtype)
        return truncated_normal(shape, np.sqrt(variance) / TRUNCATED_STD).astype(dtype)


class GlorotUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")


class GlorotNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")


class HeUniform(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")


class HeNormal(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")


class LecunUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "uniform")


class LecunNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "truncated_normal")


class Dirac(Initializer):
    def __init__(self, fill="glorot_uniform"):
        get(fill)  # a wrong name fails here
        self.fill = fill

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 4:
            raise ValueError(f"dirac: needs a conv kernel shape (kh, kw, cin, cout), got {tuple(shape)}")
        kh, kw, cin, cout = shape
        w = get(self.fill)(shape, dtype)
        identity = min(cin, cout)
        w[..., :identity] = 0
        w[kh // 2, kw // 2, np.arange(identity), np.arange(identity)] = 1
        return w


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_uniform": RandomUniform, "random_normal": RandomNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "dirac": Dirac,
}
_CLASSES = {cls.__name__: cls for cls in (*_BY_NAME.values(), VarianceScaling)}


def get(identifier) -> Initializer:
    """An initializer from a name ('glorot_uniform', ...), a config dict or an instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        cls = _CLASSES.get(config.pop("class_name", None))
        if cls is None:
            raise ValueError(f"unknown initializer config {identifier!r}")
        init = cls.__new__(cls)
        init.__dict__.update(config)
        return init
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if callable(identifier):
        return identifier
    raise ValueError(f"unknown initializer {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))}")
