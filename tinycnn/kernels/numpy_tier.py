"""The ``numpy`` kernel tier: vectorised NumPy, convolution by im2col + one GEMM.

This module also states the kernel contract that every tier implements (the reference,
Numba and CUDA tiers subclass :class:`NumpyBackend` and override what they speed up).
All image arrays are NHWC; conv kernels are ``(kh, kw, cin, cout)``; ``pads`` is
``((top, bottom), (left, right))`` as computed by :func:`kernels.geometry.plan_2d`.
A ``*_forward`` kernel returns ``(output, ctx)``; the matching ``*_backward`` takes that
``ctx`` and the upstream gradient. Kernels never change their inputs, except the optimizer
updates, which work in place on the parameter and its slots.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad_hw(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """Pad the two spatial axes of an NHWC array (no copy when there is nothing to pad)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(xp: np.ndarray, out_hw, window, strides) -> np.ndarray:
    """A strided view of every window of a padded NHWC array, shape
    ``(N, oh, ow, kh, kw, C)``: element ``[n, i, j, a, b, c]`` is
    ``xp[n, i * sh + a, j * sw + b, c]``. No data is copied."""
    n, _, _, c = xp.shape
    (oh, ow), (kh, kw), (sh, sw) = out_hw, window, strides
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, shape=(n, oh, ow, kh, kw, c),
                      strides=(s0, s1 * sh, s2 * sw, s1, s2, s3), writeable=False)


def add_windows(dxp: np.ndarray, dwin: np.ndarray, strides) -> None:
    """The adjoint of :func:`windows`: add ``dwin[n, i, j, a, b, c]`` into
    ``dxp[n, i * sh + a, j * sw + b, c]`` (overlapping windows accumulate)."""
    _, oh, ow, kh, kw, _ = dwin.shape
    sh, sw = strides
    for a in range(kh):
        for b in range(kw):
            dxp[:, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw, :] += dwin[:, :, :, a, b, :]


def crop_hw(xp: np.ndarray, pads, hw) -> np.ndarray:
    (top, _), (left, _) = pads
    h, w = hw
    return xp[:, top:top + h, left:left + w, :]


class NumpyBackend:
    """Vectorised NumPy kernels. See the module docstring for the contract."""

    name = "numpy"
    xp = np  # the array module of this tier's arrays (CuPy for a GPU tier)

    # ----- where arrays live ----------------------------------------------------------
    def to_device(self, array):
        """An array of this tier (CPU tiers: a NumPy array; a GPU tier copies to the GPU)."""
        return np.asarray(self.to_host(array))

    @staticmethod
    def to_host(array):
        """A NumPy array with the same values (GPU arrays are copied back)."""
        return array.get() if hasattr(array, "get") and not isinstance(array, np.ndarray) else array

    # ----- matrix product -------------------------------------------------------------
    def matmul(self, a, b, out=None):
        """``a @ b`` as in NumPy (stacked leading axes allowed), into ``out`` when given."""
        return np.matmul(a, b, out=out)

    # ----- convolution ----------------------------------------------------------------
    def conv2d_forward(self, x, w, b, strides, pads):
        """y[n,i,j,f] = b[f] + sum_{a,b,c} xp[n, i*sh+a, j*sw+b, c] * w[a,b,c,f].

        im2col turns the input into a matrix ``cols`` of shape (N*oh*ow, kh*kw*cin), one row
        per output pixel, so the convolution is one GEMM: ``y = cols @ W`` with
        ``W = w.reshape(kh*kw*cin, cout)``.
        """
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        xp = pad_hw(x, pads)
        oh = (xp.shape[1] - kh) // strides[0] + 1
        ow = (xp.shape[2] - kw) // strides[1] + 1
        cols = windows(xp, (oh, ow), (kh, kw), strides).reshape(n * oh * ow, kh * kw * cin)
        y = cols @ w.reshape(kh * kw * cin, cout)
        if b is not None:
            y += b
        ctx = SimpleNamespace(cols=cols, w=w, x_shape=x.shape, padded_hw=xp.shape[1:3],
                              out_hw=(oh, ow), strides=strides, pads=pads, has_bias=b is not None)
        return y.reshape(n, oh, ow, cout), ctx

    def conv2d_relu_forward(self, x, w, b, strides, pads):
        """``relu(conv2d_forward(...))`` with the convolution's ctx: the fused form behind a
        ``Conv2D(activation='relu')`` layer. Tiers that can apply the relu while writing the
        convolution's outputs override it and save a pass over them."""
        y, ctx = self.conv2d_forward(x, w, b, strides, pads)
        return self.relu_forward(y), ctx

    def conv2d_max_pool_values(self, x, w, b, strides, pads, relu):
        """``max_pool2d_values`` with 2x2 windows and stride 2 of the convolution's output
        (of its relu when ``relu``), for inference: what a ``Conv2D`` followed by
        ``MaxPooling2D(2)`` computes when no backward will run. Tiers that can pool inside
        the convolution kernel override it and never write the full-size output."""
        y = (self.conv2d_relu_forward if relu else self.conv2d_forward)(x, w, b, strides, pads)[0]
        return self.max_pool2d_values(y, (2, 2), (2, 2), ((0, 0), (0, 0)))

    def conv2d_backward(self, ctx, dy, need_dx=True):
        """The other two GEMMs: ``dW = cols^T @ dY`` and ``dcols = dY @ W^T``; col2im then
        adds each row of ``dcols`` back onto the input pixels its window covered.
        Returns ``(dx, dw, db)`` (``db`` is None without bias; ``dx`` is None when
        ``need_dx`` is false, which skips the second GEMM and col2im)."""
        kh, kw, cin, cout = ctx.w.shape
        dy2 = dy.reshape(-1, cout)
        dw = (ctx.cols.T @ dy2).reshape(ctx.w.shape)
        db = dy2.sum(axis=0) if ctx.has_bias else None
        if not need_dx:
            return None, dw, db
        dcols = dy2 @ ctx.w.reshape(kh * kw * cin, cout).T
        n = ctx.x_shape[0]
        dxp = np.zeros((n, *ctx.padded_hw, cin), dtype=dy.dtype)
        add_windows(dxp, dcols.reshape(n, *ctx.out_hw, kh, kw, cin), ctx.strides)
        return crop_hw(dxp, ctx.pads, ctx.x_shape[1:3]), dw, db

    # ----- pooling --------------------------------------------------------------------
    def max_pool2d_forward(self, x, pool, strides, pads):
        """y[n,i,j,c] = max over the window; padding is -inf, so padded cells never win.
        The argmax is the first maximum in row-major window order (Keras's tie rule)."""
        xp = pad_hw(x, pads, value=-np.inf)
        oh = (xp.shape[1] - pool[0]) // strides[0] + 1
        ow = (xp.shape[2] - pool[1]) // strides[1] + 1
        win = windows(xp, (oh, ow), pool, strides)               # (N, oh, ow, ph, pw, C)
        flat = win.transpose(0, 1, 2, 5, 3, 4).reshape(*win.shape[:3], win.shape[5], -1)
        arg = flat.argmax(axis=-1)                              # (N, oh, ow, C)
        y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        ctx = SimpleNamespace(arg=arg, pool=pool, strides=strides, pads=pads,
                              x_shape=x.shape, padded_hw=xp.shape[1:3])
        return y, ctx

    def max_pool2d_values(self, x, pool, strides, pads):
        """Only the output of :meth:`max_pool2d_forward` (inference: no backward will ask
        for the winners). Tiers that can skip finding the winners override it."""
        return self.max_pool2d_forward(x, pool, strides, pads)[0]

    def max_pool2d_backward(self, ctx, dy):
        """Each output's gradient goes to the one input cell that won its window."""
        ph, pw = ctx.pool
        n, _, _, c = ctx.x_shape
        dwin = np.zeros((*dy.shape[:3], ph, pw, c), dtype=dy.dtype)
        for k in range(ph * pw):
            dwin[:, :, :, k // pw, k % pw, :] = np.where(ctx.arg == k, dy, 0)
        dxp = np.zeros((n, *ctx.padded_hw, c), dtype=dy.dtype)
        add_windows(dxp, dwin, ctx.strides)
        return crop_hw(dxp, ctx.pads, ctx.x_shape[1:3])

    def avg_pool2d_forward(self, x, pool, strides, pads):
        """y = (sum of the real cells of the window) / (their count): padded cells are
        neither added nor counted."""
        xp = pad_hw(x, pads)
        oh = (xp.shape[1] - pool[0]) // strides[0] + 1
        ow = (xp.shape[2] - pool[1]) // strides[1] + 1
        total = windows(xp, (oh, ow), pool, strides).sum(axis=(3, 4))
        count = self._window_counts(x.shape[1:3], (oh, ow), pool, strides, pads).astype(x.dtype)
        ctx = SimpleNamespace(count=count, pool=pool, strides=strides, pads=pads,
                              x_shape=x.shape, padded_hw=xp.shape[1:3])
        return total / count[None, :, :, None], ctx

    def avg_pool2d_backward(self, ctx, dy):
        ph, pw = ctx.pool
        n, _, _, c = ctx.x_shape
        share = dy / ctx.count[None, :, :, None]
        dwin = np.broadcast_to(share[:, :, :, None, None, :], (*dy.shape[:3], ph, pw, c))
        dxp = np.zeros((n, *ctx.padded_hw, c), dtype=dy.dtype)
        add_windows(dxp, dwin, ctx.strides)
        return crop_hw(dxp, ctx.pads, ctx.x_shape[1:3])

    @staticmethod
    def _window_counts(in_hw, out_hw, pool, strides, pads):
        """Number of real (unpadded) input cells in each output's window, shape (oh, ow)."""
        counts = []
        for n, o, k, s, (before, _) in zip(in_hw, out_hw, pool, strides, pads):
            start = np.arange(o) * s - before
            counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
        return np.outer(counts[0], counts[1])

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        return np.maximum(x, 0)

    def relu_backward(self, y, dy):
        """d relu / dx = 1 where x > 0, else 0 (0 at exactly 0, as Keras)."""
        return np.where(y > 0, dy, 0).astype(dy.dtype, copy=False)

    def dropout_mask(self, shape, rate, rng, dtype):
        """Inverted dropout: each element is kept with probability 1 - rate (kept when a
        uniform draw is >= rate) and scaled by 1 / (1 - rate), so E[mask] = 1."""
        keep = rng.random(shape, dtype=np.float32) >= rate
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))

    def softmax_cross_entropy(self, logits, targets):
        """Fused softmax + cross-entropy, per sample.

        With ``p = softmax(z)`` and targets ``y`` (rows of class weights, usually one-hot):
        ``loss = -sum_k y_k log p_k = sum_k y_k (logsumexp(z) - z_k)`` and
        ``dloss/dz = p * sum_k y_k - y``. Integer ``targets`` of shape (N,) mean one-hot rows.
        Returns ``(losses (N,), dlosses/dlogits (N, K))``.
        """
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        denom = exp.sum(axis=-1, keepdims=True)
        log_p = shifted - np.log(denom)
        p = exp / denom
        if targets.ndim == 1:
            rows = np.arange(len(targets))
            losses = -log_p[rows, targets]
            grad = p
            grad[rows, targets] -= 1
        else:
            losses = -(targets * log_p).sum(axis=-1)
            grad = p * targets.sum(axis=-1, keepdims=True) - targets
        return losses, grad

    # ----- optimizer updates (in place on p and its slots) ------------------------------
    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        """v = momentum * v - lr * g; p += momentum * v - lr * g (nesterov) or p += v.
        Without momentum (velocity None): p -= lr * g."""
        if velocity is None:
            p -= lr * g
            return
        velocity *= momentum
        velocity -= lr * g
        if nesterov:
            p += momentum * velocity - lr * g
        else:
            p += velocity

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        """a = rho a + (1 - rho) g^2; centered (avg_g given): mg = rho mg + (1 - rho) g and
        the denominator is a - mg^2 + eps, else a + eps; inc = lr g / sqrt(denominator);
        with momentum m = momentum m + inc, p -= m; else p -= inc."""
        avg_sq *= rho
        avg_sq += (1 - rho) * g * g
        denom = avg_sq + eps
        if avg_g is not None:
            avg_g *= rho
            avg_g += (1 - rho) * g
            denom -= avg_g * avg_g
        inc = lr * g / np.sqrt(denom)
        if mom is not None:
            mom *= momentum
            mom += inc
            p -= mom
        else:
            p -= inc

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
        p -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""
        m += (g - m) * (1 - beta_1)
        v += (g * g - v) * (1 - beta_2)
        alpha = float(lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t))  # a Python float: no float64 upcast
        p -= alpha * m / (np.sqrt(v) + eps)

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        """m = b1 m + (1-b1) g; u = max(b2 u, |g|); p -= lr m / ((1-b1^t) (u + eps))."""
        m += (g - m) * (1 - beta_1)
        np.maximum(beta_2 * u, np.abs(g), out=u)
        p -= (lr / (1 - beta_1 ** t)) * m / (u + eps)

    def adagrad_update(self, p, g, acc, lr, eps):
        """acc += g^2; p -= lr g / sqrt(acc + eps)."""
        acc += g * g
        p -= lr * g / np.sqrt(acc + eps)

    def adadelta_update(self, p, g, acc_g, acc_dx, lr, rho, eps):
        """acc_g = rho acc_g + (1-rho) g^2; dx = -sqrt(acc_dx + eps) / sqrt(acc_g + eps) g;
        acc_dx = rho acc_dx + (1-rho) dx^2; p += lr dx."""
        acc_g *= rho
        acc_g += (1 - rho) * g * g
        dx = -np.sqrt(acc_dx + eps) / np.sqrt(acc_g + eps) * g
        acc_dx *= rho
        acc_dx += (1 - rho) * dx * dx
        p += lr * dx
