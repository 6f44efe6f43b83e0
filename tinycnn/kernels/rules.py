"""Pointwise rules written once, as plain Python on one element, and compiled by each tier
that loops over elements: ``numba.njit(inline="always")(rule)`` in the Numba tier,
``cuda.jit(device=True)(rule)`` in the CUDA tier (as :func:`kernels.geometry.window_cells`
is). The NumPy tier computes the same rules on whole arrays; the tests check every tier
against these functions.

Each optimizer rule takes a parameter value, its gradient and its slots, and returns the
new parameter value and slots; scalars are already cast to the arrays' dtype. A slot that
a configuration does not use (no momentum, not centered) arrives with its flag False and
any value, and comes back unchanged.
"""
from __future__ import annotations

import math

import numpy as np


def random_bits(shape, rng) -> np.ndarray:
    """``prod(shape)`` random 32-bit words of the Generator ``rng`` as uint32 (a host
    array): its bit generator's raw 64-bit outputs, low half first, which are the words
    ``rng.random(dtype=float32)`` would read one at a time, drawn without its per-element
    conversion (about 2.5x faster). Every tier's dropout reads these, through
    :func:`uniform_of`, so a seed gives one mask on every tier, the mask
    ``rng.random(shape, dtype=float32) >= rate`` gives a fresh generator."""
    count = int(np.prod(shape))
    return rng.bit_generator.random_raw(-(-count // 2)).view(np.uint32)[:count].reshape(shape)


def relu(x):
    """max(x, 0); NaN passes through, as with np.maximum."""
    return 0 if x < 0 else x


def relu_grad(y, dy):
    """dy where the relu's output y > 0, else 0."""
    return dy if y > 0 else 0


# erfc(z) for z >= 0 as t exp(-z^2 + P(t)), t = 1 / (1 + z/2), P of degree 9 (a Chebyshev
# fit, Numerical Recipes' erfcc): relative error below 1.2e-7 for every z, the tail included.
# P's coefficients from the highest power down (Horner's order), then its constant term.
ERFC_HORNER = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
               0.37409196, 1.00002368, -1.26551223)


def normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2, from the erfc fit above:
    relative error below 1.2e-7 on the lower tail, absolute below 1e-7 everywhere. One exp
    and a polynomial, about 3x faster than math.erf in a compiled loop (GELU's cost)."""
    z = abs(x) * 0.7071067811865476
    t = 1.0 / (1.0 + 0.5 * z)
    p = ERFC_HORNER[0]
    for c in ERFC_HORNER[1:]:
        p = c + t * p
    half_erfc = 0.5 * t * math.exp(p - z * z)
    return 1.0 - half_erfc if x >= 0 else half_erfc


def normal_pdf(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    return 0.3989422804014327 * math.exp(-0.5 * x * x)


def uniform_of(bits):
    """The float32 uniform in [0, 1) that NumPy's ``Generator.random(dtype=float32)`` makes
    of 32 random bits: their top 24 bits over 2**24 (exact in float32 and float64)."""
    return (bits >> 8) * 5.9604644775390625e-08


def dropout_keep(uniform, rate, scale):
    """The mask value: ``scale`` = 1 / (1 - rate) when the draw is kept (>= rate), else 0."""
    return scale if uniform >= rate else 0


def sgd(p, g, v, lr, momentum, nesterov, has_velocity):
    """Without velocity: p - lr g. With: v = momentum v - lr g, then
    p + momentum v - lr g (nesterov) or p + v. Returns (p, v)."""
    if not has_velocity:
        return p - lr * g, v
    v = momentum * v - lr * g
    return (p + (momentum * v - lr * g) if nesterov else p + v), v


def rmsprop(p, g, a, m, mg, lr, rho, one_minus_rho, momentum, eps, has_momentum, centered):
    """a = rho a + (1-rho) g^2; the denominator a + eps, minus mg^2 when centered (mg = rho
    mg + (1-rho) g); inc = lr g / sqrt(denominator); p - inc, or with momentum
    m = momentum m + inc, p - m. Returns (p, a, m, mg)."""
    a = rho * a + one_minus_rho * g * g
    denominator = a + eps
    if centered:
        mg = rho * mg + one_minus_rho * g
        denominator -= mg * mg
    inc = lr * g / math.sqrt(denominator)
    if has_momentum:
        m = momentum * m + inc
        return p - m, a, m, mg
    return p - inc, a, m, mg


def adam(p, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, eps):
    """m += (g - m)(1-b1); v += (g^2 - v)(1-b2); p - alpha m / (sqrt(v) + eps), with
    alpha = lr sqrt(1-b2^t) / (1-b1^t). Returns (p, m, v)."""
    m = m + (g - m) * one_minus_beta_1
    v = v + (g * g - v) * one_minus_beta_2
    return p - alpha * m / (math.sqrt(v) + eps), m, v


def adamax(p, g, m, u, step, one_minus_beta_1, beta_2, eps):
    """m += (g - m)(1-b1); u = max(b2 u, |g|); p - step m / (u + eps), with
    step = lr / (1-b1^t). Returns (p, m, u)."""
    m = m + (g - m) * one_minus_beta_1
    u = max(beta_2 * u, abs(g))
    return p - step * m / (u + eps), m, u


def adagrad(p, g, acc, lr, eps):
    """acc + g^2; p - lr g / sqrt(acc + eps). Returns (p, acc)."""
    acc = acc + g * g
    return p - lr * g / math.sqrt(acc + eps), acc


def adadelta(p, g, acc_g, acc_dx, lr, rho, one_minus_rho, eps):
    """acc_g = rho acc_g + (1-rho) g^2; dx = -sqrt(acc_dx + eps) / sqrt(acc_g + eps) g;
    acc_dx = rho acc_dx + (1-rho) dx^2; p + lr dx. Returns (p, acc_g, acc_dx)."""
    acc_g = rho * acc_g + one_minus_rho * g * g
    dx = -math.sqrt(acc_dx + eps) / math.sqrt(acc_g + eps) * g
    acc_dx = rho * acc_dx + one_minus_rho * dx * dx
    return p + lr * dx, acc_g, acc_dx
