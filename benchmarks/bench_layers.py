"""Per-layer GFLOP/s of the seed models' convolutions against the machine's sgemm rate.

    python benchmarks/bench_layers.py [--repeats 5] [--out benchmarks/measured/layers.md]

For every Conv2D step of every seed model's plan (with its fused relu / pooling), at the
notebook's batch size on the numba tier with 2 threads: forward FLOPs / forward time, and
backward FLOPs (2x forward: the weight gradient and the input gradient) / backward time,
medians of ``--repeats`` (tinycnn.profiling). The sgemm rate is NumPy's float32 1024^3
product on the same 2 threads, measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "measured" / "layers.md"))
    args = parser.parse_args()
    import tinycnn
    from tinycnn import profiling, zoo
    from bench_models import SEED_MODELS, sgemm_gflops
    tinycnn.set_backend("numba")
    tinycnn.set_num_threads(2)
    sgemm = sgemm_gflops()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    lines = ["# Convolution layers of the seed models against sgemm", "",
             f"Machine: {cpu}, {os.cpu_count()} cores, 2 threads; NumPy float32 sgemm (1024^3): {sgemm:.0f} GFLOP/s "
             "in this run.", "", f"Command: `python benchmarks/bench_layers.py --repeats {args.repeats}`", "",
             "| model | step | input -> output | fwd GFLOP/s | % sgemm | bwd GFLOP/s | % sgemm |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for name, batch in SEED_MODELS.items():
        model = zoo.build(name)
        if not any(type(layer).__name__ == "Conv2D" for layer in model.layers):
            continue
        x = np.random.default_rng(0).random((batch, *model.input_shape[1:]), dtype=np.float32)
        rows = profiling.profile(model, x, repeats=args.repeats, print_fn=lambda *a: None)
        for row in rows:
            if "(Conv2D)" not in row["layer"]:
                continue
            forward = row["flops"] / row["forward_ms"] / 1e6
            backward = 2 * row["flops"] / max(row["backward_ms"], 1e-9) / 1e6
            lines.append(f"| {name} | {row['layer']} | {row['im2col']} -> {row['output']} | {forward:.0f} | "
                         f"{100 * forward / sgemm:.0f} | {backward:.0f} | {100 * backward / sgemm:.0f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
