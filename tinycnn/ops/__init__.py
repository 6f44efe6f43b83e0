"""Differentiable ops: one :class:`Function` per operation, grouped by family. Call them
through :mod:`tinycnn.functional`, which checks arguments first."""
from .function import Function

__all__ = ["Function"]
