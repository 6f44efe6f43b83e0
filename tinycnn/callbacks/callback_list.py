"""CallbackList: calls each hook on every callback of a list, in order."""
from __future__ import annotations

from .callback import Callback
from .history import History
from .progbar import ProgbarLogger

_HOOKS_WITHOUT_INDEX = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                        "on_predict_begin", "on_predict_end")
_HOOKS_WITH_INDEX = ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                     "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                     "on_predict_batch_begin", "on_predict_batch_end")


class CallbackList(Callback):
    """Calls each hook on every callback, in order, with one shared logs dict.

    As Keras 3 does, ``add_history=True`` appends a :class:`History` and
    ``add_progbar=True`` a :class:`ProgbarLogger` (after the user's callbacks, unless the
    list already has one); ``params`` (``epochs``, ``steps``, ``verbose``) go to all. A
    callback with a negative ``order`` attribute runs before the others (the distributed
    metric average, so that everything after it sees the averaged values).
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be tinycnn.callbacks.Callback objects, got "
                                f"{type(cb).__name__}: {cb!r}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.callbacks.sort(key=lambda cb: getattr(cb, "order", 0))  # stable: a negative order runs first
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook, *args):
        logs = args[-1] if args[-1] is not None else {}
        for cb in self.callbacks:
            getattr(cb, hook)(*args[:-1], logs)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)


def _fan_out_without_index(hook):
    def call(self, logs=None):
        self._call(hook, logs)
    call.__name__ = hook
    return call


def _fan_out_with_index(hook):
    def call(self, index, logs=None):
        self._call(hook, index, logs)
    call.__name__ = hook
    return call


# Each hook of a CallbackList calls the same hook on every callback in the list.
for _hook in _HOOKS_WITHOUT_INDEX:
    setattr(CallbackList, _hook, _fan_out_without_index(_hook))
for _hook in _HOOKS_WITH_INDEX:
    setattr(CallbackList, _hook, _fan_out_with_index(_hook))
