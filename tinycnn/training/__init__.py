"""Training: the loop (:mod:`.trainer`, compile / fit / evaluate / predict) and its batches
(:mod:`.batches`). A model gets them by inheriting :class:`Trainer`, as Keras's ``Model``
inherits its ``Trainer``."""
from .trainer import Trainer

__all__ = ["Trainer"]
