"""tinycnn: a small, readable deep-learning engine for convolutional networks.

The layers of the engine, each using only the ones above it:

1. :mod:`tinycnn.tensor`, :mod:`tinycnn.autograd`   - Tensor and reverse-mode autodiff
2. :mod:`tinycnn.ops`, :mod:`tinycnn.functional`    - differentiable ops
3. :mod:`tinycnn.kernels`                           - the kernel tiers behind the hot ops
4. :mod:`tinycnn.layers`                            - Keras-style layers
5. :mod:`tinycnn.models`, ``optimizers``, ``losses``, ``metrics``, ``callbacks`` - training
"""
from .autograd import is_grad_enabled, no_grad
from .kernels import available_backends, get_backend, set_backend
from .tensor import Tensor
from . import functional, utils
from . import layers, losses, metrics, optimizers, callbacks, models
from .models import Model, Sequential, load_model

__version__ = "0.1.0"

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "functional", "set_backend", "get_backend",
           "available_backends", "layers", "models", "optimizers", "losses", "metrics",
           "callbacks", "utils", "Model", "Sequential", "load_model"]
from .kernels.threads import get_blas_threads, get_num_threads, set_num_threads  # noqa: E402
