"""The Numba tier's optimizer updates: flat, in place, one pass over memory."""
from __future__ import annotations

import numpy as np

from .. import rules
from . import loops
from .loops import compiled_nogil, rule


_sgd_rule, _rmsprop_rule = rule(rules.sgd), rule(rules.rmsprop)
_adam_rule, _adamax_rule = rule(rules.adam), rule(rules.adamax)


# Optional slots are None: Numba compiles one loop per combination, without the missing
# slot, and hands the rule the parameter's own value in its place (which it ignores).
@compiled_nogil
def _sgd(p, g, velocity, lr, momentum, nesterov, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        if velocity is None:
            p[k] = _sgd_rule(p[k], g[k], p[k], lr, momentum, nesterov, False)[0]
        else:
            p[k], velocity[k] = _sgd_rule(p[k], g[k], velocity[k], lr, momentum, nesterov, True)


@compiled_nogil
def _rmsprop(p, g, avg_sq, mom, avg_g, lr, rho, one_minus_rho, momentum, eps, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        m = p[k] if mom is None else mom[k]
        mg = p[k] if avg_g is None else avg_g[k]
        p[k], avg_sq[k], m, mg = _rmsprop_rule(p[k], g[k], avg_sq[k], m, mg, lr, rho, one_minus_rho, momentum,
                                               eps, mom is not None, avg_g is not None)
        if mom is not None:
            mom[k] = m
        if avg_g is not None:
            avg_g[k] = mg


@compiled_nogil
def _adam(p, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, eps, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        p[k], m[k], v[k] = _adam_rule(p[k], g[k], m[k], v[k], alpha, one_minus_beta_1, one_minus_beta_2, eps)


@compiled_nogil
def _adamax(p, g, m, u, step, one_minus_beta_1, beta_2, eps, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        p[k], m[k], u[k] = _adamax_rule(p[k], g[k], m[k], u[k], step, one_minus_beta_1, beta_2, eps)


def _flat(*arrays):
    """1-D views of C-contiguous arrays (None stays None), or None if any array would need
    a copy (an in-place update through a copy would be lost)."""
    if any(a is not None and not a.flags.c_contiguous for a in arrays):
        return None
    return [None if a is None else a.reshape(-1) for a in arrays]


class Updates:
    """SGD, RMSprop, Adam and Adamax (Adagrad and Adadelta come from the NumPy tier)."""

    # ----- optimizer updates (in place on p and its slots) ------------------------------
    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        flat = _flat(p, g, velocity)
        if flat is None:
            return super().sgd_update(p, g, velocity, lr, momentum, nesterov)
        t = p.dtype.type
        loops.run(_sgd, p.size, *flat, t(lr), t(momentum), bool(nesterov), split=p.size >= loops.SPLIT_ELEMENTS)

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        flat = _flat(p, g, avg_sq, mom, avg_g)
        if flat is None:
            return super().rmsprop_update(p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps)
        t = p.dtype.type
        loops.run(_rmsprop, p.size, *flat, t(lr), t(rho), t(1 - rho), t(momentum), t(eps),
               split=p.size >= loops.SPLIT_ELEMENTS)

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        flat = _flat(p, g, m, v)
        if flat is None:
            return super().adam_update(p, g, m, v, lr, beta_1, beta_2, eps, t)
        cast = p.dtype.type
        alpha = lr * (1 - beta_2 ** t) ** 0.5 / (1 - beta_1 ** t)
        loops.run(_adam, p.size, *flat, cast(alpha), cast(1 - beta_1), cast(1 - beta_2), cast(eps),
               split=p.size >= loops.SPLIT_ELEMENTS)

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        flat = _flat(p, g, m, u)
        if flat is None:
            return super().adamax_update(p, g, m, u, lr, beta_1, beta_2, eps, t)
        cast = p.dtype.type
        loops.run(_adamax, p.size, *flat, cast(lr / (1 - beta_1 ** t)), cast(1 - beta_1), cast(beta_2), cast(eps),
               split=p.size >= loops.SPLIT_ELEMENTS)
