"""The node of the graph: one :class:`Function` subclass per differentiable op.

A subclass has two methods:

* ``forward(*arrays, **config) -> array``: computes the output from NumPy arrays and saves
  on ``self`` whatever the backward pass needs;
* ``backward(grad_out) -> tuple``: given dL/d(output), returns dL/d(input) for each tensor
  input, in order (``None`` for an input that needs no gradient).

``Function.apply`` runs ``forward`` and, when gradients are wanted, links the output tensor
to the node and the node to its inputs, for :func:`tinycnn.autograd.backward` to walk.
"""
from __future__ import annotations

from ..autograd import is_grad_enabled
from ..tensor import Tensor, as_tensor


class Function:
    """One node of the graph. Subclasses implement ``forward`` and ``backward``.

    Positional arguments of ``apply`` are the differentiable inputs (tensors, arrays or
    numbers); keyword arguments are static configuration (strides, axes, ...), passed to
    ``forward`` unchanged.
    """

    parents: tuple = ()
    recording: bool = True  # will backward run? (set before forward, which may then skip saving)
    needs_input_grad: tuple = ()  # per input: does the graph need dL/d(input)? (backward may skip the rest)

    @classmethod
    def apply(cls, *inputs, **config):
        like = next((t for t in inputs if isinstance(t, Tensor)), None)
        dtype = like.dtype if like is not None else None
        tensors = tuple(t if isinstance(t, Tensor) else as_tensor(t, dtype=dtype) for t in inputs)
        node = cls()
        needs_grad = is_grad_enabled() and any(t.requires_grad for t in tensors)
        node.recording = needs_grad
        out_data = node.forward(*(t.data for t in tensors), **config)
        out = Tensor(out_data, requires_grad=needs_grad)
        if needs_grad:
            node.parents = tensors
            node.needs_input_grad = tuple(t.requires_grad for t in tensors)
            out._ctx = node
        return out

    def forward(self, *arrays, **config):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__}>"
