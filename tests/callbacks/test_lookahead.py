"""Lookahead through fit, against the same steps done by hand with train_on_batch."""
from __future__ import annotations

import numpy as np
import pytest

from tinycnn import callbacks, layers, optimizers
from tinycnn.models import Sequential


def model_and_data(seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((24, 5)).astype(np.float32)
    y = r.standard_normal((24, 3)).astype(np.float32)
    model = Sequential([layers.Input((5,)), layers.Dense(4, activation="tanh"),
                        layers.BatchNormalization(momentum=0.5), layers.Dense(3)])
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model, x, y


def weights_of(model):
    return [w.data.copy() for w in model.weights]


@pytest.mark.parametrize("decay", [0.5, lambda fraction: 0.9 * fraction])
def test_fit_with_lookahead_equals_the_blend_done_by_hand(decay):
    """Every 2nd of 6 steps: s <- d s + (1 - d) w, w <- s (moving statistics included)."""
    model, x, y = model_and_data()
    start = model.get_weights()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0,
              callbacks=[callbacks.Lookahead(total_steps=6, every=2, decay=decay)])

    by_hand, _, _ = model_and_data()
    by_hand.set_weights(start)
    slow = weights_of(by_hand)
    for step in range(1, 7):
        by_hand.train_on_batch(x[4 * (step - 1):4 * step], y[4 * (step - 1):4 * step])
        if step % 2 == 0:
            d = decay(step / 6) if callable(decay) else decay
            slow = [d * s + (1 - d) * w for s, w in zip(slow, weights_of(by_hand))]
            by_hand.set_weights(slow)
    for got, want in zip(model.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert not all(np.array_equal(a, b) for a, b in zip(start, model.get_weights()))


def test_decay_zero_is_plain_training_and_decay_one_keeps_the_start():
    plain, x, y = model_and_data()
    start = plain.get_weights()
    plain.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for decay, expected in ((0.0, plain.get_weights()), (1.0, start)):
        model, _, _ = model_and_data()
        model.set_weights(start)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                  callbacks=[callbacks.Lookahead(total_steps=12, every=3, decay=decay)])
        for got, want in zip(model.get_weights(), expected):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_the_run_ends_on_the_slow_weights_and_later_steps_are_left_alone():
    """total_steps 5, every 2: the last blend is at step 4, step 5's weights are replaced by
    the average without being blended in, and the steps after 5 train plainly."""
    model, x, y = model_and_data()
    look = callbacks.Lookahead(total_steps=5, every=2, decay=0.5)
    model.fit(x[:20], y[:20], batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[look])
    for got, slow in zip(weights_of(model), look.slow):
        np.testing.assert_array_equal(got, slow)
    after = weights_of(model)
    model.fit(x[:4], y[:4], batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[look])
    assert not np.array_equal(weights_of(model)[0], after[0])


def test_lookahead_refuses_bad_settings():
    with pytest.raises(ValueError, match="decay must be in"):
        callbacks.Lookahead(10, decay=1.5)
    with pytest.raises(ValueError, match="at least 1"):
        callbacks.Lookahead(0)
