"""The written kernel contract (kernels/contract.py) and the pointwise rules written once
(kernels/rules.py): every tier provides every required method, each tier's own methods are
the ones the README says it speeds up, and the NumPy tier's vectorised updates compute the
rules (which the Numba and CUDA tiers compile), element by element."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinycnn.kernels import contract, rules
from tinycnn.kernels.numba_cpu import NumbaBackend
from tinycnn.kernels.numpy_tier import NumpyBackend
from tinycnn.kernels.reference import ReferenceBackend


def own_methods(tier_class) -> set:
    """The contract methods that ``tier_class`` defines itself, rather than inheriting them
    from the NumPy tier (or, for the NumPy tier, from the contract's defaults)."""
    base = contract.KernelContract if tier_class is NumpyBackend else NumpyBackend
    return {name for name in contract.methods() if getattr(tier_class, name) is not getattr(base, name)}


def test_the_families_list_every_method_of_the_contract_once():
    defined = {name for name in vars(contract.KernelContract) if not name.startswith("_")} - {"name", "xp"}
    assert sorted(contract.methods()) == sorted(defined)
    assert len(set(contract.methods())) == len(contract.methods())
    assert set(contract.OPTIONAL) < set(contract.methods())


@pytest.mark.parametrize("tier_class", [NumpyBackend, ReferenceBackend, NumbaBackend])
def test_every_tier_implements_every_required_method(tier_class):
    for name in contract.required():
        assert getattr(tier_class, name) is not getattr(contract.KernelContract, name), name


def test_what_each_tier_implements_itself():
    assert own_methods(NumpyBackend) == set(contract.required())
    assert own_methods(ReferenceBackend) == {"conv2d_forward", "conv2d_backward", "max_pool2d_forward",
                                             "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward"}
    assert own_methods(NumbaBackend) == set(contract.methods()) - {
        "to_device", "to_host", "adagrad_update", "adadelta_update"}


R = np.random.default_rng(3)
N = 40


def vectors(count, positive=False):
    return [R.uniform(0.01, 1.0, N) if positive else R.normal(size=N) for _ in range(count)]


def by_rule(rule, arrays, *settings):
    """Apply ``rule`` element by element: the new value of every array it returns."""
    results = [rule(*(a[k] for a in arrays), *settings) for k in range(N)]
    return [np.array(column) for column in zip(*results)]


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_the_numpy_tier_sgd_is_the_rule(momentum, nesterov):
    p, g, v = vectors(3)
    expected = by_rule(rules.sgd, [p, g, v], 0.1, momentum, nesterov, momentum > 0)
    velocity = v.copy() if momentum > 0 else None
    NumpyBackend().sgd_update(p, g, velocity, 0.1, momentum, nesterov)
    np.testing.assert_allclose(p, expected[0], rtol=1e-12)
    if velocity is not None:
        np.testing.assert_allclose(velocity, expected[1], rtol=1e-12)


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.5, False), (0.0, True), (0.5, True)])
def test_the_numpy_tier_rmsprop_is_the_rule(momentum, centered):
    p, g = vectors(2)
    a, m, mg = vectors(3, positive=True)
    mg = mg * 0.1  # keeps a - mg^2 + eps positive
    expected = by_rule(rules.rmsprop, [p, g, a, m, mg], 0.01, 0.9, 0.1, momentum, 1e-7, momentum > 0, centered)
    slots = [a.copy(), m.copy() if momentum > 0 else None, mg.copy() if centered else None]
    NumpyBackend().rmsprop_update(p, g, *slots, 0.01, 0.9, momentum, 1e-7)
    for got, want in zip([p, *slots], expected):
        if got is not None:
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_numpy_tier_adam_adamax_adagrad_adadelta_are_the_rules():
    lr, b1, b2, eps, t = 0.01, 0.9, 0.999, 1e-7, 3
    cases = [
        ("adam", rules.adam, (lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t), 1 - b1, 1 - b2, eps),
         (lr, b1, b2, eps, t), [False, True]),
        ("adamax", rules.adamax, (lr / (1 - b1 ** t), 1 - b1, b2, eps), (lr, b1, b2, eps, t), [False, True]),
        ("adagrad", rules.adagrad, (lr, eps), (lr, eps), [True]),
        ("adadelta", rules.adadelta, (lr, 0.95, 0.05, eps), (lr, 0.95, eps), [True, True]),
    ]
    for name, rule, rule_settings, tier_settings, positive_slots in cases:
        p, g = vectors(2)
        slots = [vectors(1, positive)[0] for positive in positive_slots]
        expected = by_rule(rule, [p, g, *slots], *rule_settings)
        getattr(NumpyBackend(), f"{name}_update")(p, g, *slots, *tier_settings)
        for got, want in zip([p, *slots], expected):
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)


def test_the_numpy_tier_relu_and_dropout_are_the_rules():
    x, dy = vectors(2)
    backend = NumpyBackend()
    np.testing.assert_array_equal(backend.relu_forward(x), [rules.relu(v) for v in x])
    y = backend.relu_forward(x)
    np.testing.assert_array_equal(backend.relu_backward(y, dy), [rules.relu_grad(a, b) for a, b in zip(y, dy)])
    uniforms = np.random.default_rng(5).random(N, dtype=np.float32)
    mask = backend.dropout_mask((N,), 0.3, np.random.default_rng(5), np.dtype(np.float32))
    np.testing.assert_array_equal(mask, [rules.dropout_keep(u, np.float32(0.3), np.float32(1 / 0.7)) for u in uniforms])


def test_the_normal_cdf_fit_is_within_its_stated_error_of_math_erfc():
    """Relative error < 1.2e-7 everywhere (the lower tail too), so GELU is exact in float32."""
    x = np.linspace(-12, 12, 24001)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    fit = np.array([rules.normal_cdf(v) for v in x])
    assert np.max(np.abs(fit - exact) / exact) < 1.2e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_tier_gelu_is_the_rule(tier, dtype):
    """gelu and its gradient on each tier against x Phi(x) and dy (Phi + x phi) written with
    :func:`rules.normal_cdf` in Python floats: float64 to 1e-13 relative or 1e-15 absolute
    (NumPy's exp and the compiled one may differ by an ulp, and Phi + x phi cancels near
    x = -0.75), float32 to 2 ulp (computed in float64, rounded once), except the Numba tier's
    float32 kernels, which compute in float32 lanes (kernels/numba_cpu/float32_math.py):
    within 1e-6 relative or 1e-7 absolute, float32 arithmetic's own accuracy (their dense
    check is tests/kernels/test_float32_math.py)."""
    from tinycnn import get_backend
    kernels = get_backend()
    x = (np.random.default_rng(3).standard_normal(3000) * 4).astype(dtype)
    x[:4] = [0.0, -10.0, 10.0, -0.5]
    dy = np.random.default_rng(4).standard_normal(3000).astype(dtype)
    tol = dict(rtol=1e-13, atol=1e-15) if dtype == np.float64 else dict(rtol=2.5e-7, atol=1e-37)
    if tier == "numba" and dtype == np.float32:
        tol = dict(rtol=1e-6, atol=1e-7)
    got_y = kernels.to_host(kernels.gelu_forward(kernels.to_device(x)))
    got_dx = kernels.to_host(kernels.gelu_backward(kernels.to_device(x), kernels.to_device(dy)))
    assert got_y.dtype == dtype and got_dx.dtype == dtype
    values = [float(v) for v in x]
    np.testing.assert_allclose(got_y, [v * rules.normal_cdf(v) for v in values], **tol)
    np.testing.assert_allclose(got_dx, [float(g) * (rules.normal_cdf(v) + v * rules.normal_pdf(v))
                                        for v, g in zip(values, dy)], **tol)


@pytest.mark.parametrize("shape", [(1,), (7,), (4, 3, 5), (2, 1024)])
def test_random_bits_are_the_words_numpy_makes_float32_uniforms_of(shape):
    """Dropout reads raw generator words (faster than Generator.random); made uniform they
    are exactly what ``rng.random(shape, dtype=float32)`` returns from the same fresh seed."""
    bits = rules.random_bits(shape, np.random.default_rng(11))
    assert bits.dtype == np.uint32 and bits.shape == shape
    np.testing.assert_array_equal(rules.uniform_of(bits).astype(np.float32),
                                  np.random.default_rng(11).random(shape, dtype=np.float32))
