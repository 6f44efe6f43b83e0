"""exp and the normal distribution's Phi and phi in float32 lanes, for GELU on the Numba tier.

A loop that calls ``math.exp`` calls the math library once per element, so LLVM cannot
vectorise it. These rules are arithmetic that it can: 16 float32 lanes per AVX-512
register, 8 per AVX2 one.

exp(a), a <= 0, by range reduction: a = k ln 2 + r with k = round(a / ln 2) and
|r| <= ln 2 / 2, so exp(a) = 2^k exp(r). exp(r) is its Taylor series to r^7 (truncation
below 6e-9 relative); 2^k is the float32 whose exponent field is k + 127 and whose
mantissa is zero, made by writing those bits (``float32_of_bits``, an LLVM bitcast, free
in a register). ln 2 is split into a part exact in float32 and the rest (Cody and Waite),
so r keeps its precision for k up to 126. Relative error about 2e-7 (float32 rounding).

Phi(x) = erfc(-x / sqrt 2) / 2 by the erfc fit of :mod:`kernels.rules` (coefficients
rounded to float32) and this exp. Measured against ``math.erfc`` in float64 on 400,000
points over [-14, 14] (tests/kernels/test_float32_math.py): GELU x Phi(x) within 1e-6
relative or 1e-7 absolute everywhere; its derivative Phi + x phi within 2e-7 absolute (a
relative error is no measure there: the two terms cancel near x = -0.75). That is the
accuracy of float32 arithmetic itself, as in Keras's own float32 GELU. float64 arrays use
the rules of :mod:`kernels.rules` (``math.exp``): the gradient checks need their precision.

The kernels that call these are compiled with ``loops.compiled_contracting``
(``fastmath={"contract"}``): LLVM may fuse a multiply and an add into one FMA (one rounding
instead of two), halving the instructions of the polynomials; nothing else of fast-math (no
reassociation, NaN and inf kept).
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from .. import rules
from .loops import rule

F32 = np.float32
LOG2_E = F32(1.4426950408889634)
LN2_HIGH, LN2_LOW = F32(0.693359375), F32(-2.12194440e-4)   # LN2_HIGH has 9 significant bits
EXP_FLOOR = F32(-87.0)     # exp(-87) = 1.6e-38, just above float32's smallest normal (2^-126)
EXP_TAYLOR = tuple(F32(1.0 / math.factorial(n)) for n in range(7, -1, -1))   # Horner's order
ERFC_HORNER = tuple(F32(c) for c in rules.ERFC_HORNER)


@intrinsic
def float32_of_bits(typingctx, bits):
    """The float32 whose IEEE bits are the low 32 bits of the integer ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        word = args[0] if bits.bitwidth == 32 else builder.trunc(args[0], ir.IntType(32))
        return builder.bitcast(word, ir.FloatType())

    return types.float32(bits), codegen


@rule
def exp_nonpositive(a):
    """exp(a) for float32 a <= 0 (0 below EXP_FLOOR)."""
    b = max(a, EXP_FLOOR)
    k = np.int32(b * LOG2_E - F32(0.5))       # round to nearest: b * LOG2_E <= 0
    kf = F32(k)
    r = (b - kf * LN2_HIGH) - kf * LN2_LOW
    e = EXP_TAYLOR[0]
    for c in EXP_TAYLOR[1:]:
        e = c + r * e
    e = e * float32_of_bits((k + 127) << 23)   # times 2^k
    return e if a >= EXP_FLOOR else F32(0.0)


@rule
def normal_cdf(x):
    """Phi(x) for float32 x (:func:`kernels.rules.normal_cdf` in float32 arithmetic)."""
    z = abs(x) * F32(0.70710677)
    t = F32(1.0) / (F32(1.0) + F32(0.5) * z)
    p = ERFC_HORNER[0]
    for c in ERFC_HORNER[1:]:
        p = c + t * p
    half_erfc = F32(0.5) * t * exp_nonpositive(min(p - z * z, F32(0.0)))
    return F32(1.0) - half_erfc if x >= F32(0.0) else half_erfc


@rule
def normal_pdf(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi) for float32 x."""
    return F32(0.3989422804014327) * exp_nonpositive(F32(-0.5) * x * x)
