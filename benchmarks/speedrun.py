"""Speedrun measurements: an epoch sweep, seeds, the ablation and PyTorch side by side.

    python benchmarks/speedrun.py --epochs 4,6,8,10 --seeds 0 [--ablation] [--torch]
        [--widths 64,128,128] [--data-dir ../shared/datasets] [--out benchmarks/measured/speedrun.md]

Every run is a fresh ``tinycnn speedrun`` process (PyTorch's: ``benchmarks/speedrun_torch.py``)
whose final JSON line is collected; runs follow one another, never side by side, so each has
both cores. Prints a markdown table and writes it to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

from tinycnn.speedrun import TRICKS

HERE = Path(__file__).resolve().parent


def final_json(command) -> dict:
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", default="10", help="comma-separated epoch counts (the sweep)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--widths", default="64,128,128")
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "datasets"))
    parser.add_argument("--ablation", action="store_true", help="also each trick left out, at the last epoch count")
    parser.add_argument("--torch", action="store_true", help="also benchmarks/speedrun_torch.py, same settings")
    parser.add_argument("--out", default=str(HERE / "measured" / "speedrun.md"))
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    base = [sys.executable, "-m", "tinycnn.cli", "speedrun", "--verbose", "0", "--widths", args.widths,
            "--data-dir", args.data_dir]
    rows = []
    epochs_list = [int(e) for e in args.epochs.split(",")]
    for epochs in epochs_list:
        for seed in args.seeds.split(","):
            variants = [("tinycnn", [])]
            if args.ablation and epochs == epochs_list[-1]:
                variants += [(f"tinycnn without {trick}", ["--without", trick]) for trick in TRICKS]
            for label, extra in variants:
                result = final_json(base + ["--epochs", str(epochs), "--seed", seed] + extra)
                rows.append((label, epochs, seed, result))
                print(label, epochs, seed, result, flush=True)
            if args.torch:
                result = final_json([sys.executable, str(HERE / "speedrun_torch.py"), "--epochs", str(epochs),
                                     "--seed", seed, "--widths", args.widths, "--data-dir", args.data_dir])
                rows.append(("PyTorch (same recipe)", epochs, seed, result))
                print("torch", epochs, seed, result, flush=True)
    lines = [f"# Speedrun, widths {args.widths}", "", f"Machine: {cpu}, 2 cores, 2 threads.", "",
             f"Command: `python benchmarks/speedrun.py {' '.join(sys.argv[1:])}`", "",
             "| run | epochs | seed | test accuracy (TTA) % | seconds (end to end) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {label} | {epochs} | {seed} | {100 * r['test_accuracy']:.2f} | {r['seconds']:.0f} |"
              for label, epochs, seed, r in rows]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
