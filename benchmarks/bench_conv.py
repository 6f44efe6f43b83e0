"""Micro-benchmarks of the kernel tiers, printed as Markdown tables.

1. The CS231n convolution (100 images 31x31x3, 25 filters 3x3, stride 2, padding 'same'):
   forward and backward, reference vs numpy vs numba, at 1 thread and at every core.
2. The JIT cost of the numba tier: the first conv forward + backward in a fresh process,
   with an empty and with a filled Numba cache (a temporary NUMBA_CACHE_DIR).
3. Per kernel, a seed-model-like block (batch 32, 32x32x3 -> conv 32 filters 3x3 'same'
   + bias -> relu -> maxpool 2), forward and backward, numpy vs numba.

When PyTorch is installed, its conv2d (NCHW, its default layout) is timed on the same
problems in a fresh process, for comparison. Times are medians of repeated runs after one
warm-up call (min in brackets), so they are the steady state a training loop sees; the load
average is printed because other busy processes slow the multi-threaded rows most.
Run:  python benchmarks/bench_conv.py [--repeats 30] [--skip-jit]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_ENVIRONMENT_BEFORE_TINYCNN = dict(os.environ)

import numpy as np  # noqa: E402

import tinycnn  # noqa: E402
from tinycnn.kernels.geometry import plan_2d  # noqa: E402
from tinycnn.kernels.threads import max_threads  # noqa: E402


def timed(fn, repeats):
    """(median, min) wall time of ``fn()`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), 1e3 * min(times)


def fmt(t):
    return f"{t[0]:.2f} ({t[1]:.2f})"


_TORCH = """
import json, sys, time
import numpy as np, torch
threads, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
def timed(fn):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), 1e3 * min(times)
def leaves(n, h, cin, cout):
    return (torch.randn(n, cin, h, h, requires_grad=True), torch.randn(cout, cin, 3, 3, requires_grad=True),
            torch.randn(cout, requires_grad=True))
F = torch.nn.functional
x, w, b = leaves(100, 31, 3, 25)
y = F.conv2d(x, w, b, stride=2, padding=1)
with torch.no_grad():
    forward = timed(lambda: F.conv2d(x, w, b, stride=2, padding=1))
backward = timed(lambda: torch.autograd.grad(y, (x, w, b), torch.ones_like(y), retain_graph=True))
x, w, b = leaves(32, 32, 3, 32)
def block():
    z = F.max_pool2d(torch.relu(F.conv2d(x, w, b, padding=1)), 2)
    torch.autograd.grad(z, (x, w, b), torch.ones_like(z))
print(json.dumps({"conv": [forward, backward], "block": timed(block)}))
"""


def torch_timings(threads, repeats):
    """PyTorch's timings of the same problems (its default NCHW layout), measured in a
    fresh process with the environment tinycnn found (tinycnn asks OpenMP for passive
    waits, which would slow PyTorch's own pool); None without PyTorch."""
    run = subprocess.run([sys.executable, "-c", _TORCH, str(threads), str(repeats)],
                         env=_ENVIRONMENT_BEFORE_TINYCNN, capture_output=True, text=True)
    return json.loads(run.stdout) if run.returncode == 0 else None


def conv_problem(x_shape, kernel_shape, strides, padding, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal(x_shape, dtype=np.float32)
    w = r.standard_normal(kernel_shape, dtype=np.float32)
    b = r.standard_normal(kernel_shape[3], dtype=np.float32)
    _, strides, _, pads = plan_2d("conv2d", x_shape[1:3], kernel_shape[:2], strides, padding)
    return x, w, b, strides, pads


def bench_cs231n(repeats):
    x, w, b, strides, pads = conv_problem((100, 31, 31, 3), (3, 3, 3, 25), 2, "same")
    print("## CS231n convolution: x (100, 31, 31, 3), w (3, 3, 3, 25), stride 2, 'same', float32\n")
    results = []
    for threads in sorted({1, max_threads()}):
        tinycnn.set_num_threads(threads)
        for tier in ("reference", "numpy", "numba"):
            if tier == "reference" and threads > 1:
                continue                   # pure Python loops: threads change nothing
            kernels = tinycnn.set_backend(tier)
            n = max(3, repeats // 10) if tier == "reference" else repeats
            y, ctx = kernels.conv2d_forward(x, w, b, strides, pads)
            results.append((tier, threads,
                            timed(lambda: kernels.conv2d_forward(x, w, b, strides, pads), n),
                            timed(lambda: kernels.conv2d_backward(ctx, y), n)))
        torch_times = torch_timings(threads, repeats)
        if torch_times is not None:
            results.append(("PyTorch (NCHW, for comparison)", threads, *torch_times["conv"]))
    numpy_total = {threads: fwd[0] + bwd[0] for tier, threads, fwd, bwd in results if tier == "numpy"}
    print("| tier | threads | forward ms | backward ms | fwd+bwd speed-up vs numpy |")
    print("|---|---|---|---|---|")
    for tier, threads, fwd, bwd in results:
        speedup = numpy_total[threads] / (fwd[0] + bwd[0])
        print(f"| {tier} | {threads} | {fmt(fwd)} | {fmt(bwd)} | {speedup:.2f}x |")
    print()


_FIRST_CALL = """
import time
t0 = time.perf_counter()
import numpy as np, tinycnn
t1 = time.perf_counter()
k = tinycnn.set_backend("numba")
x = np.ones((100, 31, 31, 3), np.float32); w = np.ones((3, 3, 3, 25), np.float32)
t2 = time.perf_counter()
y, ctx = k.conv2d_forward(x, w, None, (2, 2), ((1, 1), (1, 1)))
k.conv2d_backward(ctx, y)
t3 = time.perf_counter()
k.conv2d_backward(ctx, y)
y, ctx = k.conv2d_forward(x, w, None, (2, 2), ((1, 1), (1, 1)))
t4 = time.perf_counter()
print(t1 - t0, t3 - t2, t4 - t3)
"""


def bench_jit():
    print("## JIT cost of the numba tier (fresh process, conv forward + backward)\n")
    print("| Numba cache | import tinycnn s | first fwd+bwd s | second fwd+bwd s |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty)", "warm (filled by the run above)"):
            run = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, cwd=cache,
                                 capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"the JIT timing process failed:\n{run.stderr}")
            out = run.stdout.split()
            print(f"| {label} | " + " | ".join(f"{float(v):.2f}" for v in out) + " |")
    print()


def bench_block(repeats):
    x, w, b, strides, pads = conv_problem((32, 32, 32, 3), (3, 3, 3, 32), 1, "same")
    pool, pool_strides, _, pool_pads = plan_2d("max_pool2d", (32, 32), 2, 2, "valid")
    print("## Per kernel: batch 32, 32x32x3 -> conv 32 3x3 'same' + bias -> relu -> maxpool 2, "
          f"float32, {tinycnn.get_num_threads()} threads\n")
    rows = {}
    for tier in ("numpy", "numba"):
        k = tinycnn.set_backend(tier)
        conv_y, conv_ctx = k.conv2d_forward(x, w, b, strides, pads)
        relu_y = k.relu_forward(conv_y)
        pool_y, pool_ctx = k.max_pool2d_forward(relu_y, pool, pool_strides, pool_pads)
        dpool = np.ones_like(pool_y)
        drelu = k.max_pool2d_backward(pool_ctx, dpool)
        dconv = k.relu_backward(relu_y, drelu)
        steps = {
            "conv2d forward": lambda: k.conv2d_forward(x, w, b, strides, pads),
            "relu forward": lambda: k.relu_forward(conv_y),
            "max_pool2d forward": lambda: k.max_pool2d_forward(relu_y, pool, pool_strides, pool_pads),
            "max_pool2d backward": lambda: k.max_pool2d_backward(pool_ctx, dpool),
            "relu backward": lambda: k.relu_backward(relu_y, drelu),
            "conv2d backward": lambda: k.conv2d_backward(conv_ctx, dconv),
        }
        for step, fn in steps.items():
            rows.setdefault(step, {})[tier] = timed(fn, repeats)
    print("| kernel | numpy ms | numba ms | speed-up |")
    print("|---|---|---|---|")
    for step, t in rows.items():
        print(f"| {step} | {fmt(t['numpy'])} | {fmt(t['numba'])} | {t['numpy'][0] / t['numba'][0]:.2f}x |")
    total = {tier: sum(t[tier][0] for t in rows.values()) for tier in ("numpy", "numba")}
    print(f"| **block total** | {total['numpy']:.2f} | {total['numba']:.2f} | "
          f"{total['numpy'] / total['numba']:.2f}x |\n")
    torch_times = torch_timings(tinycnn.get_num_threads(), repeats)
    if torch_times is not None:
        print(f"PyTorch (NCHW), the same block forward + backward: {fmt(torch_times['block'])} ms\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--skip-jit", action="store_true", help="skip the fresh-process JIT timing")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at start\n")
    bench_cs231n(args.repeats)
    if not args.skip_jit:
        bench_jit()
    tinycnn.set_num_threads(max_threads())
    bench_block(args.repeats)


if __name__ == "__main__":
    main()
