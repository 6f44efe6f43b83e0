"""Micro-benchmark of the cuda kernel tier on a GPU; prints Markdown tables.

    python benchmarks/bench_cuda.py > benchmarks/RESULTS_GPU_kernels.md

Needs an NVIDIA GPU with CuPy and numba-cuda; PyTorch (CUDA) is the yardstick where it is
installed. Every figure is the median of repeated runs after warm-up, each run bracketed by
device synchronisation. All products are float32 with TF32 switched off everywhere (CuPy's
default; set for PyTorch here), so every column does the same arithmetic.

1. Matrix products: the tier's tiled shared-memory Numba GEMM (the teaching kernel) vs
   CuPy's matmul (cuBLAS) vs torch.matmul, on the shapes of the MNIST CNN's second conv
   at batch 128 (forward 25088x288 @ 288x64, and its weight gradient 288x25088 @ 25088x64,
   a transposed view) and on 1024^3.
2. Conv2d forward + backward of seed-model layers (batch 32, 3x3 'same'): the cuda tier
   (products by cuBLAS, and by the Numba GEMM) vs torch.nn.functional.conv2d (cuDNN) in
   channels-first and channels-last layouts, the faster of the two counted.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinycnn  # noqa: E402

REPEATS, WARMUP = 25, 3


def median_ms(fn, sync, repeats=REPEATS, warmup=WARMUP):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    backend = tinycnn.set_backend("cuda")
    if backend.simulated:
        sys.exit("bench_cuda.py needs a real GPU (not the simulator)")
    cp = backend.xp
    try:
        import torch
        import torch.nn.functional as F
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch_sync = torch.cuda.synchronize
    except ImportError:
        torch = None
    sync = backend.synchronize
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"# cuda tier kernels on {name}\n")
    print(f"float32, TF32 off; median of {REPEATS} runs after {WARMUP} warm-up runs, synchronised; "
          f"CuPy {cp.__version__}, Numba {__import__('numba').__version__}"
          + (f", PyTorch {torch.__version__}" if torch else "") + f".\n")

    # ----- 1. matrix products ------------------------------------------------------------------
    print("## Matrix products (ms, and TFLOP/s)\n")
    print("| product | Numba tiled GEMM, tile 16 | tile 32 | CuPy (cuBLAS) | torch.matmul "
          "| Numba (tile 16) / cuBLAS |")
    print("|---|---|---|---|---|---|")
    from tinycnn.kernels.cuda import CudaBackend
    backend32 = CudaBackend(tile=32, gemm="numba")
    rng = np.random.default_rng(0)
    cases = [("25088x288 @ 288x64 (conv2 fwd, batch 128)", 25088, 288, 64, False),
             ("(25088x288)^T @ 25088x64 (conv2 dW)", 288, 25088, 64, True),
             ("1024x1024 @ 1024x1024", 1024, 1024, 1024, False)]
    for label, m, k, n, transposed in cases:
        if transposed:
            a = cp.asarray(rng.standard_normal((k, m), dtype=np.float32)).T
        else:
            a = cp.asarray(rng.standard_normal((m, k), dtype=np.float32))
        b = cp.asarray(rng.standard_normal((k, n), dtype=np.float32))
        out = cp.empty((m, n), dtype=np.float32)
        err = float(cp.abs(backend.numba_matmul(a, b) - a @ b).max())
        assert err < 1e-2 * max(1.0, k ** 0.5), err
        flops = 2.0 * m * k * n
        t_numba = median_ms(lambda: backend.numba_matmul(a, b, out), sync)
        t_numba32 = median_ms(lambda: backend32.numba_matmul(a, b, out), sync)
        t_cublas = median_ms(lambda: cp.matmul(a, b, out=out), sync)
        cells = [t_numba, t_numba32, t_cublas]
        if torch:
            ta, tb = torch.as_tensor(a, device="cuda"), torch.as_tensor(b, device="cuda")
            cells.append(median_ms(lambda: torch.matmul(ta, tb), torch_sync))
        text = [f"{t:.3f} ({flops / t / 1e9:.1f})" for t in cells] + (["-"] if not torch else [])
        print(f"| {label} | " + " | ".join(text) + f" | {t_numba / t_cublas:.1f}x |")

    # ----- 2. conv2d forward + backward --------------------------------------------------------
    print("\n## Conv2d forward + backward, batch 32, 3x3 'same', stride 1 (ms)\n")
    print("| layer | cuda tier (cuBLAS) | cuda tier (Numba GEMM) | tier (cuBLAS), CuPy arrays passed "
          "to Numba as they are | torch NCHW | torch NHWC | tier (cuBLAS) / best torch |")
    print("|---|---|---|---|---|---|---|")
    for h, cin, cout in [(32, 3, 32), (32, 32, 64)]:
        x = cp.asarray(rng.standard_normal((32, h, h, cin), dtype=np.float32))
        w = cp.asarray(rng.standard_normal((3, 3, cin, cout), dtype=np.float32) * 0.1)
        b = cp.zeros(cout, dtype=np.float32)
        dy = cp.asarray(rng.standard_normal((32, h, h, cout), dtype=np.float32))
        pads = ((1, 1), (1, 1))

        def step(gemm):
            def run():
                backend.gemm = gemm
                _, ctx = backend.conv2d_forward(x, w, b, (1, 1), pads)
                backend.conv2d_backward(ctx, dy)
            return run

        tier = {g: median_ms(step(g), sync) for g in ("cublas", "numba")}
        backend.wrap_args = False
        tier["direct"] = median_ms(step("cublas"), sync)
        backend.wrap_args = True
        backend.gemm = "cublas"
        torch_ms = {}
        if torch:
            for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
                tx = torch.as_tensor(x, device="cuda").permute(0, 3, 1, 2).contiguous(memory_format=fmt)
                tw = torch.as_tensor(w, device="cuda").permute(3, 2, 0, 1).contiguous(memory_format=fmt)
                tb = torch.as_tensor(b, device="cuda")
                tdy = torch.as_tensor(dy, device="cuda").permute(0, 3, 1, 2).contiguous(memory_format=fmt)
                tx.requires_grad_(True)
                tw.requires_grad_(True)
                tb.requires_grad_(True)

                def run():
                    y = F.conv2d(tx, tw, tb, padding=1)
                    torch.autograd.grad(y, (tx, tw, tb), tdy)
                torch_ms[layout] = median_ms(run, torch_sync)
        best = min(torch_ms.values()) if torch_ms else float("nan")
        cells = [tier["cublas"], tier["numba"], tier["direct"], torch_ms.get("NCHW", float("nan")),
                 torch_ms.get("NHWC", float("nan"))]
        print(f"| {h}x{h}x{cin} -> {cout} | " + " | ".join(f"{t:.3f}" for t in cells)
              + f" | {tier['cublas'] / best:.1f}x |")

    breakdown(backend, cp, rng, sync)


def breakdown(backend, cp, rng, sync):
    """Where the time of a small layer goes: the cost of one kernel launch from Python, and
    the pieces of the 32x32x32 -> 64 layer's forward + backward."""
    from tinycnn.kernels import cuda as tier
    cuda = tier.cuda

    @cuda.jit
    def nothing(a, b):
        k = cuda.grid(1)
        if k < 0:
            a[0] = b[0]

    a, b = cp.zeros(1024, dtype=np.float32), cp.zeros(1024, dtype=np.float32)
    da, db = cuda.as_cuda_array(a, sync=False), cuda.as_cuda_array(b, sync=False)
    print("\n## Launch overhead (microseconds per call, 2 array arguments, nothing to do)\n")
    print("| launch | us |")
    print("|---|---|")
    rows = [("numba kernel, CuPy arrays passed directly", lambda: nothing[4, 256](a, b)),
            ("numba kernel, as_cuda_array(sync=False) per call",
             lambda: nothing[4, 256](cuda.as_cuda_array(a, sync=False), cuda.as_cuda_array(b, sync=False))),
            ("numba kernel, the tier's cached views (backend._arg)",
             lambda: nothing[4, 256](backend._arg(a), backend._arg(b))),
            ("numba kernel, numba device arrays made once", lambda: nothing[4, 256](da, db)),
            ("as_cuda_array alone (one array)", lambda: cuda.as_cuda_array(a, sync=False)),
            ("CuPy elementwise a + b", lambda: cp.add(a, b, out=a))]
    for label, fn in rows:
        ms = median_ms(lambda: [fn() for _ in range(100)], sync, repeats=7) / 100
        print(f"| {label} | {ms * 1e3:.1f} |")

    print("\n## Pieces of the 32x32x32 -> 64 layer, batch 32 (ms)\n")
    x = cp.asarray(rng.standard_normal((32, 32, 32, 32), dtype=np.float32))
    w = cp.asarray(rng.standard_normal((3, 3, 32, 64), dtype=np.float32))
    bias = cp.zeros(64, dtype=np.float32)
    dy = cp.asarray(rng.standard_normal((32, 32, 32, 64), dtype=np.float32))
    pads, out_hw = ((1, 1), (1, 1)), (32, 32)
    cols = backend._cols(x, (3, 3), (1, 1), pads, out_hw)
    w2, dy2 = w.reshape(-1, 64), dy.reshape(-1, 64)
    y = cols @ w2
    dcols = dy2 @ w2.T
    dx = cp.empty_like(x)
    pieces = [
        ("im2col (numba)", lambda: backend._cols(x, (3, 3), (1, 1), pads, out_hw)),
        ("cols @ W (cuBLAS)", lambda: cp.matmul(cols, w2, out=y)),
        ("bias add (numba)", lambda: backend._launch(tier._add_bias, y.size, y, bias)),
        ("cols^T @ dY (cuBLAS)", lambda: cp.matmul(cols.T, dy2)),
        ("dY @ W^T (cuBLAS)", lambda: cp.matmul(dy2, w2.T, out=dcols)),
        ("bias gradient, column sums (numba)", lambda: backend.column_sums(dy2)),
        ("col2im (numba)", lambda: backend._launch_runs(tier._col2im, dx.size // 32, 32, dcols, 3, 3, 1, 1,
                                                        1, 1, 32, 32, dx, np.float32(0))),
        ("max_pool2d 2x2 forward + backward (numba)", lambda: backend.max_pool2d_backward(
            backend.max_pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))[1], dy[:, :16, :16, :32])),
        ("relu forward + backward (numba)", lambda: backend.relu_backward(backend.relu_forward(x), x)),
    ]
    print("| piece | ms |")
    print("|---|---|")
    for label, fn in pieces:
        print(f"| {label} | {median_ms(fn, sync):.3f} |")


if __name__ == "__main__":
    main()
