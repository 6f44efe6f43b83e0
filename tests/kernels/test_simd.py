"""The numba tier at both vector widths of :mod:`kernels.simd`.

The width of the kernels' vectors follows the CPU that Numba compiles for: 64 bytes
(AVX-512) where it has ``avx512f``, else 32 (AVX2), and the direct convolution's register
block follows the width (8 or 4 pixels). The rest of the suite runs the host's width only,
so this test runs the numba tier's own tests and the convolution gradient checks again in
a child process whose Numba target is the host without AVX-512 (the host's feature list
with every AVX-512 and AVX10 feature turned off): on an AVX-512 machine that is the 32-byte
code, and on an AVX2 machine the same code as the parent (still a valid run, never a skip).
The child has its own empty Numba cache, so it compiles every kernel for that target.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
from numba.core.codegen import get_host_cpu_features

from tinycnn.kernels import simd

ROOT = Path(__file__).resolve().parents[2]


def features_without_avx512() -> str:
    """The host's LLVM feature list with the AVX-512 and AVX10 features switched off."""
    return ",".join("-" + f[1:] if f[1:].startswith(("avx512", "avx10")) else f
                    for f in get_host_cpu_features().split(","))


def test_host_width_follows_the_target_features():
    host_has_avx512 = llvm.get_host_cpu_features()["avx512f"]   # LLVM's own answer, not simd's parsing
    assert simd.VECTOR_BYTES == (64 if host_has_avx512 else 32)
    assert "+avx512f" not in features_without_avx512().split(",")


def test_numba_tier_passes_its_tests_with_32_byte_vectors(tmp_path):
    env = {**os.environ, "NUMBA_CPU_FEATURES": features_without_avx512(), "NUMBA_CACHE_DIR": str(tmp_path)}
    width = subprocess.run([sys.executable, "-c", "from tinycnn.kernels import simd; print(simd.VECTOR_BYTES)"],
                           env=env, capture_output=True, text=True, check=True)
    assert width.stdout.strip() == "32"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/kernels/test_numba_cpu.py", "tests/ops/test_ops_gradients.py", "-k", "numba"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
