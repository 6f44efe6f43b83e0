"""Where the time goes: per-step shapes, work and timings of one training step.

For each step of a model's plan (a layer, or a layer and those the plan runs with it), on
a batch ``x``: the output shape, the im2col matrix a convolution multiplies (N*oh*ow rows,
kh*kw*cin columns), the floating-point operations of the forward pass (a multiply-add counts 2: conv ``2*N*oh*ow*kh*kw*cin*cout``, dense
``2*N*in*out``) and the median forward and backward times in the current kernel tier.
"""
from __future__ import annotations

import time

import numpy as np

from . import plan
from .ops import device
from .layers import Conv2D, Dense
from .layers.base import shape_str
from .tensor import Tensor


def layer_work(layer, input_shape) -> tuple[str, int]:
    """(im2col matrix size as text, forward FLOPs) of one layer for a concrete input shape."""
    n = input_shape[0]
    out = layer.output_shape
    if isinstance(layer, Conv2D):
        kh, kw = layer.kernel_size
        rows, cols = n * out[1] * out[2], kh * kw * input_shape[-1]
        return f"{rows} x {cols}", 2 * rows * cols * layer.filters
    if isinstance(layer, Dense):
        rows = n * int(np.prod(input_shape[1:-1]))
        return "", 2 * rows * input_shape[-1] * layer.units
    return "", int(np.prod((n, *out[1:])))


def _median_seconds(run, repeats) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def profile(model, x, repeats=3, print_fn=print) -> list[dict]:
    """Time every step of ``model``'s plan (a layer, or the layers the plan joins, see
    :mod:`tinycnn.plan`) on the batch ``x`` (a list of arrays for several inputs): forward
    in training mode, then backward of the sum of its output; print a table and return
    its rows. As in training, the gradient of the model's inputs (the data) is not
    computed: a step that reads them back-propagates into its weights only."""
    program = plan.for_model(model)
    values = dict(zip(program.inputs, [np.asarray(a, dtype=np.float32) for a in (x if isinstance(x, list) else [x])]))
    rows = []
    for segment in program.segments:
        h = [values[slot] for slot in segment.inputs]
        h = h[0] if len(h) == 1 else h
        reads_data = all(slot in program.inputs for slot in segment.inputs)
        for i, step in enumerate(segment.steps):
            row, h = _profile_step(step, h, repeats, input_grad=not (reads_data and i == 0))
            rows.append(row)
        values[segment.output] = h
    _print_table(rows, print_fn)
    return rows


def _profile_step(step, h, repeats, input_grad) -> tuple[dict, np.ndarray]:
    """The profile row of one step on input ``h`` (an array or a list), and its output;
    ``input_grad``: whether backward computes the gradient of ``h`` too."""
    leaf = [Tensor(a, requires_grad=input_grad) for a in h] if isinstance(h, list) else Tensor(h, requires_grad=input_grad)
    out = plan.run_step(step, leaf, training=True)
    upstream = np.ones_like(out.data)

    def forward_and_backward():
        for t in leaf if isinstance(leaf, list) else [leaf]:
            t.grad = None
        for w in step.layer.weights:
            w.grad = None
        plan.run_step(step, leaf, training=True).backward(upstream)

    forward = _median_seconds(lambda: plan.run_step(step, leaf, training=True), repeats)
    both = _median_seconds(forward_and_backward, repeats) if out.requires_grad else forward
    first_shape = (h[0] if isinstance(h, list) else h).shape
    im2col, flops = layer_work(step.layer, first_shape)
    layers = [layer for layer in step if layer is not None]
    flops += sum(layer_work(layer, (first_shape[0], *layer.input_shape[1:]))[1] for layer in layers[1:])
    names = " + ".join(layer.name for layer in layers)
    return ({"layer": f"{names} ({type(step.layer).__name__})", "output": shape_str(out.shape),
             "im2col": im2col, "flops": flops, "forward_ms": 1e3 * forward,
             "backward_ms": 1e3 * max(both - forward, 0.0)}, out.data)


def _print_table(rows, print_fn) -> None:
    header = f"{'layer':<32}{'output':<22}{'im2col':>16}{'MFLOP':>10}{'fwd ms':>9}{'bwd ms':>9}"
    print_fn(f"kernel tier: {device.tier_name()}")
    print_fn(header)
    print_fn("-" * len(header))
    for r in rows:
        print_fn(f"{r['layer']:<32}{r['output']:<22}{r['im2col']:>16}{r['flops'] / 1e6:>10.1f}"
                 f"{r['forward_ms']:>9.2f}{r['backward_ms']:>9.2f}")
    total_fwd = sum(r["forward_ms"] for r in rows)
    total_bwd = sum(r["backward_ms"] for r in rows)
    print_fn("-" * len(header))
    print_fn(f"{'total':<70}{sum(r['flops'] for r in rows) / 1e6:>10.1f}{total_fwd:>9.2f}{total_bwd:>9.2f}")
