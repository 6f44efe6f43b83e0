"""Batches for the training loop (tinycnn/training/batches.py)."""
from __future__ import annotations

import numpy as np
import pytest

from tinycnn.training import batches
from tinycnn.utils import set_random_seed


def test_slices_cover_every_sample_once_in_order():
    assert batches.slices(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert batches.slices(8, 4) == [(0, 4), (4, 8)]


def test_shuffled_epochs_see_every_sample_once_in_a_new_order():
    x, y = np.arange(10)[:, None], np.arange(10)
    set_random_seed(0)
    epoch = batches.array_batches(x, y, 3, shuffle=True)
    orders = [np.concatenate([yb for _, yb in epoch()]) for _ in range(2)]
    for order in orders:
        assert sorted(order) == list(range(10))
    assert list(orders[0]) != list(orders[1])
    first = next(iter(epoch()))
    assert np.array_equal(first[0][:, 0], first[1])   # x and y stay paired


def test_unshuffled_batches_are_views():
    x, y = np.arange(10.0)[:, None], np.arange(10)
    xb, _ = next(iter(batches.array_batches(x, y, 4, shuffle=False)()))
    assert np.shares_memory(xb, x)


def test_validation_split_takes_the_last_samples():
    x, y = np.arange(10)[:, None], np.arange(10)
    (xt, yt), (xv, yv) = batches.split_validation(x, y, 0.3)
    assert list(yt) == list(range(7)) and list(yv) == [7, 8, 9]
    with pytest.raises(ValueError, match="validation_split must be in \\(0, 1\\), got 1.5"):
        batches.split_validation(x, y, 1.5)


def test_an_iterator_gives_steps_per_epoch_checked_batches():
    stream = iter([(np.zeros((2, 1)), np.zeros(2))] * 5)
    epoch, steps = batches.iterator_batches(stream, 3, lambda item: (item[0] + 1, item[1]))
    assert steps == 3
    got = list(epoch())
    assert len(got) == 3 and all(np.all(xb == 1) for xb, _ in got)
    with pytest.raises(ValueError, match="steps_per_epoch is needed"):
        batches.iterator_batches(iter([]), None, lambda item: item)
