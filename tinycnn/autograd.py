"""Reverse-mode automatic differentiation: Function nodes and the backward walk.

The graph is built while the program runs (define-by-run). Every differentiable operation is
a subclass of :class:`Function` with two methods:

* ``forward(*arrays, **config) -> array``: computes the output from NumPy arrays and saves
  on ``self`` whatever the backward pass needs;
* ``backward(grad_out) -> tuple``: given dL/d(output), returns dL/d(input) for each tensor
  input, in order (``None`` for an input that needs no gradient).

``Function.apply`` runs ``forward`` and, when gradients are wanted, links the output tensor
to the node (``output._ctx``) and the node to its input tensors (``node.parents``).
``backward`` walks the nodes in reverse topological order, applying the chain rule

    dL/dx = sum over every use of x of  J_use(x)^T  dL/d(use output).

Nothing in this module knows about layers, models or kernels.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside a :func:`no_grad` block."""
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def no_grad():
    """Context manager: operations inside build no graph (inference, optimizer updates)."""
    previous = is_grad_enabled()
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = previous


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Reduce ``grad`` back to ``shape`` after NumPy broadcasting stretched an input.

    Broadcasting copies an input along new leading axes and along axes of size 1, so the
    gradient of the input is the sum of the gradient over those axes. This is the one place
    where broadcasting is undone.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


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
        from .tensor import Tensor, as_tensor

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


def _topological_order(root) -> list:
    """Tensors reachable from ``root`` through graph nodes, each after all its consumers."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._ctx is not None:
            for parent in tensor._ctx.parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()  # root first: every tensor comes before the tensors it was made from
    return order


def backward(root, grad=None) -> None:
    """Accumulate dL/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient.

    ``grad`` is dL/d(root); it may be omitted only when ``root`` holds a single element,
    in which case it is 1. Gradients add up across calls, as in PyTorch: clear them with
    ``tensor.zero_grad()`` (or the optimizer) between steps.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require a gradient (no input of the computation "
            "had requires_grad=True, or it was computed inside no_grad())"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {root.shape}; a non-scalar output needs an "
                "explicit upstream gradient, e.g. y.backward(np.ones_like(y.data))"
            )
        grad = np.ones_like(root.data)
    else:
        grad = grad.astype(root.dtype, copy=False) if hasattr(grad, "astype") else np.asarray(grad, root.dtype)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward: upstream gradient has shape {grad.shape}, expected {root.shape}"
            )
    grads = {id(root): grad}
    with no_grad():
        for tensor in _topological_order(root):
            g = grads.pop(id(tensor), None)
            if g is None:
                continue
            node = tensor._ctx
            if node is None:  # a leaf: keep its gradient
                tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
                continue
            input_grads = node.backward(g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, pg in zip(node.parents, input_grads):
                if pg is None or not parent.requires_grad:
                    continue
                pg = unbroadcast(pg.astype(parent.dtype, copy=False), parent.shape)
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
