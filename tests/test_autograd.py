"""The autograd engine: gradient bookkeeping, graph walking and its error messages.

Expected gradients here are worked out by hand from the chain rule (they are stated in each
test), not taken from tinycnn.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given

import tinycnn
from tinycnn import Tensor, no_grad
from tinycnn import functional as F
from tinycnn.autograd import unbroadcast
from tinycnn.ops import Function

from strategies import arrays, broadcast_pairs, seeds


def test_requires_grad_defaults_to_false_and_propagates():
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0], requires_grad=True)
    assert not a.requires_grad and a.grad is None
    assert not (a * 2).requires_grad
    assert (a * b).requires_grad
    assert (a * b)._ctx is not None and (a * 2)._ctx is None


def test_simple_gradient():
    """d/dx sum(x^2 + 3x) = 2x + 3."""
    x = Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    (x * x + 3 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, -1.0, 4.0])


def test_grad_accumulates_across_backward_calls_and_zero_grad_clears():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()          # dy/dx = 2x = [2, 4]
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    y.backward()               # the same graph again: gradients add up
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_backward_does_not_alias_the_upstream_gradient():
    """A leaf's .grad must be its own array: changing it must not change the caller's."""
    x = Tensor(np.zeros(3), requires_grad=True)
    upstream = np.ones(3)
    x.backward(upstream)
    x.grad += 1
    np.testing.assert_array_equal(upstream, np.ones(3))


def test_non_scalar_backward_needs_an_upstream_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert str(info.value) == (
        "backward: the output has shape (2, 3); a non-scalar output needs an explicit "
        "upstream gradient, e.g. y.backward(np.ones_like(y.data))")
    y.backward(np.full((2, 3), 0.5))   # with one it works: dy/dx = 2 -> 2 * 0.5
    np.testing.assert_allclose(x.grad, np.ones((2, 3)))


def test_single_element_output_of_any_shape_needs_no_upstream_gradient():
    x = Tensor(np.array([[3.0]]), requires_grad=True)
    (x * x).backward()
    np.testing.assert_allclose(x.grad, [[6.0]])


def test_upstream_gradient_of_the_wrong_shape_is_refused():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: upstream gradient has shape \(3,\), "
                                         r"expected \(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_tensor_without_gradient_says_why():
    with pytest.raises(RuntimeError, match="backward: this tensor does not require a gradient"):
        (Tensor([1.0]) * 2).backward()


def test_no_grad_builds_no_graph_and_restores_the_previous_state():
    x = Tensor(np.ones(2), requires_grad=True)
    assert tinycnn.is_grad_enabled()
    with no_grad():
        assert not tinycnn.is_grad_enabled()
        y = x * 3
        with no_grad():
            pass
        assert not tinycnn.is_grad_enabled()   # the inner block restored "disabled"
    assert tinycnn.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    np.testing.assert_array_equal(y.data, [3.0, 3.0])
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        y.sum().backward()


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert tinycnn.is_grad_enabled()


def test_detach_shares_memory_and_stops_the_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    d = x.detach()
    assert np.shares_memory(d.data, x.data)
    assert not d.requires_grad and d._ctx is None
    (x * d).sum().backward()   # only the non-detached factor carries gradient: dx = d = x
    np.testing.assert_allclose(x.grad, [1.0, 2.0])


def test_detach_of_a_computed_tensor_cuts_the_graph():
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = (x * x).detach()
    assert y._ctx is None and not y.requires_grad
    np.testing.assert_array_equal(y.data, [4.0])


def test_leaf_that_does_not_require_grad_gets_no_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = Tensor(np.array([5.0, 6.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad, [5.0, 6.0])


def test_diamond_graph_sums_the_gradients_of_every_use():
    """x feeds a = 2x and b = x^2, and L = sum(a * b) = sum(2 x^3): dL/dx = 6 x^2, which
    only comes out if both paths' contributions are added (and each counted once)."""
    xs = np.array([1.0, -2.0, 0.5])
    x = Tensor(xs, requires_grad=True)
    a, b = 2 * x, x * x
    (a * b).sum().backward()
    np.testing.assert_allclose(x.grad, 6 * xs ** 2)


def test_shared_intermediate_is_walked_once():
    """h = x^2 is used by three consumers: L = sum(h + h * h + exp(h)).
    dL/dh = 1 + 2h + e^h, dL/dx = dL/dh * 2x."""
    xs = np.array([0.3, -0.7])
    x = Tensor(xs, requires_grad=True)
    h = x * x
    (h + h * h + h.exp()).sum().backward()
    hs = xs ** 2
    np.testing.assert_allclose(x.grad, (1 + 2 * hs + np.exp(hs)) * 2 * xs, rtol=1e-12)


def test_deep_chain_does_not_hit_the_recursion_limit():
    """5000 chained ops, walked with the default recursion limit: the topological sort
    must be iterative. y = x * 1.0001^5000 (as 5000 multiplications) plus 5000 additions."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = x
        for _ in range(2500):
            y = y * 1.0001
            y = y + 1.0
        y.sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_allclose(x.grad, [1.0001 ** 2500] * 2, rtol=1e-10)


def test_gradients_keep_the_leaf_dtype():
    x32 = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    x64 = Tensor(np.ones(3), requires_grad=True)
    (x32 * 2).sum().backward()
    (x64 * 2).sum().backward()
    assert x32.grad.dtype == np.float32 and x64.grad.dtype == np.float64


# ----- broadcasting: gradients are reduced back to each input's shape ----------------------
def test_unbroadcast_by_hand():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(g, (2, 3, 4)), g)
    np.testing.assert_array_equal(unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(g, (2, 1, 4)), g.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(unbroadcast(g, ()), g.sum())


def test_broadcast_add_gradient_by_hand():
    """z = x + b with x (2, 3) and b (3,): each b_j is used by 2 rows, so dL/db_j = 2 * 1."""
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    (x + b).sum().backward()
    assert x.grad.shape == (2, 3) and b.grad.shape == (3,)
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


@given(broadcast_pairs(max_dims=4, max_side=3), seeds())
def test_broadcast_mul_gradients_have_the_input_shapes(shapes, seed):
    """For z = x * y with any pair of broadcastable shapes, dL/dx (with L = sum(z * w)) is
    w * y summed over every position that a cell of x was copied to; ``reduce_to`` below
    does that sum with an explicit loop over the output positions."""
    sx, sy = shapes
    r = np.random.default_rng(seed)
    xs, ys = r.normal(size=sx), r.normal(size=sy)
    out_shape = np.broadcast_shapes(sx, sy)
    w = r.normal(size=out_shape)
    x, y = Tensor(xs, requires_grad=True), Tensor(ys, requires_grad=True)
    (x * y).backward(w)
    assert x.grad.shape == sx and y.grad.shape == sy

    def reduce_to(full, shape):
        # sum every position of `full` into the input cell it was copied from
        out = np.zeros(shape)
        padded = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
        for index in np.ndindex(out_shape):
            source = tuple(0 if n == 1 else i for i, n in zip(index, padded))
            out.reshape(padded)[source] += full[index]
        return out

    np.testing.assert_allclose(x.grad, reduce_to(w * np.broadcast_to(ys, out_shape), sx), atol=1e-12)
    np.testing.assert_allclose(y.grad, reduce_to(w * np.broadcast_to(xs, out_shape), sy), atol=1e-12)


@given(arrays((3, 4)))
def test_function_of_a_numpy_array_and_a_tensor_mixes(a):
    """A plain array taking part in an op is a constant: only the tensor gets a gradient."""
    x = Tensor(a, requires_grad=True)
    F.mul(a, x).sum().backward()   # d/dx sum(a * x) = a
    np.testing.assert_array_equal(x.grad, a)


def test_forward_knows_whether_its_backward_will_run():
    """``recording`` is set before ``forward`` (max-pool skips finding its winners when it
    is false): true only when grad mode is on and some input requires a gradient."""
    seen = []

    class Probe(Function):
        def forward(self, x):
            seen.append(self.recording)
            return 2 * x

        def backward(self, g):
            return (2 * g,)

    Probe.apply(Tensor(np.ones(2), requires_grad=True))
    Probe.apply(Tensor(np.ones(2)))
    with no_grad():
        Probe.apply(Tensor(np.ones(2), requires_grad=True))
    assert seen == [True, False, False]
