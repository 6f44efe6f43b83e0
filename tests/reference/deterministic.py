"""Deterministic weights shared by the golden-file generator and the parity tests.

NumPy only (the generator runs in a Keras environment without tinycnn), and exact: integer
hashing and float64 steps give the same bits on every platform, so the tests can rebuild
the generator's initial weights instead of storing them.
"""
import numpy as np


def splitmix64(n: int, seed: int) -> np.ndarray:
    """splitmix64 of (seed << 32) + index for index 0..n-1, in wrapping uint64 arithmetic."""
    m = np.uint64
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + m(int(seed) << 32)
        z = z + m(0x9E3779B97F4A7C15)
        z = (z ^ (z >> m(30))) * m(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> m(27))) * m(0x94D049BB133111EB)
        return z ^ (z >> m(31))


def hash_uniform(shape, seed: int, limit: float) -> np.ndarray:
    """Uniform in [-limit, limit], reproducible bit for bit on any platform: the top 53
    bits of splitmix64 as u in [0, 1), then (2u - 1) * limit in float64 (exactly rounded),
    then float32."""
    n = int(np.prod(shape, dtype=np.int64))
    u = (splitmix64(n, seed) >> np.uint64(11)).astype(np.float64) / 2.0 ** 53
    return ((2.0 * u - 1.0) * float(limit)).astype(np.float32).reshape(tuple(shape))
