"""Reverse-mode automatic differentiation: the backward walk over a recorded graph.

The graph is built while the program runs (define-by-run): each op's node
(:class:`tinycnn.ops.Function`) is linked to its output tensor (``output._ctx``) and to its
input tensors (``node.parents``). :func:`backward` walks the nodes in reverse topological
order, applying the chain rule

    dL/dx = sum over every use of x of  J_use(x)^T  dL/d(use output).

This module imports nothing from tinycnn: it reads only those attributes of tensors and
nodes (``_ctx``, ``parents``, ``requires_grad``, ``grad``, ``node.backward``), so it can be
read on its own.
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
