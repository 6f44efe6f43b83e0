"""numba.cuda imported in the right mode (a GPU with CuPy, or Numba's simulator), once."""
from __future__ import annotations

import os
import sys

import numpy as np

_SIM_HELP = ("the 'cuda' tier needs an NVIDIA GPU with CuPy and numba-cuda installed "
             "(pip install 'tinycnn[cuda]'), or Numba's CUDA simulator (set the environment "
             "variable NUMBA_ENABLE_CUDASIM=1 before starting Python; slow, for testing)")



def _simulator_requested() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0").strip() not in ("", "0")


def _import_cuda():
    """Import ``numba.cuda`` in the right mode; returns ``(cuda, simulated, cupy_or_None)``.

    Raises ImportError (so that ``available_backends()`` leaves the tier out) when neither a
    usable GPU nor the simulator is there. Nothing is imported before this is called."""
    import numba  # noqa: F401
    from numba.core import config

    loaded = sys.modules.get("numba.cuda")
    if loaded is not None:
        simulated = "simulator" in getattr(sys.modules.get("numba.cuda.cudadrv"), "__name__", "")
        if _simulator_requested() and not simulated:
            raise ImportError("NUMBA_ENABLE_CUDASIM=1 was set after numba.cuda had already been "
                              "imported without the simulator; set it before starting Python")
    else:
        simulated = _simulator_requested()
        if simulated:
            # numba read its configuration when it was first imported, maybe before the
            # variable was set; numba.cuda looks at this flag when it is imported.
            config.ENABLE_CUDASIM = 1
    if simulated:
        from numba import cuda
        return cuda, True, None
    try:
        import cupy
    except ImportError as err:
        raise ImportError(f"{_SIM_HELP}; CuPy is not installed ({err})") from err
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # cupy raises CUDARuntimeError without a driver or a device
        raise ImportError(f"{_SIM_HELP}; CuPy found no usable GPU ({err})") from err
    if count < 1:
        raise ImportError(f"{_SIM_HELP}; CuPy found no GPU")
    try:
        from numba import cuda
    except ImportError as err:
        raise ImportError(f"{_SIM_HELP}; numba.cuda cannot be imported ({err})") from err
    if not cuda.is_available():
        raise ImportError(f"{_SIM_HELP}; numba.cuda sees no GPU")
    _check_compiles(cuda, cupy)
    return cuda, False, cupy


def _check_compiles(cuda, cupy):
    """Compile and run one tiny kernel, so a Numba/NumPy/driver mismatch shows up as an
    ImportError at ``set_backend('cuda')`` rather than inside the first training step."""
    if not hasattr(np, "row_stack"):
        # numba-cuda 0.30 still registers an overload for np.row_stack when it compiles its
        # first kernel, and NumPy 2.5 removed that alias of np.vstack: put it back.
        np.row_stack = np.vstack

    def fill(out, value):
        k = cuda.grid(1)
        if k < out.size:
            out[k] = value

    try:
        out = cupy.zeros(4, dtype=np.float32)
        cuda.jit(fill)[1, 32](cuda.as_cuda_array(out, sync=False), np.float32(2))
        ok = float(out.sum()) == 8.0
    except Exception as err:
        raise ImportError(f"the 'cuda' tier: numba.cuda cannot compile and run a kernel ({err!r})") from err
    if not ok:
        raise ImportError("the 'cuda' tier: a test kernel gave a wrong result")


cuda, SIMULATED, _cupy = _import_cuda()
