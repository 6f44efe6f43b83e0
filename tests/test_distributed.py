"""Data-parallel training over MPI (tinycnn/distributed.py): ``mpiexec -n 2`` runs
tests/distributed_job.py (one kernel thread per rank) and the results are checked here:
(a) every rank ends with bit-identical weights; (b) 2 ranks x batch 16 give the weights of
1 process x batch 32 on the same samples in the same order, after 5 steps (within 1e-5:
the sums of the batch mean run in another order); (c) the averaged gradient of gradients
set to the rank numbers is their mean, (size - 1) / 2. Plus: a failing rank ends the job,
and ``mpiexec -n 2 tinycnn train --distributed`` prints once and writes rank 0's results.
Skipped, saying why, only where mpi4py or mpiexec cannot start."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinycnn import optimizers
from tinycnn.models import load_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
import distributed_job  # noqa: E402

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'tinycnn[mpi]')")
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
if MPIEXEC is None:
    pytest.skip("no mpiexec on PATH or beside the Python interpreter (pip install mpich)", allow_module_level=True)
JOB = Path(__file__).resolve().parent / "distributed_job.py"
ENV = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1"}


def mpiexec(*args, cwd=None, timeout=300):
    return subprocess.run([MPIEXEC, "-n", "2", *args], capture_output=True, text=True, env=ENV, cwd=cwd,
                          timeout=timeout)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    out = tmp_path_factory.mktemp("ranks")
    done = mpiexec(sys.executable, str(JOB), str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def weights(path):
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def test_every_rank_ends_with_the_same_weights(job):
    out, _ = job
    for a, b in zip(weights(out / "weights_0.npz"), weights(out / "weights_1.npz")):
        np.testing.assert_array_equal(a, b)


def test_two_ranks_of_16_equal_one_process_of_32(job):
    out, _ = job
    shards = [np.load(out / f"shard_{r}.npz") for r in (0, 1)]
    x = np.concatenate([np.concatenate([s["x"][16 * k:16 * k + 16] for s in shards]) for k in range(5)])
    y = np.concatenate([np.concatenate([s["y"][16 * k:16 * k + 16] for s in shards]) for k in range(5)])
    net = distributed_job.model()
    net.set_weights(weights(out / "initial.npz"))
    net.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="categorical_crossentropy")
    net.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(net.get_weights(), weights(out / "weights_0.npz")):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    assert not all(np.array_equal(a, b) for a, b in zip(net.get_weights(), weights(out / "initial.npz")))


def test_the_averaged_gradient_is_the_mean_over_ranks(job):
    out, _ = job
    for r in (0, 1):
        np.testing.assert_array_equal(np.load(out / f"mean_gradient_{r}.npy"), np.full((3, 2), 0.5, np.float32))


def test_only_rank_0_prints_the_progress(job):
    _, done = job
    assert done.stdout.count("5/5") == 1


def test_a_failing_rank_stops_the_job(tmp_path):
    done = mpiexec(sys.executable, str(JOB), str(tmp_path), "raise", timeout=120)
    assert done.returncode != 0
    assert "rank 1 failed (RuntimeError: rank 1 fails on purpose); stopping every rank" in done.stderr


def test_a_killed_rank_stops_the_job_instead_of_leaving_rank_0_waiting(tmp_path):
    done = mpiexec(sys.executable, str(JOB), str(tmp_path), "die", timeout=120)  # a hang fails by timeout
    assert done.returncode != 0 and not (tmp_path / "weights_0.npz").exists()


def test_cli_train_distributed(tmp_path):
    tinycnn = Path(sys.executable).parent / "tinycnn"
    done = mpiexec(str(tinycnn), "train", "--distributed", "--epochs", "1", "--verbose", "2", cwd=tmp_path,
                   timeout=300)  # the main job (the MNIST CNN on the embedded sample), on 2 ranks
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("training seed004_mnist_cnn on mnist_sample: 6000 images") == 1
    assert "per rank x 2 ranks" in done.stdout and done.stdout.count("43/43") == 1   # 2,700 images per rank, batch 64
    accuracy = float(done.stdout.split("test accuracy ")[1].split()[0])
    assert done.stdout.count("test accuracy") == 1 and accuracy > 0.6   # chance is 0.1; one epoch at batch 128
    assert load_model(tmp_path / "runs/latest/model.npz").count_params() == 220_234
