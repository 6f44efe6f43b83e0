"""A first end-to-end check: the tiers agree on a conv -> pool -> loss chain."""
import numpy as np

import tinycnn
from tinycnn import functional as F


def test_numpy_and_reference_tiers_agree_on_a_small_network(restore_backend):
    r = np.random.default_rng(1)
    x, w, b = r.normal(size=(2, 7, 7, 3)), r.normal(size=(3, 3, 3, 4)), r.normal(size=4)
    results = {}
    for tier in ("reference", "numpy"):
        tinycnn.set_backend(tier)
        leaves = [tinycnn.Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.max_pool2d(F.relu(F.conv2d(*leaves, strides=2, padding="same")), 2, padding="same")
        loss = F.softmax_cross_entropy(F.flatten(y), np.array([0, 5])).mean()
        loss.backward()
        results[tier] = [loss.data] + [t.grad for t in leaves]
    for a, b_ in zip(results["reference"], results["numpy"]):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-12)
