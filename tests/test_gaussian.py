"""Quadrature rules: exactness on polynomials and the documented accuracy on tanh."""

import jax.numpy as jnp
import numpy as np
import pytest
import mpmath as mp

from nnft.gaussian import expect_1d, expect_2d, quadrature_error_1d


def _reference(f, q):
    """30-digit adaptive integration (mpmath), splitting where tanh(sqrt(q) z) is steep."""
    mp.mp.dps = 30
    g = lambda z: f(mp.sqrt(q) * z) * mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    return float(mp.quad(g, [-mp.inf, -3, -1, -0.1, 0, 0.1, 1, 3, mp.inf]))


def test_gaussian_moments_exact():
    for k, m in [(2, 1.0), (4, 3.0), (6, 15.0), (8, 105.0)]:
        assert float(expect_1d(lambda u: u**k, 1.0)) == pytest.approx(m, rel=1e-12)
        assert float(expect_1d(lambda u: u**k, 1.0, rule="hermite", order=8)) == pytest.approx(m, rel=1e-12)


def test_tanh_documented_accuracy():
    """The documented accuracy of the default rule: < 1e-13 for q <= 200 (module docstring)."""
    for q in (0.5, 5.0, 20.0, 200.0):
        ref = _reference(lambda u: mp.tanh(u) ** 2, q)
        assert abs(float(expect_1d(lambda u: jnp.tanh(u) ** 2, q)) - ref) < 1e-13
    # ... and the Gauss-Hermite rule's documented failure at large q, which the split rule fixes
    ref = _reference(lambda u: mp.tanh(u) ** 2, 20.0)
    assert abs(float(expect_1d(lambda u: jnp.tanh(u) ** 2, 20.0, rule="hermite", order=256)) - ref) > 1e-6


def test_convergence_check_is_honest():
    """quadrature_error_1d is not smaller than the true error by more than 10x on a hard case."""
    q = 2000.0
    ref = _reference(lambda u: mp.tanh(u) ** 2, q)
    f = lambda u: jnp.tanh(u) ** 2  # noqa: E731
    err = abs(float(expect_1d(f, q, order=32)) - ref)
    assert err <= 10 * float(quadrature_error_1d(f, q, order=32)) + 1e-15


def test_2d_covariance_and_rank_deficient():
    q1, q12, q2 = 1.3, 0.4, 0.7
    assert float(expect_2d(lambda u, v: u * v, q1, q12, q2)) == pytest.approx(q12, rel=1e-12)
    assert float(expect_2d(lambda u, v: u * u * v * v, q1, q12, q2)) == pytest.approx(q1 * q2 + 2 * q12**2, rel=1e-12)
    # |q12| = sqrt(q1 q2): degenerate covariance still works
    q12 = np.sqrt(q1 * q2)
    assert float(expect_2d(lambda u, v: u * v, q1, q12, q2)) == pytest.approx(q12, rel=1e-12)
    # zero variance of the first variable
    assert float(expect_2d(lambda u, v: v * v, 0.0, 0.0, q2)) == pytest.approx(q2, rel=1e-12)
