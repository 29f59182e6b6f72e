"""Shared test configuration: strict JAX numerics and fixed seeds.

Statistical tests follow ../shared/DESIGN.md: fixed seeds, tolerances derived from standard errors
(|estimate − theory| < Z_TOL · s.e. plus the theory's own stated error), never widened to pass.
"""

import numpy as np
import pytest

import nnft  # noqa: F401  (enables x64)


Z_TOL = 4.0  # standard errors allowed between an estimate and its theory


@pytest.fixture
def rng():
    return np.random.default_rng(20171017)
