"""The program tests/test_distributed.py runs under ``mpiexec -n 2`` (not a test itself).

``python distributed_job.py OUT [raise|die]`` writes, per rank, into OUT: the averaged gradient of
a parameter whose gradient is set to the rank number, the data shard, and the weights after
5 distributed steps; rank 0 also writes the broadcast initial weights. With ``raise`` rank 1
raises before training, with ``die`` it is killed: the job must stop instead of hanging.
"""
import os
import sys

import numpy as np

import tinycnn.distributed as dist
from tinycnn import Tensor, optimizers
from tinycnn.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from tinycnn.models import Sequential
from tinycnn.utils import set_random_seed, to_categorical


def model():
    return Sequential([Input(shape=(8, 8, 1)), Conv2D(4, 3, activation="relu"), MaxPooling2D(), Flatten(),
                       Dense(3, activation="softmax")])


def main(out, fail=None):
    dist.init()
    r = dist.rank()
    p = Tensor(np.zeros((3, 2), np.float32), requires_grad=True)
    p.grad = np.full((3, 2), float(r), np.float32)
    dist.average_gradients([p])
    np.save(os.path.join(out, f"mean_gradient_{r}.npy"), p.grad)

    rng = np.random.default_rng(0)
    x = rng.random((160, 8, 8, 1), dtype=np.float32)
    y = to_categorical(rng.integers(0, 3, 160), 3)
    xs, ys = dist.shard(x, y, seed=3)
    np.savez(os.path.join(out, f"shard_{r}.npz"), x=xs, y=ys)
    set_random_seed(100 + r)                       # different initial weights on each rank
    net = model()
    net.compile(optimizer=dist.DistributedOptimizer(optimizers.SGD(0.1, momentum=0.9)),
                loss="categorical_crossentropy", metrics=["accuracy"])
    if fail == "raise" and r == 1:
        raise RuntimeError("rank 1 fails on purpose")
    if fail == "die" and r == 1:
        os.kill(os.getpid(), 9)                     # as a crash or an out-of-memory kill would
    broadcast = dist.BroadcastGlobalVariablesCallback(0)
    broadcast.set_model(net)
    broadcast.on_train_begin()
    if r == 0:
        np.savez(os.path.join(out, "initial.npz"), *net.get_weights())
    net.fit(xs, ys, batch_size=16, epochs=1, shuffle=False, verbose=1,
            callbacks=[dist.MetricAverageCallback()])
    np.savez(os.path.join(out, f"weights_{r}.npz"), *net.get_weights())


if __name__ == "__main__":
    main(sys.argv[1], fail=sys.argv[2] if len(sys.argv) > 2 else None)
