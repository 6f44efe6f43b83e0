"""Models: :class:`Model` (a graph of layers, Keras's functional API) and
:class:`Sequential` (a linear stack, a Model whose graph is one chain)."""
from .loading import load_model
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
