"""The kernel contract: what every kernel tier provides, by family, with shapes and math.

A tier is a class implementing these methods on its own arrays (NumPy arrays for the CPU
tiers, CuPy arrays for the GPU tier). The ops (:mod:`tinycnn.ops`) call them and nothing
else, so a new tier owes exactly this list.

Conventions: images are NHWC, conv kernels ``(kh, kw, cin, cout)``, ``strides`` a pair,
``pads`` ``((top, bottom), (left, right))`` as :func:`kernels.geometry.plan_2d` computes
them. A ``*_forward`` returns ``(output, ctx)`` and the matching ``*_backward`` takes that
``ctx`` and dL/d(output). Kernels never change their inputs, except the ``*_update`` ones,
which work in place on the parameter ``p`` and its slots. Every kernel computes in its
arrays' dtype (float32, or float64 in gradient checks).

Methods marked *optional* have a default here, written with the required ones; a tier
overrides them only where it can do better (fuse two passes, skip the winners).

Tiers: ``numpy_tier`` (the vectorised baseline, implementing every required method),
``reference`` (conv and pooling as textbook loops, one module), ``numba_cpu`` (compiled CPU
kernels), ``cuda`` (numba.cuda kernels on CuPy arrays). The NumPy, Numba and CUDA tiers are packages
with one module per family (``conv``, ``pool``, ``pointwise``, ``losses``, ``updates``), so
one family can be read across tiers side by side; the pointwise rules they compile are
written once, in :mod:`kernels.rules`.
"""
from __future__ import annotations

FAMILIES = {
    "device": ("to_device", "to_host"),
    "products": ("matmul",),
    "convolution": ("conv2d_forward", "conv2d_relu_forward", "conv2d_max_pool_values", "conv2d_backward"),
    "pooling": ("max_pool2d_forward", "max_pool2d_values", "max_pool2d_backward", "avg_pool2d_forward",
                "avg_pool2d_backward"),
    "pointwise": ("relu_forward", "relu_backward", "gelu_forward", "gelu_backward", "dropout_mask"),
    "normalization": ("batch_norm_forward", "batch_norm_backward", "batch_norm_inference"),
    "losses": ("softmax_cross_entropy",),
    "updates": ("sgd_update", "rmsprop_update", "adam_update", "adamax_update", "adagrad_update",
                "adadelta_update"),
}
OPTIONAL = ("conv2d_relu_forward", "conv2d_max_pool_values", "max_pool2d_values", "batch_norm_inference")


class KernelContract:
    """Every kernel a tier provides. ``name`` is the tier's name, ``xp`` the array module
    of its arrays (``numpy``, or ``cupy``)."""

    name = "contract"
    xp = None

    # ----- device -------------------------------------------------------------------------
    def to_device(self, array):
        """An array of this tier with the values of ``array`` (a host or tier array)."""
        raise NotImplementedError

    def to_host(self, array):
        """A NumPy array with the values of ``array``."""
        raise NotImplementedError

    # ----- products -----------------------------------------------------------------------
    def matmul(self, a, b, out=None):
        """``a @ b`` with NumPy's rules (stacked leading axes allowed), into ``out`` if given."""
        raise NotImplementedError

    # ----- convolution --------------------------------------------------------------------
    def conv2d_forward(self, x, w, b, strides, pads):
        """x (N, H, W, cin), w (kh, kw, cin, cout), b (cout,) or None ->
        y (N, oh, ow, cout):  y[n,i,j,f] = b[f] + sum_{a,b,c} xp[n, i*sh+a, j*sw+b, c] w[a,b,c,f],
        xp = x padded with zeros by ``pads``; ``(y, ctx)``."""
        raise NotImplementedError

    def conv2d_relu_forward(self, x, w, b, strides, pads):
        """*Optional.* ``(relu(y), ctx)`` for the ``y, ctx`` of :meth:`conv2d_forward`."""
        y, ctx = self.conv2d_forward(x, w, b, strides, pads)
        return self.relu_forward(y), ctx

    def conv2d_max_pool_values(self, x, w, b, strides, pads, relu):
        """*Optional, inference only.* The 2x2, stride 2 max-pooling of the convolution's
        output (of its relu when ``relu``); no ctx."""
        y = (self.conv2d_relu_forward if relu else self.conv2d_forward)(x, w, b, strides, pads)[0]
        return self.max_pool2d_values(y, (2, 2), (2, 2), ((0, 0), (0, 0)))

    def conv2d_backward(self, ctx, dy, need_dx=True):
        """``(dx, dw, db)`` for dy (N, oh, ow, cout):
        dw[a,b,c,f] = sum_{n,i,j} xp[n, i*sh+a, j*sw+b, c] dy[n,i,j,f];  db[f] = sum_{n,i,j} dy[n,i,j,f];
        dx[n,r,s,c] = sum of dy[n,i,j,f] w[a,b,c,f] over the (i, j, a, b) whose window reads
        x[n,r,s,c]. ``db`` is None without bias, ``dx`` None when ``need_dx`` is false."""
        raise NotImplementedError

    # ----- pooling ------------------------------------------------------------------------
    def max_pool2d_forward(self, x, pool, strides, pads):
        """y[n,i,j,c] = max of x over the window (padded cells are -inf: they never win);
        ctx remembers each window's winner, the first maximum in row-major order."""
        raise NotImplementedError

    def max_pool2d_values(self, x, pool, strides, pads):
        """*Optional, inference only.* The ``y`` of :meth:`max_pool2d_forward`, no winners."""
        return self.max_pool2d_forward(x, pool, strides, pads)[0]

    def max_pool2d_backward(self, ctx, dy):
        """dx: each dy value goes, whole, to its window's winner (overlaps add up)."""
        raise NotImplementedError

    def avg_pool2d_forward(self, x, pool, strides, pads):
        """y = (sum of the window's real cells) / (their count): padding is neither added
        nor counted."""
        raise NotImplementedError

    def avg_pool2d_backward(self, ctx, dy):
        """dx: each real cell of a window receives dy / (the window's count)."""
        raise NotImplementedError

    # ----- pointwise ----------------------------------------------------------------------
    def relu_forward(self, x):
        """y = max(x, 0) (NaN passes through)."""
        raise NotImplementedError

    def relu_backward(self, y, dy):
        """dx = dy where y > 0, else 0 (0 at exactly 0, as Keras); y is the relu's output."""
        raise NotImplementedError

    def gelu_forward(self, x):
        """y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, Phi by :func:`rules.normal_cdf`."""
        raise NotImplementedError

    def gelu_backward(self, x, dy):
        """dx = dy (Phi(x) + x phi(x)) (:func:`rules.normal_cdf`, :func:`rules.normal_pdf`);
        x is the gelu's input."""
        raise NotImplementedError

    def dropout_mask(self, shape, rate, rng, dtype):
        """Inverted dropout's mask: ``1 / (1 - rate)`` where a float32 uniform draw from the
        Generator ``rng`` is >= rate, else 0 (E[mask] = 1). Every tier draws the same
        uniforms in the same order (``rules.uniform_of(rules.random_bits(shape, rng))``), so
        a seed gives one mask on every tier."""
        raise NotImplementedError

    # ----- normalisation ------------------------------------------------------------------
    def batch_norm_forward(self, x, gamma, beta, eps):
        """Training-mode batch norm per channel (last axis), over the m values of every other
        axis: mu = mean(x), var = mean((x - mu)^2) (biased, as Keras), xhat = (x - mu) /
        sqrt(var + eps), y = gamma xhat + beta. ``ctx`` holds ``mean`` and ``var`` (the
        batch statistics, for the moving averages) and what backward needs."""
        raise NotImplementedError

    def batch_norm_backward(self, ctx, dy):
        """``(dx, dgamma, dbeta)``: dbeta = sum(dy), dgamma = sum(dy xhat), and with
        dxhat = gamma dy, dx = (m dxhat - sum(dxhat) - xhat sum(dxhat xhat)) / (m sqrt(var + eps))."""
        raise NotImplementedError

    def batch_norm_inference(self, x, mean, scale, beta):
        """*Optional.* Inference-mode batch norm with given statistics, per channel (last
        axis): y = (x - mean) * scale + beta, where scale = gamma / sqrt(moving_var + eps)."""
        return (x - mean) * scale + beta

    # ----- losses -------------------------------------------------------------------------
    def softmax_cross_entropy(self, logits, targets):
        """Fused softmax + cross-entropy per sample: with p = softmax(z) per row and targets
        y (rows of class weights (N, K), or integer labels (N,) meaning one-hot rows),
        loss_n = -sum_k y_nk log p_nk and dloss_n/dz_n = p_n sum_k y_nk - y_n;
        returns ``(losses (N,), dlosses/dlogits (N, K))``."""
        raise NotImplementedError

    # ----- optimizer updates (in place on p and its slots; the rules of kernels.rules) ----
    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        """Without velocity (None): p -= lr g. With: v = momentum v - lr g, then
        p += momentum v - lr g (nesterov) or p += v."""
        raise NotImplementedError

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        """a = rho a + (1-rho) g^2; centered (avg_g given): mg = rho mg + (1-rho) g and the
        denominator is a - mg^2 + eps, else a + eps; inc = lr g / sqrt(denominator); with
        momentum (mom given) m = momentum m + inc, p -= m; else p -= inc."""
        raise NotImplementedError

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
        p -= lr sqrt(1-b2^t) / (1-b1^t) * m / (sqrt(v) + eps)."""
        raise NotImplementedError

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        """m = b1 m + (1-b1) g; u = max(b2 u, |g|); p -= lr / (1-b1^t) * m / (u + eps)."""
        raise NotImplementedError

    def adagrad_update(self, p, g, acc, lr, eps):
        """acc += g^2; p -= lr g / sqrt(acc + eps)."""
        raise NotImplementedError

    def adadelta_update(self, p, g, acc_g, acc_dx, lr, rho, eps):
        """acc_g = rho acc_g + (1-rho) g^2; dx = -sqrt(acc_dx + eps) / sqrt(acc_g + eps) g;
        acc_dx = rho acc_dx + (1-rho) dx^2; p += lr dx."""
        raise NotImplementedError


def methods() -> tuple:
    """Every method of the contract, family by family."""
    return tuple(name for names in FAMILIES.values() for name in names)


def required() -> tuple:
    return tuple(name for name in methods() if name not in OPTIONAL)
