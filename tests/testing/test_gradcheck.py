"""The testing tools, used the way a user would use them: define a custom op, check its
gradient with ``gradcheck`` on hypothesis-drawn inputs, and see gradcheck catch a wrong
backward pass. The first block is the README's "Writing your own op" example, verbatim."""
from __future__ import annotations

import pytest

from tinycnn import Tensor
from tinycnn.testing import GradcheckError

# --- README example: start ----------------------------------------------------------------
import numpy as np
from hypothesis import given

from tinycnn.ops import Function
from tinycnn.testing import gradcheck
from tinycnn.testing.strategies import arrays


class Softplus(Function):
    """z = log(1 + e^x);  dz/dx = 1 / (1 + e^-x), the sigmoid."""

    def forward(self, x):
        self.x = x                     # save what backward needs
        return np.logaddexp(0, x)      # log(e^0 + e^x), stable for large |x|

    def backward(self, g):             # g = dL/dz; return dL/dx, one per input
        return (g / (1 + np.exp(-self.x)),)


def softplus(x):
    return Softplus.apply(x)


@given(arrays((3, 4), low=-5.0, high=5.0))
def test_softplus_gradient(x):
    gradcheck(softplus, x)             # raises GradcheckError on a mismatch
# --- README example: end ------------------------------------------------------------------


def test_softplus_forward_and_graph():
    x = Tensor(np.array([-30.0, 0.0, 30.0]), requires_grad=True)
    z = softplus(x)
    assert z.requires_grad and isinstance(z._ctx, Softplus) and "grad_fn=Softplus" in repr(z)
    np.testing.assert_allclose(z.data, [np.exp(-30.0), np.log(2.0), 30.0], rtol=1e-12)
    z.sum().backward()
    np.testing.assert_allclose(x.grad, [np.exp(-30.0), 0.5, 1.0], rtol=1e-12)


class XSinX(Function):
    """A two-term derivative: z = x sin x,  dz/dx = sin x + x cos x."""

    def forward(self, x):
        self.x = x
        return x * np.sin(x)

    def backward(self, g):
        return (g * (np.sin(self.x) + self.x * np.cos(self.x)),)


class XSinXForgetsATerm(XSinX):
    """The classic mistake: the product rule's second term is missing."""

    def backward(self, g):
        return (g * np.sin(self.x),)


class XSinXWrongAtOneElement(XSinX):
    """Right everywhere except element (1, 2), whose gradient is dropped (set to 0)."""

    def backward(self, g):
        dx = super().backward(g)[0].copy()
        dx[1, 2] = 0.0
        return (dx,)


class ScaledSum(Function):
    """Two inputs: z = a * sum(b) for a of shape (n,); dz_i/da_i = sum(b), and
    dL/db_j = sum_i g_i a_i for every j."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b.sum()

    def backward(self, g):
        return g * self.b.sum(), np.full_like(self.b, (g * self.a).sum())


class ScaledSumWrongSecondGradient(ScaledSum):
    """dL/da is right, dL/db is twice too large."""

    def backward(self, g):
        da, db = super().backward(g)
        return da, 2 * db


@given(arrays((2, 3), low=-3.0, high=3.0))
def test_x_sin_x_gradient(x):
    report = gradcheck(XSinX.apply, x)
    assert report.ok and report.checked == 6
    assert report.worst_abs_error <= report.atol + report.rtol * abs(report.numeric) + 1e-15
    assert str(report).startswith("gradcheck: gradients agree (6 elements, atol=1e-06, rtol=1e-05)")


# gradcheck differentiates L = sum(f(x) * r) with fixed weights r drawn uniformly from
# [0.5, 1.5] (see tinycnn/testing/gradcheck.py), so the numbers in a report are the
# derivatives of f times the weight of that output: the assertions below only use what is
# independent of r (ratios, signs, the range of r).

def test_gradcheck_catches_a_missing_term_and_names_the_element():
    x = np.array([[0.5, -1.0, 2.0], [1.5, -2.5, 0.7]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(XSinXForgetsATerm.apply, x)
    assert isinstance(info.value, AssertionError)    # so pytest reports it as a failure
    report = info.value.report
    assert not report.ok and report.checked == 6 and report.input_index == 0
    i = report.element
    assert isinstance(i, tuple) and len(i) == 2 and 0 <= i[0] < 2 and 0 <= i[1] < 3
    # at that element: analytic / numeric = sin x / (sin x + x cos x), whatever the weight
    assert report.analytic / report.numeric == pytest.approx(
        np.sin(x[i]) / (np.sin(x[i]) + x[i] * np.cos(x[i])), rel=1e-6)
    text = str(info.value)
    assert text.startswith("gradcheck: GRADIENT MISMATCH (6 elements, atol=1e-06, rtol=1e-05)")
    assert f"closest to failing: input 0 element {i}, " in text
    assert f"analytic {report.analytic:.10g} vs numeric {report.numeric:.10g}" in text


def test_gradcheck_pinpoints_a_single_wrong_element():
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    report = gradcheck(XSinXWrongAtOneElement.apply, x, raise_on_failure=False)
    assert not report.ok
    assert (report.input_index, report.element) == (0, (1, 2))
    assert report.analytic == 0.0
    true = np.sin(x[1, 2]) + x[1, 2] * np.cos(x[1, 2])
    assert 0.5 <= report.numeric / true <= 1.5          # true derivative times its weight
    assert report.worst_abs_error == pytest.approx(abs(report.numeric))
    assert f"input 0 element (1, 2), analytic 0 vs numeric {report.numeric:.10g}" in str(report)
    # the correct op passes on the same input
    assert gradcheck(XSinX.apply, x).ok


def test_gradcheck_names_the_input_with_the_wrong_gradient():
    a, b = np.array([1.5, -0.5]), np.array([0.5, -2.0, 4.0])
    assert gradcheck(ScaledSum.apply, a, b).ok
    with pytest.raises(GradcheckError, match=r"closest to failing: input 1 element \(\d,\)") as info:
        gradcheck(ScaledSumWrongSecondGradient.apply, a, b)
    report = info.value.report
    assert report.checked == 5 and report.input_index == 1
    assert report.analytic / report.numeric == pytest.approx(2.0, rel=1e-6)


def test_gradcheck_rejects_a_function_that_does_not_return_a_tensor():
    with pytest.raises(TypeError, match="gradcheck: the function must return a Tensor, got ndarray"):
        gradcheck(lambda t: t.data * 2, np.ones(3))


def test_gradcheck_needs_inputs():
    with pytest.raises(ValueError, match="gradcheck: give at least one input"):
        gradcheck(lambda: Tensor([1.0]))
