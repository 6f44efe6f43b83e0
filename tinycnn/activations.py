"""Activation functions by Keras name, for the ``activation=`` argument of layers."""
from __future__ import annotations

from . import functional as F

_BY_NAME = {
    "linear": F.linear,
    "relu": F.relu,
    "gelu": F.gelu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "softmax": F.softmax,
    "log_softmax": F.log_softmax,
}


def get(identifier) -> tuple[str, object]:
    """Return ``(name, function)`` for a name, None (linear) or a callable."""
    if identifier is None:
        return "linear", F.linear
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown activation {identifier!r}; valid names: {', '.join(sorted(_BY_NAME))}")
        return key, _BY_NAME[key]
    if callable(identifier):
        name = getattr(identifier, "__name__", "custom")
        return (name if name in _BY_NAME and _BY_NAME[name] is identifier else name), identifier
    raise ValueError(f"activation must be a name or a callable, got {identifier!r}")
