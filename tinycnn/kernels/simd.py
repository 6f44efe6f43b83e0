"""CPU vector registers for Numba kernels: a vector type as wide as the CPU's registers and
seven operations on it.

Numba compiles a loop like ``acc[f] += x * w[f]`` to vector instructions only when LLVM can
prove that it is safe and worth it, and it keeps ``acc`` in memory, not in registers. A
kernel that must run near the machine's peak (the direct convolution of
:mod:`kernels.numba_cpu`) says instead exactly what it wants: a handful of named vector
variables that LLVM keeps in the CPU's vector registers, and one fused multiply-add per
pair of vectors:

    acc = fma(splat(x, i), load(w, k), acc)     # acc[l] += x[i] * w[k + l], l = 0 .. lanes-1

A vector is ``VECTOR_BYTES`` wide: 64 bytes (an AVX-512 register: 16 float32 or 8 float64
lanes, :func:`lanes`) when the CPU that Numba compiles for has AVX-512, else 32 (AVX2: 8
float32 or 4 float64). Each AVX-512 instruction does twice the work of an AVX2 one, and
the kernels' register blocks fit either register file (32 registers with AVX-512, 16 with
AVX2). On a CPU with neither, LLVM splits each operation into narrower ones, so the
kernels stay correct everywhere. The width follows Numba's target (the host, or
``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` when set), which is also part of the key of
Numba's disk cache, so a cached kernel always has the width this module reports. Arrays
passed to these operations must be 1-D and C-contiguous; there is no bounds check (the
caller's index arithmetic is the contract).

The operations are compiled into the kernels that call them, and Numba's disk cache only
notices changes to the kernel's own file: after editing this one, delete the cache of
``numba_cpu.py`` (its ``*.nbi``/``*.nbc`` files in ``__pycache__``) or set
``NUMBA_CACHE_DIR`` to an empty folder.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic, models, register_model


def target_has_avx512() -> bool:
    """Does the CPU that Numba compiles for have AVX-512 (the ``avx512f`` feature)?"""
    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return "+avx512f" in features.split(",")


VECTOR_BYTES = 64 if target_has_avx512() else 32


class Vector(types.Type):
    """A vector of ``lanes`` values of ``dtype`` (a Numba float type), held in a register."""

    def __init__(self, dtype, lanes):
        self.dtype, self.lanes = dtype, lanes
        super().__init__(name=f"vector({dtype} x {lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(dmm.lookup(fe_type.dtype).get_value_type(), fe_type.lanes))


def _vector_of(array_type):
    """The vector type for elements of a 1-D contiguous float array type, else None."""
    if (isinstance(array_type, types.Array) and array_type.ndim == 1 and array_type.layout == "C"
            and array_type.dtype in (types.float32, types.float64)):
        return Vector(array_type.dtype, VECTOR_BYTES * 8 // array_type.dtype.bitwidth)
    return None


def _element_pointer(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


def _vector_pointer(context, builder, array_type, array, index, vector):
    """A pointer to the ``vector`` that starts at ``array[index]`` (aligned only to one
    element: ``index`` need not be a multiple of the lanes)."""
    element = _element_pointer(context, builder, array_type, array, index)
    return builder.bitcast(element, context.get_value_type(vector).as_pointer())


@intrinsic
def lanes(typingctx, array):
    """The number of lanes of the vectors of ``array``'s dtype (a compile-time constant)."""
    vector = _vector_of(array)
    if vector is None:
        return None

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, vector.lanes)
    return types.intp(array), codegen


@intrinsic
def load(typingctx, array, index):
    """The vector ``array[index : index + lanes]``."""
    vector = _vector_of(array)
    if vector is None:
        return None

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], *args, vector)
        return builder.load(pointer, align=array.dtype.bitwidth // 8)
    return vector(array, index), codegen


@intrinsic
def store(typingctx, array, index, value):
    """``array[index : index + lanes] = value``."""
    if _vector_of(array) != value:
        return None

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], args[0], args[1], value)
        builder.store(args[2], pointer, align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


@intrinsic
def splat(typingctx, array, index):
    """A vector with ``array[index]`` in every lane (one broadcast load)."""
    vector = _vector_of(array)
    if vector is None:
        return None

    def codegen(context, builder, signature, args):
        scalar = builder.load(_element_pointer(context, builder, signature.args[0], *args))
        llvm_vector = context.get_value_type(vector)
        first = builder.insert_element(ir.Constant(llvm_vector, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(first, ir.Constant(llvm_vector, ir.Undefined),
                                      ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), [0] * vector.lanes))
    return vector(array, index), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` lane by lane, rounded once (LLVM's ``llvm.fma``)."""
    if not (isinstance(a, Vector) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        llvm_vector = context.get_value_type(a)
        suffix = f"v{a.lanes}f{a.dtype.bitwidth}"
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(llvm_vector, [llvm_vector] * 3),
                                                  f"llvm.fma.{suffix}")
        return builder.call(function, list(args))
    return a(a, b, c), codegen


@intrinsic
def add(typingctx, a, b):
    """``a + b`` lane by lane."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(*args)
    return a(a, b), codegen


@intrinsic
def relu(typingctx, value):
    """0 in the lanes where ``value < 0``, ``value`` elsewhere (NaN passes through, as in
    the relu kernels)."""
    if not isinstance(value, Vector):
        return None

    def codegen(context, builder, signature, args):
        llvm_vector = context.get_value_type(value)
        zero = ir.Constant(llvm_vector, [0.0] * value.lanes)
        return builder.select(builder.fcmp_ordered("<", args[0], zero), zero, args[0])
    return value(value), codegen


@intrinsic
def maximum(typingctx, a, b):
    """The larger of ``a`` and ``b`` lane by lane; NaN in either gives NaN (as max-pooling
    treats NaN)."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        x, y = args
        larger = builder.select(builder.fcmp_ordered(">", x, y), x, y)
        return builder.select(builder.fcmp_unordered("uno", x, x), x, larger)
    return a(a, b), codegen
