"""Shared test configuration: hypothesis profiles and a fixture that restores the kernel tier.

Hypothesis profiles
-------------------
* ``default``: ``deadline=None`` (gradient checks run two forward passes per input element,
  so their time per example varies a lot) and a modest ``max_examples=25``.
* ``ci``: selected automatically when the environment variable ``CI`` is set (or explicitly
  with ``pytest --hypothesis-profile=ci``); ``derandomize=True`` makes every run draw the
  same examples, so a CI failure always reproduces.

Both profiles suppress ``HealthCheck.function_scoped_fixture``: the only function-scoped
fixtures the property tests use are :func:`restore_backend` and :func:`tier`, which select a
kernel tier once per test; every hypothesis example of that test is meant to run on that
same tier, so sharing the fixture between examples is exactly what we want.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import tinycnn

# tests in sub-folders import the shared strategies (tests/strategies.py) by name
sys.path.insert(0, str(Path(__file__).resolve().parent))

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("default", max_examples=25, **_COMMON)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_COMMON)
settings.load_profile("ci" if os.environ.get("CI") else "default")

# Every kernel tier that loads on this machine ('reference' and 'numpy' always; 'numba' and
# 'cuda' when present). Tests parametrized over TIERS pick up a new tier automatically.
TIERS = tinycnn.available_backends()


@pytest.fixture(autouse=True)
def no_leaked_tier():
    """Every test must leave the kernel tier as it found it (tests that switch tiers use
    ``restore_backend`` or ``tier``). A leaked tier once moved every later test module,
    the zoo models' Keras parity among them, from the numba tier to the numpy tier."""
    before = tinycnn.get_backend().name
    yield
    after = tinycnn.get_backend().name
    assert after == before, f"the test left the kernel tier at {after!r} (it was {before!r})"


@pytest.fixture
def restore_backend():
    """Put back whichever kernel tier was selected before the test, even if it fails."""
    previous = tinycnn.get_backend().name
    yield
    tinycnn.set_backend(previous)


@pytest.fixture(params=TIERS)
def tier(request, restore_backend):
    """Run the test once per available kernel tier (selected for the whole test); yields
    the tier's name."""
    tinycnn.set_backend(request.param)
    return request.param
