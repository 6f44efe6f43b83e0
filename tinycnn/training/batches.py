"""Batches for the training loop, Keras's EpochIterator's part of the work.

* arrays ``(x, y)``: each epoch a new random order (or contiguous slices, which are views,
  without shuffling), cut into batches of ``batch_size``;
* an iterator of ``(x, y)`` batches (``ImageDataGenerator.flow``, a generator):
  ``steps_per_epoch`` batches per epoch, each checked as it arrives.

The input check is handed in (``check(item) -> batch``, for each item of a stream), so this
module needs no model.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import utils
from ..tensor import Tensor


def is_batch_iterator(x) -> bool:
    """Whether ``x`` is a stream of batches rather than an array of samples."""
    return not isinstance(x, (np.ndarray, Tensor, list, tuple)) and (hasattr(x, "__next__") or hasattr(x, "__iter__"))


def samples(x) -> int:
    """The number of samples in ``x`` (an array, or a list of arrays for several inputs)."""
    return len(x[0]) if isinstance(x, list) else len(x)


def take(x, index):
    """Rows ``index`` (a slice or an index array) of ``x`` (an array or a list of arrays:
    several model inputs, or the targets of several outputs)."""
    return [a[index] for a in x] if isinstance(x, list) else x[index]


def check_targets(x, y, outputs, what):
    """``y`` as an array with one target per sample of ``x``; for a model of several
    ``outputs``, a list of such arrays, one per output."""
    if outputs > 1:
        if not isinstance(y, (list, tuple)) or len(y) != outputs:
            raise ValueError(f"{what}: the model has {outputs} outputs; give y as a list of {outputs} arrays "
                             "of targets, one per output")
        return [check_targets(x, y_i, 1, what) for y_i in y]
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    if len(y) != samples(x):
        raise ValueError(f"{what}: x has {samples(x)} samples but y has {len(y)}; they must match")
    return y


def split_validation(x, y, fraction, what="fit"):
    """``((x_train, y_train), (x_val, y_val))``: the last ``fraction`` of the samples,
    taken before any shuffling, as Keras does."""
    if not 0 < fraction < 1:
        raise ValueError(f"{what}: validation_split must be in (0, 1), got {fraction}")
    cut = int(samples(x) * (1 - fraction))
    if cut == 0 or cut == samples(x):
        raise ValueError(f"{what}: validation_split={fraction} of {samples(x)} samples leaves {cut} for training "
                         f"and {samples(x) - cut} for validation; each needs at least one: use more samples "
                         "or another split")
    return (take(x, slice(None, cut)), take(y, slice(None, cut))), (take(x, slice(cut, None)), take(y, slice(cut, None)))


def slices(count, batch_size):
    """``(start, stop)`` of each batch of ``count`` samples, in order."""
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def array_batches(x, y, batch_size, shuffle, steps=None):
    """A function returning one epoch's ``(x_batch, y_batch)`` iterator: one pass over the
    samples, or with ``steps`` (Keras's ``steps_per_epoch`` on arrays) the next ``steps``
    batches of an endless run of passes, so epochs may end mid-pass."""
    def one_pass():
        if not shuffle:  # contiguous slices: views, no copies
            for start, stop in slices(samples(x), batch_size):
                yield take(x, slice(start, stop)), take(y, slice(start, stop))
            return
        order = utils.rng().permutation(samples(x))  # a new order every pass
        for start, stop in slices(samples(x), batch_size):
            index = order[start:stop]
            yield take(x, index), take(y, index)
    if steps is None:
        return one_pass
    stream = itertools.chain.from_iterable(one_pass() for _ in itertools.count())
    return lambda: itertools.islice(stream, steps)


def iterator_batches(iterator, steps_per_epoch, check, what="fit"):
    """``(epoch function, steps per epoch)`` for a stream of batches, each item passed
    through ``check``; ``steps_per_epoch`` defaults to the stream's length."""
    if steps_per_epoch is None:
        if not hasattr(iterator, "__len__"):
            raise ValueError(f"{what}: steps_per_epoch is needed when x is a generator without a length")
        steps_per_epoch = len(iterator)
    stream = iter(iterator)

    def epoch():
        for _ in range(steps_per_epoch):
            try:
                item = next(stream)
            except StopIteration:
                return
            yield check(item)
    return epoch, steps_per_epoch
