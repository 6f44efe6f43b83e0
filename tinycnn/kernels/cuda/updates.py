"""The CUDA tier's optimizer updates: the rules of kernels.rules, one thread per element."""
from __future__ import annotations

from .. import rules
from .device import cuda


_sgd_rule, _rmsprop_rule, _adam_rule, _adamax_rule, _adagrad_rule, _adadelta_rule = (
    cuda.jit(device=True)(rule) for rule in (rules.sgd, rules.rmsprop, rules.adam, rules.adamax, rules.adagrad,
                                             rules.adadelta))


# Optional slots (no momentum, not centered) are passed as a 1-element dummy array plus a
# flag, which keeps one compiled kernel per dtype; the rule then gets p's value in their place.
@cuda.jit
def _sgd(p, g, velocity, lr, momentum, has_velocity, nesterov):
    k = cuda.grid(1)
    if k < p.size:
        v = velocity[k] if has_velocity else p[k]
        p[k], v = _sgd_rule(p[k], g[k], v, lr, momentum, nesterov, has_velocity)
        if has_velocity:
            velocity[k] = v


@cuda.jit
def _rmsprop(p, g, avg_sq, mom, avg_g, lr, rho, one_minus_rho, momentum, eps, has_mom, centered):
    k = cuda.grid(1)
    if k < p.size:
        m = mom[k] if has_mom else p[k]
        mg = avg_g[k] if centered else p[k]
        p[k], avg_sq[k], m, mg = _rmsprop_rule(p[k], g[k], avg_sq[k], m, mg, lr, rho, one_minus_rho, momentum,
                                               eps, has_mom, centered)
        if has_mom:
            mom[k] = m
        if centered:
            avg_g[k] = mg


@cuda.jit
def _adam(p, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, eps):
    k = cuda.grid(1)
    if k < p.size:
        p[k], m[k], v[k] = _adam_rule(p[k], g[k], m[k], v[k], alpha, one_minus_beta_1, one_minus_beta_2, eps)


@cuda.jit
def _adamax(p, g, m, u, step, one_minus_beta_1, beta_2, eps):
    k = cuda.grid(1)
    if k < p.size:
        p[k], m[k], u[k] = _adamax_rule(p[k], g[k], m[k], u[k], step, one_minus_beta_1, beta_2, eps)


@cuda.jit
def _adagrad(p, g, acc, lr, eps):
    k = cuda.grid(1)
    if k < p.size:
        p[k], acc[k] = _adagrad_rule(p[k], g[k], acc[k], lr, eps)


@cuda.jit
def _adadelta(p, g, acc_g, acc_dx, lr, rho, one_minus_rho, eps):
    k = cuda.grid(1)
    if k < p.size:
        p[k], acc_g[k], acc_dx[k] = _adadelta_rule(p[k], g[k], acc_g[k], acc_dx[k], lr, rho, one_minus_rho, eps)


class Updates:
    """Every optimizer update, in place on flattened device arrays."""

    # ----- optimizer updates (in place on p and its slots) ------------------------------
    def _in_place(self, kernel, arrays, scalars):
        """Run an elementwise update on the flattened ``arrays`` (p first; None means an
        absent slot, passed as a 1-element dummy). Non-contiguous arrays are updated
        through contiguous copies that are written back."""
        xp = self.xp
        p = arrays[0]
        work = []
        for a in arrays:
            if a is None:
                work.append(xp.zeros(1, dtype=p.dtype))
            elif a.flags.c_contiguous:
                work.append(a)
            else:
                work.append(xp.ascontiguousarray(a))
        self._launch(kernel, p.size, *[a.reshape(-1) for a in work], *scalars)
        for position, (a, copy) in enumerate(zip(arrays, work)):
            if position != 1 and a is not None and copy is not a:   # g (position 1) is read only
                a[...] = copy

    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        t = p.dtype.type
        self._in_place(_sgd, [p, g, velocity],
                       [t(lr), t(momentum), velocity is not None, bool(nesterov)])

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        t = p.dtype.type
        self._in_place(_rmsprop, [p, g, avg_sq, mom, avg_g],
                       [t(lr), t(rho), t(1 - rho), t(momentum), t(eps), mom is not None,
                        avg_g is not None])

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        cast = p.dtype.type
        alpha = lr * (1 - beta_2 ** t) ** 0.5 / (1 - beta_1 ** t)
        self._in_place(_adam, [p, g, m, v],
                       [cast(alpha), cast(1 - beta_1), cast(1 - beta_2), cast(eps)])

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        cast = p.dtype.type
        self._in_place(_adamax, [p, g, m, u],
                       [cast(lr / (1 - beta_1 ** t)), cast(1 - beta_1), cast(beta_2), cast(eps)])

    def adagrad_update(self, p, g, acc, lr, eps):
        t = p.dtype.type
        self._in_place(_adagrad, [p, g, acc], [t(lr), t(eps)])

    def adadelta_update(self, p, g, acc_g, acc_dx, lr, rho, eps):
        t = p.dtype.type
        self._in_place(_adadelta, [p, g, acc_g, acc_dx], [t(lr), t(rho), t(1 - rho), t(eps)])
