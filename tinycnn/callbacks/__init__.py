"""Callbacks: objects that watch the training loop, with Keras's interface and messages.

``fit`` calls hooks on every callback in a :class:`CallbackList`:

    on_train_begin
      on_epoch_begin(epoch)                  epoch counts from 0
        on_train_batch_begin(batch) / on_train_batch_end(batch, logs)
      on_epoch_end(epoch, logs)              logs: epoch means, with val_* entries
    on_train_end

``evaluate`` calls the ``on_test_*`` hooks, ``predict`` the ``on_predict_*`` ones, and
fit's validation at the end of each epoch the ``on_test_*`` hooks of fit's callbacks. Logs are
one dict shared by the callbacks of a call, so a callback may add an entry (e.g.
``learning_rate``) that the ones after it see. A callback reaches the model through
``self.model`` (``stop_training``, ``optimizer.learning_rate``, ``get_weights``,
``set_weights``, ``save``, ``save_weights``) and the loop's settings through
``self.params`` (``epochs``, ``steps``, ``verbose``).
"""
from .callback import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .lookahead import Lookahead
from .model_checkpoint import ModelCheckpoint
from .monitor import MonitorCallback
from .progbar import Progbar, ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "Lookahead", "ModelCheckpoint", "MonitorCallback", "Progbar", "ProgbarLogger",
           "ReduceLROnPlateau", "TerminateOnNaN"]
