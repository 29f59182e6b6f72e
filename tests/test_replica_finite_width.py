"""Finite-width-ratio replica theory (nnft.theory.replica_finite_width; derived in its docstring).

Expected values come from closed forms (linear net: ``shared/notes/hamiltonians.md`` §7 item 3), from the
independent GP solver :mod:`nnft.theory.replica` (α → ∞ limit), from the k-RSB functional itself (replicon
= curvature of the 1RSB functional along the replicon direction), and from Monte Carlo on actual finite
networks (:mod:`nnft.hamiltonian_mc`), never from a previous run of this code.
"""

import math

import jax
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from nnft import NNFTInputError
from nnft.hamiltonian import hamiltonian_covariance
from nnft.hamiltonian_mc import gibbs_sample, sample_mlp
from nnft.theory import replica as R
from nnft.theory import replica_finite_width as F

Z_TOL = 4.0


# ============================================================================ linear net: exact, α-independent
@pytest.mark.parametrize("alpha", [0.5, 1.0, 7.0])
def test_linear_is_alpha_independent_and_exact(alpha):
    """note §7.3 with b = C_W² (L = 1): B: q/(1-q)² = β²b, e = -βb(1-q); A: d = 1+β²b, q = β²b, e = -βb,
    φ = β²b/2. The bias C_b does not enter (H = v·x + const)."""
    cw, cb, beta = 1.5, 0.2, 1.3
    b = cw**2
    sB = F.solve_rs_finite_width("linear", alpha, beta, "B", sw2=cw, sb2=cb)
    gB = R.solve_rs(hamiltonian_covariance("linear", 1, cw, cb), beta, "B")
    q = float(sB.q[0])
    assert abs(q / (1 - q) ** 2 - beta**2 * b) < 1e-8 * beta**2 * b
    assert abs(sB.energy + beta * b * (1 - q)) < 1e-8
    assert abs(sB.phi - gB.phi) < 1e-8 and abs(sB.energy - gB.energy) < 1e-8
    assert abs(sB.replicon - 1.0) < 1e-12
    sA = F.solve_rs_finite_width("linear", alpha, beta, "A", sw2=cw, sb2=cb)
    np.testing.assert_allclose([sA.d, sA.q[0], sA.energy, sA.phi],
                               [1 + beta**2 * b, beta**2 * b, -beta * b, beta**2 * b / 2], rtol=1e-8, atol=1e-8)


# ============================================================================ α → ∞: the GP theory, at rate 1/α
@pytest.mark.parametrize("act", ["tanh", "sin"])
def test_gp_limit_at_rate_one_over_alpha(act):
    """φ, e, q and the replicon of RS at α = 100, 1000, 10⁴ approach nnft.theory.replica's GP values with
    residual ∝ 1/α: fitted log-log slope -1 ± 0.03, and α·residual stable to 2 % between α = 10³ and 10⁴."""
    beta, cw = 2.0, 2.0
    gp = R.solve_rs(hamiltonian_covariance(act, 1, cw, 0.0), beta, "B")
    alphas = np.array([100.0, 1000.0, 1e4])
    sols = [F.solve_rs_finite_width(act, a, beta, "B", sw2=cw) for a in alphas]
    for name, ref in [("phi", gp.phi), ("energy", gp.energy), ("q", gp.q[0]), ("replicon", gp.replicon)]:
        r = np.array([float(np.atleast_1d(getattr(s, name))[0]) - float(ref) for s in sols])
        slope = np.polyfit(np.log(alphas), np.log(np.abs(r)), 1)[0]
        assert abs(slope + 1) < 0.03, (name, r, slope)
        assert abs(r[2] * alphas[2] / (r[1] * alphas[1]) - 1) < 0.02, (name, r)


# ============================================================================ replicon
def test_replicon_is_the_curvature_of_the_1rsb_functional():
    r"""The RS replicon formula (module docstring) against the functional itself: with q_1 - q_0 = δ and q_0
    optimised, :math:`\Phi_1 - \Phi_0 = c\,\delta^2 + O(\delta^3)` with
    :math:`c = \frac{m(1-m)}{4(d-q)^2}\lambda_R` (the GP identity, here checked at α = 1 for sin, C_W = 2,
    B, on both sides of the finite-α AT point β ≈ 2.55). c is extrapolated from δ = 4e-3, 2e-3 (O(δ) error,
    hence the 2e-2 relative tolerance)."""
    act, cw, a, m = "sin", 2.0, 1.0, 0.5
    # the level width √(C_Wδ) ≥ 0.063 must lie in the grid's dense (spectral) regime s ≥ 1.5h: h = 0.0295
    rule = (48, 801, 8.0)
    for beta in (2.0, 3.0):
        rs = F.solve_rs_finite_width(act, a, beta, "B", sw2=cw, rule=rule)
        q = float(rs.q[0])
        cs = []
        for dl in (4e-3, 2e-3):
            res = minimize_scalar(lambda x: F.free_entropy_functional(act, a, beta, [x, x + dl], [m], sw2=cw,
                                                                                 rule=rule),
                                  bounds=(q - 0.05, q + 0.05), method="bounded", options={"xatol": 1e-10})
            cs.append((res.fun - rs.phi) / dl**2)
        c = 2 * cs[1] - cs[0]
        pred = m * (1 - m) / (4 * (1 - q) ** 2) * rs.replicon
        assert abs(c - pred) < 2e-2 * abs(pred), (beta, c, pred)


# ============================================================================ grid convergence (hard points)
@pytest.mark.parametrize("act, cw, alpha, beta, q1, m1", [
    ("sin", 4.0, 2.0, 2.5, [0.214, 0.835], [0.747]),  # κ = 3.5: near the 1RSB optimum (gain ~1e-2)
    ("relu", 2.0, 2.0, 8.0, [0.5, 0.93], [0.2]),  # κ = 8: ReLU tilt e^{mκyu} pushes mass far right
])
def test_grid_refinement_changes_nothing_at_low_temperature(act, cw, alpha, beta, q1, m1):
    """The default rule (48, 201, 8) against a refined one (64 y-nodes, 601 u-nodes, half-width 10 std) at hard
    points: Φ_0 and Φ_1 change by < 1e-7, the RS and 1RSB replicons by < 5e-4, and ∂Φ_1/∂(q, m) (which sets
    the shift of the saddle) by < 1e-5, so q and m move by ~1e-5/curvature. The RS order parameter is the
    saddle computed with each rule."""
    fine = (64, 601, 10.0)
    rs = [F.solve_rs_finite_width(act, alpha, beta, "B", sw2=cw, rule=r) for r in (None, fine)]
    assert abs(rs[0].q[0] - rs[1].q[0]) < 1e-5 and abs(rs[0].phi - rs[1].phi) < 1e-7
    assert abs(rs[0].replicon - rs[1].replicon) < 5e-4
    out = []
    for r in (F.DEFAULT_RULE, fine):
        core = F._core(act, 1, r)
        args = (np.asarray(q1), np.asarray(m1), 1.0, beta, alpha, cw, 0.0)
        g = core["dPhi"](*args, 0.0)
        out.append((float(core["Phi"](*args, 0.0)), float(core["replicon"](*args)), np.concatenate([g[0], g[1]])))
    assert abs(out[0][0] - out[1][0]) < 1e-7, out
    assert abs(out[0][1] - out[1][1]) < 5e-4, out
    assert np.max(np.abs(out[0][2] - out[1][2])) < 1e-5, out


# ============================================================================ thermodynamics
@pytest.mark.parametrize("act, conv, alpha, cw", [("tanh", "A", 2.0, 1.0), ("sin", "B", 1.0, 2.0), ("relu", "B", 1.0, 2.0)])
def test_energy_is_minus_dphi_dbeta(act, conv, alpha, cw):
    """e (jax.grad at the saddle) = -dφ/dβ by central differences (h = 1e-3: error ~h² φ''' < 1e-6)."""
    beta, h = 1.7, 1e-3
    s = F.solve_rs_finite_width(act, alpha, beta, conv, sw2=cw)
    fd = -(F.solve_rs_finite_width(act, alpha, beta + h, conv, sw2=cw).phi
           - F.solve_rs_finite_width(act, alpha, beta - h, conv, sw2=cw).phi) / (2 * h)
    assert abs(s.energy - fd) < 1e-6
    assert abs(s.entropy - (s.phi + beta * s.energy)) < 1e-14
    if conv == "A":
        assert s.entropy <= 0


# ============================================================================ 1RSB
def test_1rsb_reduces_to_rs_where_rs_is_stable():
    """tanh, C_W = 1, B, α = 2, β = 2: RS replicon > 0, and the 1RSB optimum is RS (no gain)."""
    rule = F.DEFAULT_RULE  # the default rule: its compiled functionals are shared with the other tests
    rs = F.solve_rs_finite_width("tanh", 2.0, 2.0, "B", rule=rule)
    assert rs.replicon > 0
    s1 = F.solve_1rsb_finite_width("tanh", 2.0, 2.0, "B", rule=rule, rs=rs)
    assert s1.phi >= rs.phi - 1e-10
    assert s1.distinct_steps() == 0


def test_1rsb_improves_where_gp_sin_is_rsb():
    """sin, C_W = 4, B, β = 1.5 (GP: RS ends by a jump to 1RSB near T ≈ 0.99, note §4.3): at α = 10⁴ the
    1RSB solution reproduces nnft.theory.replica's GP 1RSB (φ, q_0, q_1, m) to O(1/α)."""
    rule = F.DEFAULT_RULE  # compiled functionals shared with the grid-refinement test
    cov = hamiltonian_covariance("sin", 1, 4.0, 0.0)
    g0 = R.solve_rs(cov, 1.5, "B")
    g1 = R.solve_krsb(cov, 1.5, 1, "B", rs=g0, previous=g0)
    s1 = F.solve_1rsb_finite_width("sin", 1e4, 1.5, "B", sw2=4.0, rule=rule)
    assert g0.phi - g1.phi > 1e-2
    assert abs(s1.phi - g1.phi) < 1e-3
    np.testing.assert_allclose(np.concatenate([s1.q, s1.m]), np.concatenate([g1.q, g1.m]), atol=2e-3)


# ============================================================================ Monte Carlo on finite networks
def test_monte_carlo_finite_networks_follow_finite_alpha_not_gp():
    """Convention A (MALA), tanh, C_W = 1, C_b = 0, N0 = N1 = 80 (α = 1), β ∈ {1, 1.5, 2} (PT ladder; finite-α
    replicon > 0.9 and GP AT at β ≈ 6.9: RS). 12 networks (seeds fixed a priori), 4 replicas, 3000 sweeps
    (1000 burn-in). Standard errors over networks (thermal noise included). Allowance for finite-N0 bias,
    fixed before running: 1/N0 (O(1/N0) corrections of quenched densities with an O(1) coefficient; the
    observables are O(0.1–1)). The finite-α RS prediction must agree within 4 s.e. + 1/N0 for e, q and d at
    β = 2, and the GP (α = ∞) prediction must be excluded by more than that."""
    n0, alpha, cw = 80, 1.0, 1.0
    betas = np.array([1.0, 1.5, 2.0])
    E, D, Q = [], [], []
    for i in range(12):
        net = sample_mlp(jax.random.PRNGKey(1000 + i), n0, int(alpha * n0), 1, "tanh", cw, 0.0)
        r = gibbs_sample(net, betas, jax.random.PRNGKey(2000 + i), convention="A", replicas=4, n_sweeps=3000,
                         burn_in=1000, thin=5)
        E.append(r.e.mean((0, 2))[-1])
        D.append(r.d.mean((0, 2))[-1])
        Q.append(r.q.mean((0, 2))[-1])
    fw = F.solve_rs_finite_width("tanh", alpha, 2.0, "A", sw2=cw)
    gp = R.solve_rs(hamiltonian_covariance("tanh", 1, cw, 0.0), 2.0, "A")
    assert fw.replicon > 0 and gp.replicon > 0
    for name, x, t_fw, t_gp in [("e", E, fw.energy, gp.energy), ("d", D, fw.d, gp.d), ("q", Q, fw.q[0], gp.q[0])]:
        x = np.asarray(x)
        se = x.std(ddof=1) / math.sqrt(len(x))
        tol = Z_TOL * se + 1.0 / n0
        assert abs(x.mean() - t_fw) < tol, (name, x.mean(), se, t_fw)
        assert abs(x.mean() - t_gp) > tol, (name, x.mean(), se, t_gp)


# ============================================================================ validation
@pytest.mark.parametrize("kw, param", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": math.inf}, "alpha"), ({"alpha": "x"}, "alpha"),
    ({"beta": -1.0}, "beta"), ({"beta": math.nan}, "beta"), ({"activation": "nope"}, "activation"),
    ({"convention": "C"}, "convention"), ({"sw2": 0.0}, "sw2"), ({"sb2": -1.0}, "sb2"),
])
def test_bad_input_fails_early(kw, param):
    args = {"activation": "tanh", "alpha": 1.0, "beta": 1.0, "convention": "B"} | kw
    with pytest.raises(NNFTInputError) as e:
        F.solve_rs_finite_width(**args)
    assert e.value.parameter == param
