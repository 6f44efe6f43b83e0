"""The NumPy tier's optimizer updates: the rules of :mod:`kernels.rules` on whole arrays, in
place (the contract states their math)."""
from __future__ import annotations

import numpy as np


class Updates:
    """In-place optimizer updates as NumPy expressions."""

    # ----- optimizer updates (in place on p and its slots) ------------------------------
    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        """v = momentum * v - lr * g; p += momentum * v - lr * g (nesterov) or p += v.
        Without momentum (velocity None): p -= lr * g."""
        if velocity is None:
            p -= lr * g
            return
        velocity *= momentum
        velocity -= lr * g
        if nesterov:
            p += momentum * velocity - lr * g
        else:
            p += velocity

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        """a = rho a + (1 - rho) g^2; centered (avg_g given): mg = rho mg + (1 - rho) g and
        the denominator is a - mg^2 + eps, else a + eps; inc = lr g / sqrt(denominator);
        with momentum m = momentum m + inc, p -= m; else p -= inc."""
        avg_sq *= rho
        avg_sq += (1 - rho) * g * g
        denom = avg_sq + eps
        if avg_g is not None:
            avg_g *= rho
            avg_g += (1 - rho) * g
            denom -= avg_g * avg_g
        inc = lr * g / np.sqrt(denom)
        if mom is not None:
            mom *= momentum
            mom += inc
            p -= mom
        else:
            p -= inc

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
        p -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""
        m += (g - m) * (1 - beta_1)
        v += (g * g - v) * (1 - beta_2)
        alpha = float(lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t))  # a Python float: no float64 upcast
        p -= alpha * m / (np.sqrt(v) + eps)

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        """m = b1 m + (1-b1) g; u = max(b2 u, |g|); p -= lr m / ((1-b1^t) (u + eps))."""
        m += (g - m) * (1 - beta_1)
        np.maximum(beta_2 * u, np.abs(g), out=u)
        p -= (lr / (1 - beta_1 ** t)) * m / (u + eps)

    def adagrad_update(self, p, g, acc, lr, eps):
        """acc += g^2; p -= lr g / sqrt(acc + eps)."""
        acc += g * g
        p -= lr * g / np.sqrt(acc + eps)

    def adadelta_update(self, p, g, acc_g, acc_dx, lr, rho, eps):
        """acc_g = rho acc_g + (1-rho) g^2; dx = -sqrt(acc_dx + eps) / sqrt(acc_g + eps) g;
        acc_dx = rho acc_dx + (1-rho) dx^2; p += lr dx."""
        acc_g *= rho
        acc_g += (1 - rho) * g * g
        dx = -np.sqrt(acc_dx + eps) / np.sqrt(acc_g + eps) * g
        acc_dx *= rho
        acc_dx += (1 - rho) * dx * dx
        p += lr * dx
