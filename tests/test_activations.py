"""Closed-form Gaussian expectations against quadrature (1e-8) and Monte Carlo (4 s.e.)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnft import NNFTInputError, get_activation
from nnft.activations import ACTIVATION_NAMES
from nnft.gaussian import expect_1d

Z = 4.0
# (q1, q12, q2) points: moderate, strongly correlated, anti-correlated, unequal variances
POINTS = [(0.8, 0.3, 1.3), (1.0, 0.95, 1.0), (2.0, -1.1, 0.9), (0.3, 0.05, 3.0)]

SMOOTH_CLOSED = ["linear", "erf", "sin", "cos", "gauss"]
ALL_CLOSED = SMOOTH_CLOSED + ["relu", "leaky_relu", "shaped_relu"]


def make(name):
    kw = {"depth": 16, "c": 1.5} if name.startswith("shaped") else {}
    if name == "leaky_relu":
        kw = {"alpha": 0.2}
    return get_activation(name, **kw)


def phi_of(act, z, q):
    return act(z, q) if act.needs_variance else act(z)


@pytest.mark.parametrize("name", SMOOTH_CLOSED)
@pytest.mark.parametrize("point", POINTS)
def test_closed_two_point_matches_2d_quadrature(name, point):
    act = make(name)
    q1, q12, q2 = point
    closed = float(act.two_point(q1, q12, q2))
    quad = float(act.quadrature_two_point(q1, q12, q2, order=96))
    assert abs(closed - quad) < 1e-8 * max(1.0, abs(closed))


@pytest.mark.parametrize("name", SMOOTH_CLOSED)
def test_closed_one_point_and_derivatives_match_quadrature(name):
    act = make(name)
    for q in (0.1, 0.7, 2.5):
        phi = (lambda u: act.fn(u, q)) if act.needs_variance else act.fn
        dphi = (lambda u: act.derivative(u, q)) if act.needs_variance else act.derivative
        assert abs(float(act.second_moment(q)) - float(expect_1d(lambda u: phi(u) ** 2, q))) < 1e-10
        assert abs(float(act.derivative_second_moment(q)) - float(expect_1d(lambda u: dphi(u) ** 2, q))) < 1e-10
        m4 = float(expect_1d(lambda u: phi(u) ** 4, q))
        assert abs(float(act.moment(q, 4)) - m4) < 1e-9 * max(1, m4)
    # E[phi'(u) phi'(v)] closed form vs 2-D quadrature of the autodiff derivative
    for q1, q12, q2 in POINTS:
        if act.needs_variance:
            f = lambda u, v: act.derivative(u, q1) * act.derivative(v, q2)  # noqa: E731
        else:
            f = lambda u, v: act.derivative(u) * act.derivative(v)  # noqa: E731
        from nnft.gaussian import expect_2d

        quad = float(expect_2d(f, q1, q12, q2, order=96))
        assert abs(float(act.derivative_two_point(q1, q12, q2)) - quad) < 1e-8 * max(1, abs(quad))


@pytest.mark.parametrize("name", ALL_CLOSED)
def test_closed_forms_match_monte_carlo(name, rng):
    """10^6 Gaussian samples per point; |closed − MC| < 4 s.e. (s.e. from the sample spread)."""
    act = make(name)
    n = 10**6
    for q1, q12, q2 in POINTS:
        L = np.linalg.cholesky(np.array([[q1, q12], [q12, q2]]))
        zz = rng.standard_normal((n, 2)) @ L.T
        u, v = jnp.asarray(zz[:, 0]), jnp.asarray(zz[:, 1])
        prod = np.asarray(phi_of(act, u, q1) * phi_of(act, v, q2))
        se = prod.std(ddof=1) / np.sqrt(n)
        assert abs(prod.mean() - float(act.two_point(q1, q12, q2))) < Z * se
        dprod = np.asarray(act.derivative(u, q1) * act.derivative(v, q2) if act.needs_variance else act.derivative(u) * act.derivative(v))
        dse = dprod.std(ddof=1) / np.sqrt(n)
        assert abs(dprod.mean() - float(act.derivative_two_point(q1, q12, q2))) < Z * dse + 1e-12
        sq = np.asarray(phi_of(act, u, q1)) ** 2
        assert abs(sq.mean() - float(act.second_moment(q1))) < Z * sq.std(ddof=1) / np.sqrt(n)


@pytest.mark.parametrize("name", ["erf", "sin", "relu", "leaky_relu"])
def test_price_theorem(name):
    """E[phi'(u)phi'(v)] = d/dq12 E[phi(u)phi(v)] off the diagonal (autodiff of the closed form)."""
    act = make(name)
    g = jax.grad(lambda c: act.two_point(0.8, c, 1.3))
    for q12 in (-0.5, 0.1, 0.7):
        assert abs(float(g(q12)) - float(act.derivative_two_point(0.8, q12, 1.3))) < 1e-10


def test_piecewise_linear_moments_are_exact():
    relu = get_activation("relu")
    assert float(relu.moment(2.0, 4)) == pytest.approx(1.5 * 4.0, rel=1e-14)  # E relu^4 = 3q^2/2
    assert float(relu.second_moment(3.0)) == pytest.approx(1.5, rel=1e-14)
    # the kink-aware generic quadrature agrees with the closed forms to machine precision
    assert float(relu.expect(lambda p, dp, u: p**4, 2.0)) == pytest.approx(6.0, rel=1e-12)
    assert float(relu.expect(lambda p, dp, u: dp * u**2, 2.0)) == pytest.approx(1.0, rel=1e-12)


def test_nonsmooth_refuses_quadrature():
    with pytest.raises(NNFTInputError, match="closed form"):
        get_activation("relu").quadrature_two_point(1.0, 0.5, 1.0)


def test_every_name_builds_and_evaluates():
    for name in ACTIVATION_NAMES:
        act = make(name)
        z = jnp.linspace(-2, 2, 5)
        out = phi_of(act, z, 1.0)
        assert out.shape == (5,) and bool(jnp.all(jnp.isfinite(out)))
        assert np.isfinite(float(act.second_moment(0.5)))


def test_bad_activation_inputs():
    with pytest.raises(NNFTInputError, match="unknown activation 'swish'.*allowed"):
        get_activation("swish")
    with pytest.raises(NNFTInputError, match="depth"):
        get_activation("shaped_relu", depth=0)
    with pytest.raises(NNFTInputError, match="bad parameters"):
        get_activation("tanh", slope=2.0)
    with pytest.raises(NNFTInputError, match="pass q"):
        get_activation("gauss")(jnp.ones(3))


def test_custom_callable_uses_quadrature():
    swish = get_activation(lambda x: x * jax.nn.sigmoid(x))
    assert swish.smooth and not swish.has_closed_two_point
    val = float(swish.two_point(1.0, 0.4, 0.6))
    rng = np.random.default_rng(1)
    L = np.linalg.cholesky(np.array([[1.0, 0.4], [0.4, 0.6]]))
    zz = rng.standard_normal((10**6, 2)) @ L.T
    f = lambda x: x / (1 + np.exp(-x))  # noqa: E731
    prod = f(zz[:, 0]) * f(zz[:, 1])
    assert abs(prod.mean() - val) < Z * prod.std() / 1e3


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "shaped_relu"])
def test_piecewise_linear_gradients(name):
    """Analytic JVP of the arc-cosine form: equals finite differences, and stays finite at c = ±1."""
    act = make(name)
    f = lambda x: act.two_point(x[0], x[1], x[2])  # noqa: E731
    x0 = np.array([1.3, 0.4, 0.7])
    g = np.asarray(jax.grad(f)(x0))
    fd = np.array([(f(x0 + 1e-6 * e) - f(x0 - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    assert np.allclose(g, fd, atol=1e-8)
    for c in (1.0, -1.0):
        g1 = np.asarray(jax.grad(f)(np.array([1.0, c, 1.0])))
        assert np.all(np.isfinite(g1))
        assert g1[1] == pytest.approx(float(act.derivative_two_point(1.0, c, 1.0)), abs=1e-12)


def test_sin_cos_closed_forms_do_not_overflow():
    """e^{-(q1+q2)/2} sinh(q12) must not become inf·0 at large variances (q12 > ~710)."""
    for name in ("sin", "cos"):
        act = get_activation(name)
        v = float(act.two_point(800.0, 799.0, 800.0))
        assert np.isfinite(v) and abs(v - 0.5 * np.exp(-1.0)) < 1e-12
        assert np.isfinite(float(act.derivative_two_point(800.0, 799.0, 800.0)))
