"""Differentiable ops: one :class:`~tinycnn.autograd.Function` per operation, grouped by
family. Call them through :mod:`tinycnn.functional`, which checks arguments first."""
