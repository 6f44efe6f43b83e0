"""Compare analytic gradients with central finite differences, element by element.

For a function ``f`` of tensors, ``gradcheck`` builds the scalar ``L = sum(f(x) * r)`` with a
fixed random ``r`` (so every output element matters and nothing cancels by symmetry), gets
``dL/dx`` from ``backward``, and compares every element with

    (L(x + eps e_i) - L(x - eps e_i)) / (2 eps).

Everything runs in float64. With eps = 1e-6 the truncation error of the central difference
is O(eps^2) ~ 1e-12 and the rounding error about 1e-16 |L| / eps ~ 1e-10 |L|, so the default
tolerance ``|analytic - numeric| <= atol + rtol * |numeric|`` with atol = 1e-6 and
rtol = 1e-5 leaves a wide margin for correct code while any real mistake (a wrong term, a
missing factor, a mis-routed gradient) shows up as an error of order 1.

Functions with kinks (relu, max, max-pool, clip) must be checked at inputs where no kink
lies within eps of any element; the strategies in :mod:`tinycnn.testing.strategies` make
such inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when a gradient disagrees; carries the report."""

    def __init__(self, report: "GradcheckReport"):
        super().__init__(str(report))
        self.report = report


@dataclass
class GradcheckReport:
    ok: bool
    worst_abs_error: float
    worst_rel_error: float
    input_index: int       # the input holding the element closest to failing
    element: tuple         # that element's index
    analytic: float
    numeric: float
    checked: int           # number of gradient elements compared
    atol: float
    rtol: float

    def __str__(self) -> str:
        verdict = "gradients agree" if self.ok else "GRADIENT MISMATCH"
        return (f"gradcheck: {verdict} ({self.checked} elements, atol={self.atol:g}, "
                f"rtol={self.rtol:g}); worst absolute error {self.worst_abs_error:.3e}, worst "
                f"relative error {self.worst_rel_error:.3e}; closest to failing: input "
                f"{self.input_index} element {self.element}, analytic {self.analytic:.10g} vs numeric "
                f"{self.numeric:.10g}")


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0, raise_on_failure=True):
    """Check ``fn``'s gradient with respect to every input, in float64.

    ``fn`` takes Tensors (one per entry of ``inputs``) and returns a Tensor; it must be
    deterministic (give random ops a freshly seeded generator on every call).
    Returns a :class:`GradcheckReport`; raises :class:`GradcheckError` on a mismatch
    unless ``raise_on_failure=False``.
    """
    arrays = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    if not arrays:
        raise ValueError("gradcheck: give at least one input")
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: the function must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    out.backward(weights)

    def objective() -> float:
        with no_grad():
            return float((fn(*[Tensor(a) for a in arrays]).data * weights).sum())

    worst_abs = worst_rel = 0.0
    worst = (-1.0, 0, (), 0.0, 0.0)  # the element closest to failing: (score, input, index, analytic, numeric)
    checked = 0
    for k, (array, leaf) in enumerate(zip(arrays, leaves)):
        analytic = leaf.grad if leaf.grad is not None else np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = objective()
            array[index] = saved - eps
            minus = objective()
            array[index] = saved
            numeric = (plus - minus) / (2 * eps)
            error = abs(analytic[index] - numeric)
            worst_abs = max(worst_abs, error)
            worst_rel = max(worst_rel, error / max(abs(numeric), 1e-12))
            score = error / (atol + rtol * abs(numeric))   # above 1 means this element fails
            if score > worst[0]:
                worst = (score, k, index, float(analytic[index]), numeric)
            checked += 1
    report = GradcheckReport(ok=worst[0] <= 1.0, worst_abs_error=worst_abs, worst_rel_error=worst_rel,
                             input_index=worst[1], element=worst[2], analytic=worst[3],
                             numeric=worst[4], checked=checked, atol=atol, rtol=rtol)
    if raise_on_failure and not report.ok:
        raise GradcheckError(report)
    return report
