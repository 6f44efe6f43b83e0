"""Data-parallel training over MPI processes and hosts, with Horovod's conventions.

Every process (rank) holds the whole model and trains it on its own part of the data; after
each batch the ranks average their gradients, so every rank applies the same update and the
weights stay identical::

    import tinycnn.distributed as dist
    dist.init()                                           # size 1 without mpiexec
    x, y = dist.shard(x, y)                               # this rank's part of the data
    model.compile(optimizer=dist.DistributedOptimizer("adam"), loss=..., metrics=[...])
    model.fit(x, y, batch_size=32, callbacks=[dist.BroadcastGlobalVariablesCallback(0),
                                              dist.MetricAverageCallback()])

run as ``mpiexec -n 2 python train.py`` (``mpiexec -f hostfile -n 8 ...`` over hosts). One
step on ``n`` ranks of batch ``b`` each is one step of batch ``n * b``: every loss is a mean
over its batch, so the mean of the ranks' gradients is the gradient of the whole batch.

The gradients travel in one ``Allreduce`` (sum, ``MPI.IN_PLACE``) over a single flat
float32 buffer, divided by the number of ranks afterwards. Only rank 0 prints the progress
bar and writes checkpoints and CSV logs (:func:`is_worker` tells fit which ranks are
quiet). A rank that raises ends the whole job (``MPI.Abort``) instead of leaving the others
waiting in an Allreduce; a rank that dies is noticed by ``mpiexec``, which stops the rest.

Needs ``pip install 'tinycnn[mpi]'`` (mpi4py, and MPICH's wheel with ``mpiexec``).
"""
from __future__ import annotations

import sys

import numpy as np

from . import optimizers
from .callbacks import Callback
from .ops import device

_comm = None  # MPI.COMM_WORLD once init() ran


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ImportError("tinycnn.distributed needs mpi4py and an MPI library: pip install 'tinycnn[mpi]' "
                          f"(mpi4py and mpich); importing mpi4py failed: {err}") from None
    return MPI


def init() -> None:
    """Join the MPI job (a job of one process when not started by ``mpiexec``). A rank
    that raises an uncaught exception then aborts the job, so no rank waits forever."""
    global _comm
    if _comm is not None:
        return
    MPI = _mpi()
    _comm = MPI.COMM_WORLD
    if _comm.Get_size() > 1:
        previous = sys.excepthook

        def abort_job(kind, value, traceback):
            previous(kind, value, traceback)
            sys.stderr.write(f"tinycnn.distributed: rank {_comm.Get_rank()} failed ({kind.__name__}: {value}); "
                             "stopping every rank\n")
            sys.stderr.flush()
            _comm.Abort(1)
        sys.excepthook = abort_job


def _world():
    if _comm is None:
        raise RuntimeError("tinycnn.distributed: call dist.init() first")
    return _comm


def rank() -> int:
    """This process's number, 0 to size() - 1 (0 before :func:`init`)."""
    return _comm.Get_rank() if _comm is not None else 0


def size() -> int:
    """The number of processes in the job (1 before :func:`init`)."""
    return _comm.Get_size() if _comm is not None else 1


def local_rank() -> int:
    """This process's number among the processes on its own host."""
    world = _world()
    return world.Split_type(_mpi().COMM_TYPE_SHARED).Get_rank()


def is_worker() -> bool:
    """True on every rank but 0 of a job of several: those print nothing and write no files."""
    return size() > 1 and rank() != 0


def shard(x, y, seed=0):
    """This rank's part of ``(x, y)``: the samples in the order of a permutation drawn from
    ``seed`` (the same on every rank), dealt out in turn, so the parts are disjoint, cover
    the data, and are all of one length (the last ``len(x) % size()`` samples of the
    permutation are left out: every rank must run the same number of steps)."""
    count = len(x) - len(x) % size()
    order = np.random.default_rng(seed).permutation(len(x))[:count]
    mine = order[rank()::size()]
    return x[mine], y[mine]


def allreduce_mean(buffer: np.ndarray) -> np.ndarray:
    """``buffer`` (float32, on the host) replaced by its mean over the ranks, in place."""
    world = _world()
    if world.Get_size() > 1:
        world.Allreduce(_mpi().IN_PLACE, buffer)
        buffer /= world.Get_size()
    return buffer


def average_gradients(params, buffer=None) -> np.ndarray:
    """Set every parameter's gradient to its mean over the ranks (a missing gradient counts
    as zeros), with one Allreduce over one flat buffer (reused when it fits); returns it."""
    sizes = [p.size for p in params]
    total = sum(sizes)
    if buffer is None or buffer.size != total:
        buffer = np.empty(total, np.float32)
    offset = 0
    for p, n in zip(params, sizes):
        buffer[offset:offset + n] = 0.0 if p.grad is None else np.ravel(device.to_host(p.grad))
        offset += n
    allreduce_mean(buffer)
    offset = 0
    for p, n in zip(params, sizes):
        p.grad = device.to_device(buffer[offset:offset + n].reshape(p.shape).astype(p.dtype, copy=True))
        offset += n
    return buffer


def DistributedOptimizer(optimizer):
    """``optimizer`` (a name or an optimizer) whose every update first averages the
    gradients over the ranks; its rule, state and config are the wrapped optimizer's."""
    optimizer = optimizers.get(optimizer)
    rule = type(optimizer)

    class Averaged(rule):
        def apply(self, params) -> None:
            self._allreduce_buffer = average_gradients(params, getattr(self, "_allreduce_buffer", None))
            super().apply(params)

    Averaged.__name__, Averaged.__qualname__ = rule.__name__, rule.__qualname__  # saved under its rule's name
    optimizer.__class__ = Averaged
    return optimizer


class BroadcastGlobalVariablesCallback(Callback):
    """At the start of fit, every rank takes rank ``root_rank``'s weights (and optimizer
    state), so all ranks start from the same model."""

    def __init__(self, root_rank=0):
        super().__init__()
        self.root_rank = root_rank

    def on_train_begin(self, logs=None):
        world = _world()
        for w in self.model.weights:
            host = np.ascontiguousarray(device.to_host(w.data))
            world.Bcast(host, root=self.root_rank)
            w.data[...] = device.to_device(host)
        optimizer = self.model.optimizer
        state = world.bcast(optimizer.get_state() if optimizer is not None else None, root=self.root_rank)
        if state:
            optimizer.set_state(state, self.model.trainable_weights)


class MetricAverageCallback(Callback):
    """At the end of each epoch, every logged value becomes its mean over the ranks (it runs
    before the other callbacks, so the progress bar, checkpoints and History see the mean)."""

    order = -1  # CallbackList runs it first

    def on_epoch_end(self, epoch, logs=None):
        if logs:
            world = _world()
            keys = sorted(logs)
            values = np.array([logs[k] for k in keys], np.float64)
            world.Allreduce(_mpi().IN_PLACE, values)
            logs.update({k: float(v) / world.Get_size() for k, v in zip(keys, values)})
