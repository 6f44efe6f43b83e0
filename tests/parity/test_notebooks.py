"""Every teaching notebook in ``notebooks/`` runs top to bottom without an error.

Each notebook is executed with nbclient in quick mode (``TINYCNN_QUICK=1``: a few hundred
images, one epoch), with the notebooks folder as its working folder, in a kernel that runs
this very interpreter (so the tinycnn under test, not some other installation). Files the
run writes there (checkpoints) are removed afterwards.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "tinycnn-test-python"
CELL_TIMEOUT = 600  # seconds; the first use of the Numba tier in a fresh venv compiles it


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6, f"expected the six teaching notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_structure(path):
    """A markdown cell saying what the notebook teaches, then the QUICK parameter cell;
    no images kept in the committed file."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and "teaches" in nb.cells[0].source
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert 'QUICK = os.environ.get("TINYCNN_QUICK", "0") == "1"' in first_code.source
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert "image/png" not in output.get("data", {}), f"{path.name} keeps an image output"


@pytest.fixture
def kernel_for_this_python(tmp_path, monkeypatch):
    """A kernelspec that starts ``sys.executable``, found first through JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "tinycnn tests", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TINYCNN_QUICK", "1")
    # One kernel thread unless the caller chose otherwise: the quick runs are tiny, and on a
    # busy or small machine parallel loops only wait for each other.
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if name not in os.environ:
            monkeypatch.setenv(name, "1")
    return KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, kernel_for_this_python):
    nb = nbformat.read(path, as_version=4)
    before = set(NOTEBOOK_DIR.iterdir())
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=kernel_for_this_python,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    try:
        client.execute()   # raises CellExecutionError, naming the cell, on any error
    finally:
        for new in set(NOTEBOOK_DIR.iterdir()) - before:
            if new.is_file() and new.suffix in (".hdf5", ".h5", ".npz"):
                new.unlink()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
