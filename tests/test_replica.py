"""Replica theory of random-MLP Hamiltonians (nnft.hamiltonian covariance, nnft.theory.replica).

Expected numbers come from closed forms stated in ``shared/notes/hamiltonians.md`` (cited "note §…")
and from the spherical spin-glass literature (Crisanti & Sommers, Z. Phys. B 87, 341 (1992): pure
3-spin static transition; zero-temperature values quoted in the note §3.4/§7 item 4), never from a
previous run of this code. Where a closed form is an equation, the test solves that equation itself
(``scipy.optimize.brentq``) independently of the solver.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from nnft import NNFTInputError
from nnft.hamiltonian import hamiltonian_covariance, mixed_pspin, pspin_coefficients
from nnft.kernels import nngp_kernel
from nnft.theory import replica as R


# ============================================================================ covariance of H
def test_relu_pspin_coefficients_closed_form():
    """note §2.3: ReLU, L=1, C_W=2, d=1: ξ coefficients (C_W v)(1/2π, 1/4, 1/4π, 0, 1/48π, 0, 1/160π), v = 2."""
    cov = hamiltonian_covariance("relu", depth=1, sw2=2.0)
    ref = 4.0 * np.array([1 / (2 * np.pi), 1 / 4, 1 / (4 * np.pi), 0, 1 / (48 * np.pi), 0, 1 / (160 * np.pi)])
    c = pspin_coefficients(cov, 1.0, 6)
    np.testing.assert_allclose(c[:5], ref[:5], atol=1e-12)  # p <= 4: exact autodiff
    np.testing.assert_allclose(c[5:], ref[5:], atol=1e-7)  # p > 4: Chebyshev interpolant (documented accuracy)


def test_sin_pspin_coefficients_closed_form():
    """note §2.3: sin, L=1, C_W=1: G = e^{-1} sinh q, coefficients e^{-1}/p! for odd p."""
    cov = hamiltonian_covariance("sin", depth=1, sw2=1.0)
    ref = np.array([0 if p % 2 == 0 else math.exp(-1) / math.factorial(p) for p in range(8)])
    c = pspin_coefficients(cov, 1.0, 7)
    np.testing.assert_allclose(c[:5], ref[:5], atol=1e-12)
    np.testing.assert_allclose(c[5:], ref[5:], atol=1e-7)


def test_linear_covariance_closed_form():
    """note §2.2: linear net G(q) = a + b q, b = C_W^{L+1}, a = C_b Σ_{k=0}^{L} C_W^k."""
    cw, cb, L = 1.5, 0.3, 2
    cov = hamiltonian_covariance("linear", depth=L, sw2=cw, sb2=cb)
    q = np.linspace(-0.5, 1.5, 7)
    a, b = cb * sum(cw**k for k in range(L + 1)), cw ** (L + 1)
    np.testing.assert_allclose(cov.xi(q, 2.0), a + b * q, rtol=1e-13)
    np.testing.assert_allclose(cov.xi_q(q, 2.0), b, rtol=1e-13)
    np.testing.assert_allclose(cov.xi_qq(q, 2.0), 0.0, atol=1e-13)


@pytest.mark.parametrize(
    "act, L, cw, cb, tol", [("relu", 2, 2.0, 0.1, 1e-12), ("sin", 3, 1.0, 0.0, 1e-12), ("tanh", 2, 1.5, 0.05, 1e-9)]
)
def test_covariance_is_the_nngp_kernel_of_depth_L_plus_1(act, L, cw, cb, tol):
    """L hidden layers = nnft.kernels depth L+1 (docs/conventions.md); two inputs with |x|²/N0 = d, x·y/N0 = q."""
    d, q = 1.7, 0.6
    a = math.acos(q / d)
    X = math.sqrt(2 * d) * np.array([[1.0, 0.0], [math.cos(a), math.sin(a)]])
    K = np.asarray(nngp_kernel(X, depth=L + 1, activation=act, sw2=cw, sb2=cb))
    cov = hamiltonian_covariance(act, depth=L, sw2=cw, sb2=cb)
    assert float(cov.xi(q, d)) == pytest.approx(K[0, 1], abs=tol)
    assert float(cov.diag(d)) == pytest.approx(K[0, 0], abs=tol)


def test_relu_second_derivative_price_closed_form():
    """note §2.2: F_cc = 1/(2π√(v²−c²)), so for L=1, G_qq = C_W³/(2π√(v²−c²)), v = C_W d, c = C_W q."""
    cw, d = 2.0, 1.3
    cov = hamiltonian_covariance("relu", depth=1, sw2=cw)
    q = np.array([0.0, 0.4, 1.0, 1.29])
    ref = cw**3 / (2 * np.pi * np.sqrt((cw * d) ** 2 - (cw * q) ** 2))
    np.testing.assert_allclose(cov.xi_qq(q, d), ref, rtol=1e-12)
    # first derivative is finite at q = d (Price: (π − θ)/2π → 1/2 per layer)
    assert float(cov.xi_q(d, d)) == pytest.approx(cw * cw / 2, rel=1e-12)


def test_derivatives_match_finite_differences():
    cov = hamiltonian_covariance("tanh", depth=2, sw2=1.5)
    q, d, h = np.array([0.1, 0.5, 0.9]), 1.2, 1e-5
    np.testing.assert_allclose(cov.xi_q(q, d), (cov.xi(q + h, d) - cov.xi(q - h, d)) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(cov.xi_qq(q, d), (cov.xi_q(q + h, d) - cov.xi_q(q - h, d)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(cov.xi_d(q, d), (cov.xi(q, d + h) - cov.xi(q, d - h)) / (2 * h), rtol=1e-7)


# ============================================================================ linear net: exact (note §7 item 3)
@pytest.mark.parametrize("cw, L, beta", [(1.0, 2, 2.0), (1.3, 1, 0.8)])
def test_linear_exact_convention_A(cw, L, beta):
    b = cw ** (L + 1)
    sol = R.solve_rs(hamiltonian_covariance("linear", depth=L, sw2=cw), beta, "A")
    assert sol.d == pytest.approx(1 + beta**2 * b, abs=1e-8)
    assert sol.q[0] == pytest.approx(beta**2 * b, abs=1e-8)
    assert sol.energy == pytest.approx(-beta * b, abs=1e-8)
    assert sol.phi == pytest.approx(beta**2 * b / 2, abs=1e-8)
    assert sol.entropy == pytest.approx(-sol.energy**2 / (2 * b), abs=1e-8)
    assert sol.replicon == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("cw, L, beta", [(1.0, 2, 2.0), (1.3, 1, 0.8)])
def test_linear_exact_convention_B(cw, L, beta):
    b = cw ** (L + 1)
    a = beta**2 * b  # q/(1-q)^2 = a  <=>  a q^2 - (2a+1) q + a = 0
    q = ((2 * a + 1) - math.sqrt(4 * a + 1)) / (2 * a)
    sol = R.solve_rs(hamiltonian_covariance("linear", depth=L, sw2=cw), beta, "B")
    assert sol.q[0] == pytest.approx(q, abs=1e-10)
    assert sol.energy == pytest.approx(-beta * b * (1 - q), abs=1e-10)
    assert sol.phi == pytest.approx(0.5 * (a * (1 - q) + math.log(1 - q) + q / (1 - q)), abs=1e-10)
    assert sol.entropy == pytest.approx(0.5 * math.log(1 - sol.energy**2 / b), abs=1e-10)
    gs = R.ground_state_energy(hamiltonian_covariance("linear", depth=L, sw2=cw), "B", kmax=0)
    assert gs.energy == pytest.approx(-math.sqrt(b), abs=1e-12)


def test_linear_entropy_at_energy():
    cov = hamiltonian_covariance("linear", depth=1, sw2=1.0)  # b = 1
    assert R.entropy_at_energy(cov, -1.5, "A") == pytest.approx(-1.5**2 / 2, abs=1e-8)
    assert R.entropy_at_energy(cov, -0.6, "B") == pytest.approx(0.5 * math.log(1 - 0.36), abs=1e-8)


# ============================================================================ spherical spin glasses (note §7 item 4)
def test_pure_3spin_static_transition():
    """Crisanti–Sommers 1992, ξ = q³/2: T_s = 0.5861, q_1 = 0.645 (note §3.2: 0.58605, 0.6450)."""
    st = R.static_transition(mixed_pspin({3: 0.5}), "B")
    assert st.temperature == pytest.approx(0.58605, abs=1e-4)
    assert st.q1 == pytest.approx(0.6450, abs=1e-3)


@pytest.mark.parametrize(
    "coeffs, e_gs, tol",
    [({2: 1.0}, -math.sqrt(2), 1e-9), ({3: 1.0}, -1.6570, 1e-4), ({4: 1.0}, -1.7941, 1e-4), ({3: 0.5}, -1.1717, 1e-4)],
)
def test_spherical_ground_states(coeffs, e_gs, tol):
    """note §3.4 / §7 item 4: ξ = q²: −√2 (GOE edge); ξ = q³: −1.6570; ξ = q⁴: −1.7941; ξ = q³/2: −1.1717."""
    gs = R.ground_state_energy(mixed_pspin(coeffs), "B", kmax=1)
    assert gs.energy == pytest.approx(e_gs, abs=tol)


def test_pure_3spin_phases():
    """Above T_s the pure 3-spin is RS (paramagnet, q = 0); below it 1RSB (Crisanti–Sommers 1992)."""
    p3 = mixed_pspin({3: 0.5})
    assert R.classify(p3, 1.5, "B", kmax=2).phase == "RS"  # T = 0.667 > T_s
    c = R.classify(p3, 2.0, "B", kmax=3)
    assert c.phase == "1RSB"
    assert c.solutions[1].q[0] == pytest.approx(0.0, abs=1e-12)


def test_ssk_with_field_is_rs():
    """note §3.3: spherical SK + field, ξ = h²q + q²/2: replicon ratio q/(h² + q) < 1, RS at every T."""
    cov = mixed_pspin({1: 0.25, 2: 0.5})
    for beta in (0.5, 2.0, 10.0):
        sol = R.solve_rs(cov, beta, "B")
        assert sol.replicon > 0
        q = sol.q[0]
        assert 1 - sol.replicon == pytest.approx(q / (0.25 + q), rel=1e-8)  # β²ξ''(1-q)² = qξ''/ξ' at the saddle


# ============================================================================ AT points (note §7 item 5)
def test_at_sin_closed_form():
    """sin, L=1: AT at C_W q* tanh(C_W q*) = 1 (u* = 1.19968), independent of β and d."""
    u_star = brentq(lambda u: u * math.tanh(u) - 1, 0.5, 2.0)
    assert u_star == pytest.approx(1.19968, abs=1e-5)
    at = R.at_point(hamiltonian_covariance("sin", depth=1, sw2=2.0), "B")
    assert 2.0 * at.q == pytest.approx(u_star, abs=1e-7)
    assert not at.x_increasing  # (sinh)^{-1/2} convex: no continuous onset (note §4.3)


def test_at_erf_closed_form():
    """erf, L=1: AT where the arcsin argument 2C_W q/(1 + 2C_W d) equals 1/√2."""
    cw = 2.0
    at = R.at_point(hamiltonian_covariance("erf", depth=1, sw2=cw), "B")
    assert 2 * cw * at.q / (1 + 2 * cw * at.d) == pytest.approx(1 / math.sqrt(2), abs=1e-7)


def test_at_relu_closed_form_both_conventions():
    """Homogeneous ReLU, L=1: t*/(√(1−t*²)(π − arccos t*)) = 1, t* = 0.9417 (both conventions: G = d κ(q/d))."""
    t_star = brentq(lambda t: t / (math.sqrt(1 - t * t) * (math.pi - math.acos(t))) - 1, 0.5, 0.999)
    assert t_star == pytest.approx(0.9417, abs=1e-4)
    cov = hamiltonian_covariance("relu", depth=1, sw2=2.0)
    at_b = R.at_point(cov, "B")
    assert at_b.t == pytest.approx(t_star, abs=1e-7)
    at_a = R.at_point(cov, "A", beta_min=1.0, beta_max=10.0, n_grid=12)
    assert at_a.t == pytest.approx(t_star, abs=1e-7)
    # the replicon in its closed form q G_qq / G_q = 1 at the AT point (note §3.3)
    ratio = at_a.q * cov.xi_qq(at_a.q, at_a.d) / cov.xi_q(at_a.q, at_a.d)
    assert float(ratio) == pytest.approx(1.0, abs=1e-7)


# ============================================================================ thermodynamic consistency (note §7 item 8)
@pytest.mark.parametrize(
    "cov, beta, conv, k",
    [
        (hamiltonian_covariance("sin", depth=1, sw2=1.0), 1.5, "A", 0),
        (mixed_pspin({3: 0.5}), 2.0, "B", 1),
        (hamiltonian_covariance("sin", depth=1, sw2=1.0), 3.0, "A", 1),
    ],
)
def test_energy_is_minus_dphi_dbeta(cov, beta, conv, k):
    h = 1e-4
    e = R.solve(cov, beta, k, conv).energy
    fd = -(R.solve(cov, beta + h, k, conv).phi - R.solve(cov, beta - h, k, conv).phi) / (2 * h)
    assert e == pytest.approx(fd, abs=1e-6)


def test_entropy_concave_and_nonpositive_in_A():
    cov = hamiltonian_covariance("sin", depth=1, sw2=1.0)
    betas = np.linspace(0.2, 2.5, 12)  # below beta_AT = 2.64 (RS exact there)
    E, s, _ = R.entropy_curve(cov, betas, "A")
    assert np.all(s <= 1e-12)
    assert np.all(np.diff(E) < 0)  # e(β) decreasing
    slope = np.diff(s) / np.diff(E)  # ds/dE = β at the midpoints
    np.testing.assert_allclose(slope, 0.5 * (betas[1:] + betas[:-1]), rtol=2e-2)
    assert np.all(np.diff(slope) > 0)  # slope grows as E decreases: s concave in E


# ============================================================================ classification (note §4.3, §7 items 6-7)
def test_sin_is_1rsb_with_discontinuous_onset():
    """sin L=1, C_W=4 (B): (sinh)^{-1/2} convex ⇒ at most 1RSB (Talagrand); note §4.3: RS ends at T≈0.993 by a
    jump to 1RSB with q_1 ≈ 0.70, before the AT point T≈0.931 (x(q*) = 1.68 > 1)."""
    cov = hamiltonian_covariance("sin", depth=1, sw2=4.0)
    st = R.static_transition(cov, "B")
    assert st.temperature == pytest.approx(0.993, abs=2e-3)
    assert st.q1 == pytest.approx(0.70, abs=1e-2)
    at = R.at_point(cov, "B")
    assert at.temperature == pytest.approx(0.931, abs=2e-3)
    assert at.x_star == pytest.approx(1.68, abs=1e-2)
    c = R.classify(cov, 1.25, "B", kmax=3)
    assert c.phase == "1RSB"


@pytest.mark.parametrize("L, cw, d", [(1, 1.0, 1.0), (1, 4.0, 3.0), (2, 1.0, 1.0), (2, 2.0, 2.0), (3, 1.0, 1.0), (3, 4.0, 1.0)])
def test_sin_admits_no_continuous_parisi_band(L, cw, d):
    """G_qq^{-1/2} convex on all of (0, d) for sin: no continuous Parisi part, at most 1RSB (Talagrand).
    Independent check: second differences of G_qq^{-1/2} (from the covariance itself) are positive."""
    cov = hamiltonian_covariance("sin", depth=L, sw2=cw)
    assert R.continuous_rsb_fraction(cov, d, n=801) == 0.0
    q = np.linspace(0.01, 0.99, 99) * d
    f = np.asarray(cov.xi_qq(q, d)) ** -0.5
    assert np.all(np.diff(f, 2) > 0)


@pytest.mark.parametrize("act, cw", [("tanh", 4.0), ("relu", 2.0)])
def test_tanh_relu_admit_a_continuous_band(act, cw):
    cov = hamiltonian_covariance(act, depth=1, sw2=cw)
    frac = R.continuous_rsb_fraction(cov, 1.0, n=801)
    q = np.linspace(0.01, 0.99, 99)
    f = np.asarray(cov.xi_qq(q, 1.0)) ** -0.5
    concave = np.mean(np.diff(f, 2) < 0)
    assert frac > 0.1 and concave > 0.1
    assert abs(frac - concave) < 0.05  # same set, measured on different grids


def test_relu_full_rsb_below_at():
    """ReLU L=1, C_W=2 (B): continuous FRSB onset (x(q*) = 0.24 < 1, increasing; note §4.3, T_AT = 0.080)."""
    cov = hamiltonian_covariance("relu", depth=1, sw2=2.0)
    at = R.at_point(cov, "B")
    assert at.temperature == pytest.approx(0.080, abs=1e-3)
    assert at.continuous and at.x_star == pytest.approx(0.24, abs=1e-2)
    c = R.classify(cov, 1.5 * at.beta, "B", kmax=3)
    assert c.phase == "FRSB"
    g = c.gains
    assert g[0] > g[1] > g[2] > 0  # gains keep decaying
    top = c.solutions[3]
    assert np.all(np.diff(top.q) > 1e-4) and np.all(np.diff(top.m) > 1e-3)  # breakpoints fill an interval


def test_classification_table_linear_rs():
    rows = R.classification_table(["linear"], [1], [1.0], "B", beta_max=5.0)
    assert rows[0]["phase"] == "RS" and math.isinf(rows[0]["beta_AT"])
    assert "linear" in R.format_table(rows)


# ============================================================================ input validation
def test_bad_inputs():
    cov = hamiltonian_covariance("sin", depth=1)
    with pytest.raises(NNFTInputError, match="beta"):
        R.solve_rs(cov, 0.0, "A")
    with pytest.raises(NNFTInputError, match="beta"):
        R.solve_rs(cov, -1.0, "B")
    with pytest.raises(NNFTInputError, match="beta"):
        R.solve_rs(cov, float("nan"), "B")
    with pytest.raises(NNFTInputError, match="convention"):
        R.solve_rs(cov, 1.0, "C")
    with pytest.raises(NNFTInputError, match="depth"):
        hamiltonian_covariance("tanh", depth=0)
    with pytest.raises(NNFTInputError, match="k"):
        R.solve(cov, 1.0, -1, "B")
    with pytest.raises(NNFTInputError, match="coeffs"):
        mixed_pspin({3: -1.0})
    with pytest.raises(NNFTInputError, match="cov"):
        R.solve_rs("tanh", 1.0, "B")
