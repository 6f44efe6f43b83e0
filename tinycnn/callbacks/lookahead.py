"""Lookahead: every few steps, pull the weights back toward a slow moving average of them."""
from __future__ import annotations

from .callback import Callback


class Lookahead(Callback):
    """Lookahead weight averaging (Zhang et al., 2019), in the form airbench trains with.

    A slow copy ``s`` of every weight of the model (batch norm's moving statistics
    included) is kept beside the fast weights ``w`` that the optimizer moves. After every
    ``every``-th optimizer step ``t``::

        s <- d s + (1 - d) w        d = decay(t / total_steps)  (or the number ``decay``)
        w <- s

    so the optimizer goes on from the average, and its noise is smoothed away; d = 0 is
    plain training. After step ``total_steps`` the weights are set to ``s`` once more
    (without a last blend), as airbench ends. Steps are counted by the optimizer, so one
    Lookahead serves several ``fit`` calls (one per epoch, say) and keeps ``s`` between them.
    """

    def __init__(self, total_steps, every=5, decay=0.5):
        super().__init__()
        if int(total_steps) < 1 or int(every) < 1:
            raise ValueError(f"Lookahead: total_steps and every must be at least 1, got {total_steps} and {every}")
        if not callable(decay) and not 0.0 <= float(decay) <= 1.0:
            raise ValueError(f"Lookahead: decay must be in [0, 1] or a function of the fraction of "
                             f"training done, got {decay!r}")
        self.total_steps, self.every, self.decay = int(total_steps), int(every), decay
        self.slow = None

    def on_train_begin(self, logs=None):
        if self.slow is None:
            self.slow = [w.data.copy() for w in self.model.weights]

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.optimizer.iterations
        if step > self.total_steps:
            return
        if step % self.every == 0:
            d = self.decay(step / self.total_steps) if callable(self.decay) else float(self.decay)
            for slow, weight in zip(self.slow, self.model.weights):
                slow *= d
                slow += (1 - d) * weight.data
        if step % self.every == 0 or step == self.total_steps:
            for slow, weight in zip(self.slow, self.model.weights):
                weight.data[...] = slow
