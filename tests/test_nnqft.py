"""Tests of nnft.theory.nnqft (Halverson, Maiti & Stoner 2020) against shared/notes/nnqft.md ("note").

Reference numbers are the note's (§1.2 spot values, §4.2 exact target table, §3.5/§4.4 RG and G6 targets),
never this module's own output. Monte Carlo comparisons use fixed seeds chosen before the runs and
tolerances of Z_TOL standard errors; where the *sample* standard error of a 6-point estimate is
unreliable (heavy tails: ``tail_diagnostics(...).se_reliable`` is False) the exact standard error from
the exact output moments is used instead, and said so.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import nnft  # noqa: F401  (x64)
from nnft.errors import NNFTInputError
from nnft.kernels import nngp_kernel
from nnft.theory import nnqft as Q

Z_TOL = 4.0
SEED = 2008_08601  # arXiv number of the paper; fixed before any run


# ============================================================================ kernels and architectures
@pytest.mark.parametrize("act", ["gauss", "erf", "relu"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_closed_form_kernels_match_kernel_module(act, d):
    net = Q.HMSNet(act, d)
    X = Q.paper_inputs(act, d)
    K = net.kernel(X)
    ref = np.asarray(nngp_kernel(X, 2, act, net.sw2, net.sb2))
    np.testing.assert_allclose(K, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(K, K.T, atol=0)


def test_kernel_spot_values_of_the_note():
    # note "What a reproduction must check", item 1
    assert Q.HMSNet("erf").kernel([[-1.0], [1.0]])[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert Q.HMSNet("erf").kernel([[1.0]])[0, 0] == pytest.approx(1.59033, abs=5e-6)
    assert Q.HMSNet("relu").kernel([[1.2]])[0, 0] == pytest.approx(0.72, abs=1e-12)
    assert Q.HMSNet("relu", sb2=1.0).kernel([[1.0]])[0, 0] == pytest.approx(2.0, abs=1e-12)
    Kg = Q.HMSNet("gauss").kernel([[-0.01], [0.01]])
    assert Kg[0, 0] == pytest.approx(2.0, abs=1e-12)
    assert Kg[0, 1] == pytest.approx(1.99980, abs=5e-6)
    # Gauss-net kernel is translation invariant with the /d of the paper, for any d
    net = Q.HMSNet("gauss", 3, sw2=1.7, sb2=0.3)
    x, y = np.array([[0.1, -0.4, 0.3]]), np.array([[0.5, 0.2, -0.1]])
    want = 0.3 + 1.7 * math.exp(-1.7 * np.sum((x - y) ** 2) / 6)
    assert net.kernel(x, y)[0, 0] == pytest.approx(want, rel=1e-13)


def test_relu_sb0_kernel_is_xx_over_2_and_zero_for_opposite_signs():
    net = Q.HMSNet("relu", sw2=2.0)
    assert net.sb2 == 0.0
    K = net.kernel([[0.5], [1.5], [-1.0]])
    assert K[0, 1] == pytest.approx(2.0**2 * 0.5 * 1.5 / 2, rel=1e-13)  # σW⁴ x x'/2
    assert K[0, 2] == pytest.approx(0.0, abs=1e-15)


def test_architecture_defaults_and_validation():
    assert Q.HMSNet("relu").sb2 == 0.0 and Q.HMSNet("erf").sb2 == 1.0 and Q.HMSNet("gauss").sb2 == 1.0
    assert Q.HMSNet("gauss-net").activation == "gauss"
    with pytest.raises(NNFTInputError, match="activation"):
        Q.HMSNet("nope")
    with pytest.raises(NNFTInputError, match="sw2"):
        Q.HMSNet("erf", sw2=0.0)
    with pytest.raises(NNFTInputError, match="inputs"):
        Q.HMSNet("erf", 2).kernel([[1.0, 2.0, 3.0]])
    with pytest.raises(NNFTInputError, match="depth"):
        Q.HMSNet("erf", depth=1)


def test_paper_input_sets():
    np.testing.assert_allclose(Q.paper_inputs("erf")[:, 0], [-1, -0.6, -0.2, 0.2, 0.6, 1.0])
    np.testing.assert_allclose(Q.paper_inputs("gauss")[:, 0], 0.01 * np.array([-1, -0.6, -0.2, 0.2, 0.6, 1.0]))
    np.testing.assert_allclose(Q.paper_inputs("relu")[:, 0], [0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    np.testing.assert_allclose(Q.paper_inputs("erf", 2), [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    np.testing.assert_allclose(Q.paper_inputs("relu", 3), [[0.2, 0.2, 0.2], [1, 1, 0.2], [0.2, 1, 1], [1, 0.2, 1]])
    np.testing.assert_allclose(Q.lam_fit_inputs("relu", "train")[:, 0], math.sqrt(2) / 2 * np.arange(1, 7) * 0.2)


def test_deep_net_kernel_goes_through_the_kernel_module():
    net = Q.HMSNet("erf", 2, depth=3)
    X = Q.paper_inputs("erf", 2)
    np.testing.assert_allclose(net.kernel(X), np.asarray(nngp_kernel(X, 3, "erf", 1.0, 1.0)), atol=1e-12)
    np.testing.assert_allclose(net.kernel(X[:2], X[2:]), net.kernel(X)[:2, 2:], atol=1e-12)


# ============================================================================ sampler
def test_sampler_is_the_weight_space_sampler():
    from nnft.sampling import sample_chunk

    act = "gauss"  # the Gauss-net also checks the input-dependent normalisation e^{z - q(x)}
    net = Q.HMSNet(act, 2)
    X = Q.paper_inputs(act, 2)
    f = Q.sample_outputs(net, X, 7, 40, key=jax.random.key(3), start=11, dtype="float64", method="weights")
    ref = sample_chunk(net.network_spec(7), X, 40, key=jax.random.key(3), start=11, method="weights",
                       record="output", dtype="float64")["output"][:, 0, :]  # fmt: skip
    np.testing.assert_allclose(f, ref, rtol=1e-12, atol=1e-12)


def test_sampler_does_not_depend_on_batching():
    net = Q.HMSNet("gauss", 2)
    X = Q.paper_inputs("gauss", 2)
    for method, bs in (("weights", None), ("conditional", 4)):
        a = Q.sample_outputs(net, X, 7, 30, key=7, dtype="float64", method=method)
        b = Q.sample_outputs(net, X, 7, 17, key=7, start=13, dtype="float64", batch_size=bs, method=method)
        np.testing.assert_allclose(a[13:], b, rtol=1e-13, atol=1e-13)
    with pytest.raises(NNFTInputError, match="key"):
        Q.sample_outputs(net, X, 7, 3, key=jax.random.PRNGKey(0))


def test_deep_sampler_runs_through_nnft_sampling():
    net = Q.HMSNet("relu", 1, depth=3)
    f = Q.sample_outputs(net, [[0.5], [1.0]], 4, 10, key=1)
    assert f.shape == (10, 2) and np.all(np.isfinite(f))


# ============================================================================ exact finite-N theory (note §3.2, §4.2)
def test_relu_exact_cumulants_closed_form():
    net = Q.HMSNet("relu")
    X = Q.paper_inputs("relu")
    mom = Q.neuron_moments(net, X)
    for N in Q.PAPER_WIDTHS:
        ex = Q.exact_npoint(net, X, N, moments=mom)
        assert ex.deviation(2) == pytest.approx(0.0, abs=1e-14)
        assert ex.deviation(4) * N == pytest.approx(5.0, rel=1e-12)
        assert ex.deviation(6) == pytest.approx(15 / N + 44 / N**2, rel=1e-12)
        assert ex.connected_deviation() * N**2 == pytest.approx(44.0, rel=1e-12)
    # absolute values (the scale-free ratios cannot catch a wrong weight scaling; note §2.4)
    ex = Q.exact_npoint(Q.HMSNet("relu", sw2=2.0), X, 10)
    x = 1.2
    K = 2.0**2 * x * x / 2
    g4c = 2.0**4 / 10 * (3 * 1.5 - 3 * 0.25) * x**4  # σW⁴/N (3 M4 − 3 M2²) with M_k = σW^k x^k E[relu(ξ)^k]
    assert ex.G[4][-1] == pytest.approx(3 * K * K + g4c, rel=1e-12)


@pytest.mark.parametrize(
    "act, c4, c6c, tol4, tol6",
    [("erf", 0.0563, 0.0069, 5e-5, 5e-5), ("gauss", 13.40, 2.03e4, 5e-3, 50.0), ("relu", 5.0, 44.0, 1e-9, 1e-9)],
)
def test_exact_coefficients_table(act, c4, c6c, tol4, tol6):
    net = Q.HMSNet(act)
    ex = Q.exact_npoint(net, Q.paper_inputs(act), 1)
    assert ex.deviation(4) == pytest.approx(c4, abs=tol4)
    assert ex.connected_deviation() == pytest.approx(c6c, abs=tol6)


def test_exact_values_at_widths_table():
    # note §4.2 table (3 significant digits)
    table = {
        "erf": {"m4": [0.0281, 0.0113, 2.8e-3, 5.6e-4, 5.6e-5], "m6": [0.0862, 0.0341, 8.5e-3, 1.7e-3, 1.7e-4],
                "m6c": [1.7e-3, 2.8e-4, 1.7e-5, 6.9e-7, 6.9e-9]},
        "gauss": {"m4": [6.70, 2.68, 0.670, 0.134, 0.0134], "m6": [5101, 821, 52.8, 2.43, 0.0605],
                  "m6c": [5081, 813, 50.8, 2.03, 0.0203]},
    }  # fmt: skip
    for act, rows in table.items():
        net = Q.HMSNet(act)
        X = Q.paper_inputs(act)
        mom = Q.neuron_moments(net, X)
        for k, N in enumerate((2, 5, 20, 100, 1000)):
            ex = Q.exact_npoint(net, X, N, moments=mom)
            got = {"m4": ex.deviation(4), "m6": ex.deviation(6), "m6c": ex.connected_deviation()}
            for name, want in rows.items():
                assert got[name] == pytest.approx(want[k], rel=0.02), (act, N, name)


def test_exact_coefficients_higher_input_dimension():
    # note §4.2: ReLU(0) c4 = 4.948 / 4.742, c6c = 43.35 / 40.70 (d = 2 / 3); Gauss with the paper's normalisation
    for d, c4, c6c in ((2, 4.948, 43.35), (3, 4.742, 40.70)):
        net = Q.HMSNet("relu", d)
        mom = Q.neuron_moments(net, Q.paper_inputs("relu", d), order=8 if d == 3 else None)
        ex = Q.exact_npoint(net, Q.paper_inputs("relu", d), 1, moments=mom)
        assert ex.deviation(4) == pytest.approx(c4, abs=1e-3)
        assert ex.connected_deviation() == pytest.approx(c6c, abs=1e-2)
    for d in (2, 3):
        net = Q.HMSNet("gauss", d)
        ex = Q.exact_npoint(net, Q.paper_inputs("gauss", d), 1)
        assert ex.deviation(4) == pytest.approx(13.40, abs=5e-3)
        assert ex.connected_deviation() == pytest.approx(2.03e4, rel=5e-3)
        assert np.allclose(np.diag(net.kernel(Q.paper_inputs("gauss", d))), 2.0)  # E f² = 2 (note §1.1)


def test_neuron_moment_quadrature_against_closed_forms():
    # M2 against the closed-form arc-cosine / arcsin kernels; coincident M4, M6 against 1-D moments
    for act, d in (("relu", 2), ("erf", 1), ("relu", 1)):
        net = Q.HMSNet(act, d, sb2=0.5 if act == "relu" and d == 1 else None)
        X = Q.paper_inputs(act, d)
        mom = Q.neuron_moments(net, X)
        i2 = Q.multiset_indices(len(X), 2)
        M2 = (net.kernel(X) - net.sb2) / net.sw2
        np.testing.assert_allclose(mom[2], M2[i2[:, 0], i2[:, 1]], rtol=1e-11, atol=1e-13)
        q = net.preactivation_variance(X)
        for n in (4, 6):
            diag = Q.multiset_position(len(X), np.repeat(np.arange(len(X))[:, None], n, axis=1))
            want = np.array([float(net.act.moment(qq, n)) for qq in q])
            np.testing.assert_allclose(mom[n][diag], want, rtol=1e-11)
    with pytest.raises(NNFTInputError, match="rank"):
        Q.neuron_moments(Q.HMSNet("relu", 3, sb2=1.0), Q.paper_inputs("relu", 3))


def test_output_moments_agree_with_exact_npoint():
    for act in ("relu", "erf", "gauss"):
        net = Q.HMSNet(act)
        X = Q.paper_inputs(act)[-1:]
        for N in (2, 7):
            m = Q.output_moments(net, X[0], N, 6)
            ex = Q.exact_npoint(net, X, N)
            assert m[1] == 0 and m[3] == 0
            assert m[2] == pytest.approx(ex.G[2][0], rel=1e-10)
            assert m[4] == pytest.approx(ex.G[4][0], rel=1e-10)
            assert m[6] == pytest.approx(ex.G[6][0], rel=1e-10)


# ============================================================================ Monte Carlo against exact values
@pytest.fixture(scope="module")
def relu_d1_n20():
    net = Q.HMSNet("relu")
    return Q.npoint_ensemble(net, Q.paper_inputs("relu"), 20, 200_000, key=SEED)


def test_relu_deviations_at_n20(relu_d1_n20):
    c = relu_d1_n20
    net = c.net
    m = Q.output_moments(net, [1.0], 20, 8)
    K = m[2]
    se4 = math.sqrt((m[8] - m[4] ** 2) / c.n_networks) / (3 * K * K)  # exact s.e. of m4 (all elements ∝ one scalar)
    d4 = c.deviation(4)
    assert abs(d4.value - 5 / 20) < Z_TOL * se4
    assert d4.se == pytest.approx(se4, rel=0.6)  # the jackknife error agrees with the exact one
    d2 = c.deviation(2)
    assert d2.value < Z_TOL * d2.se + 1e-3  # exact deviation is 0 at every N
    d6 = c.deviation(6)
    assert abs(d6.value - (15 / 20 + 44 / 400)) < Z_TOL * d6.se
    assert d4.background > d4.value / 40 and d6.n_elements == 462


@pytest.mark.parametrize("N", [2, 5])
def test_relu_m4_N_is_5_and_m6c_N2_is_44(N):
    # every element gives the same ratio for ReLU(0), d = 1 (note §3.5); two positive inputs suffice
    net = Q.HMSNet("relu")
    c = Q.npoint_ensemble(net, np.array([[0.2], [1.2]]), N, 1_000_000, key=SEED + N)
    m = Q.output_moments(net, [1.0], N, 12)
    K, n = m[2], c.n_networks
    se4 = math.sqrt((m[8] - m[4] ** 2) / n) / (3 * K * K)
    var6 = m[12] - 30 * K * m[10] + 225 * K**2 * m[8] - (m[6] - 15 * K * m[4]) ** 2
    se6 = math.sqrt(var6 / n) / (15 * K**3)  # exact: the sample s.e. of a 6-point is unreliable here
    assert not [t for t in c.tail_diagnostics() if t.order == 6][0].se_reliable
    assert abs(c.deviation(4).value * N - 5.0) < Z_TOL * se4 * N
    assert abs(c.connected_deviation().value * N**2 - 44.0) < Z_TOL * se6 * N**2


@pytest.mark.parametrize("N, method", [(2, "weights"), (5, "conditional"), (20, "conditional")])
def test_exact_cumulants_against_simulation_relu_d2(N, method):
    # both exact samplers are checked against the exact cumulants (weight space at N = 2)
    net = Q.HMSNet("relu", 2)
    X = Q.paper_inputs("relu", 2)
    c = Q.npoint_ensemble(net, X, N, 200_000, key=SEED + 100 + N, method=method)
    ex = Q.exact_npoint(net, X, N)
    # E[f f'] = K exactly at every N (note §1.2): the absolute scales of W0 (σW²/d), W1 (σW²/N), biases
    i2 = c.indices(2)
    z2 = (c.mean(2) - net.kernel(X)[i2[:, 0], i2[:, 1]]) / c.se(2)
    assert np.max(np.abs(z2)) < Z_TOL, z2
    g4c, _ = c.connected(4)
    z4 = (g4c - ex.Gc[4]) / c.se(4)  # G4c = Ḡ4 − GP: its s.e. is that of Ḡ4
    assert np.max(np.abs(z4)) < Z_TOL, z4
    # G6c: diagonal elements against the exact s.e. of f⁶ − 15 K f⁴ (exact output moments) ...
    g6c, se6 = c.connected(6)
    for a in range(len(X)):
        u = Q.multiset_position(len(X), [a] * 6)
        m = Q.output_moments(net, X[a], N, 12)
        K = m[2]
        var = m[12] - 30 * K * m[10] + 225 * K**2 * m[8] - (m[6] - 15 * K * m[4]) ** 2
        assert abs(g6c[u] - ex.Gc[6][u]) < Z_TOL * math.sqrt(var / c.n_networks), (N, a)
    # ... and the element mean of G6c/GP (all 84 elements) against its chunk-jackknife s.e.
    gp6 = c.gp(6)
    val, se = c.jackknife(lambda G: np.mean(c.connected_function(6)(G) / gp6), [4, 6])
    assert abs(val - np.mean(ex.Gc[6] / gp6)) < Z_TOL * se


def test_gauss_net_heavy_tails_are_flagged():
    net = Q.HMSNet("gauss")
    X = Q.paper_inputs("gauss")
    diag = {t.order: t for t in Q.tail_diagnostics(net, X, 2, 100_000)}
    assert diag[2].resolved and not diag[4].resolved and not diag[6].resolved
    assert diag[6].deviation_typical < 0.5 * diag[6].deviation_exact
    c = Q.npoint_ensemble(net, X, 2, 100_000, key=SEED + 200)
    ex = Q.exact_npoint(net, X, 2)
    # the Monte Carlo 6-point is not resolved: either it misses the exact value by far more than its own error
    # bar (the typical outcome: rare networks not sampled, note §4.3) or its error bar is of its own size
    d6 = c.deviation(6)
    assert abs(d6.value - ex.deviation(6)) > Z_TOL * d6.se or d6.se > 0.5 * d6.value
    assert c.deviation(2).value < Z_TOL * c.deviation(2).se + 0.01
    # at N = 1000 with the paper's 10^6 networks the 4-point is resolved, the 6-point still is not
    big = {t.order: t for t in Q.tail_diagnostics(net, X, 1000, 1_000_000)}
    assert big[4].resolved and not big[6].resolved
    # ReLU has polynomial tails: every order resolved at N = 20
    assert all(t.resolved for t in Q.tail_diagnostics(Q.HMSNet("relu"), Q.paper_inputs("relu"), 20, 100_000))


# ============================================================================ EFT
def test_vertex_integrals_relu_closed_form():
    net = Q.HMSNet("relu", sw2=1.3)
    X = Q.paper_inputs("relu")
    eft = Q.EFTIntegrals(net, X, 7.0)
    idx = Q.multiset_indices(6, 4)
    # K(x_i, x) = σW⁴ x_i x/2 for x > 0, 0 for x < 0  =>  ∫ Π₄ K = Π (σW⁴ x_i/2) Λ⁵/5
    want = np.prod(1.3**2 * X[idx, 0] / 2, axis=1) * 7.0**5 / 5
    np.testing.assert_allclose(eft.vertex(4), want, rtol=1e-12)
    i6 = Q.multiset_indices(6, 6)
    P6 = np.prod(1.3**2 * X[i6, 0] / 2, axis=1)
    # exchange: Σ₁₀ ∫∫ (Π₃ x_a x/2) (σW⁴ x y/2) (Π₃ x_d y/2) = 10 · P6 · σW⁴/2 · (Λ⁵/5)²
    np.testing.assert_allclose(eft.exchange(), 10 * P6 * 1.3**2 / 2 * (7.0**5 / 5) ** 2, rtol=1e-10)


def _gauss_box(points, sw2, d, cutoff):
    """∫_{[-Λ,Λ]^d} Π_i σW² e^{-a|x - x_i|²}, a = σW²/(2d): a product of one-dimensional erf integrals."""
    from scipy.special import erf

    a = sw2 / (2 * d)
    s = len(points)
    xbar = points.mean(axis=0)
    out = sw2**s * math.exp(-a * np.sum((points - xbar) ** 2))
    for k in range(d):
        al = a * s
        if math.isinf(cutoff):
            out *= math.sqrt(math.pi / al)
        else:
            out *= math.sqrt(math.pi / al) / 2 * (erf(math.sqrt(al) * (cutoff - xbar[k])) + erf(math.sqrt(al) * (cutoff + xbar[k])))
    return out


@pytest.mark.parametrize("d, cutoff", [(1, math.inf), (1, 2.0), (2, math.inf)])
def test_vertex_integrals_gauss_closed_form(d, cutoff):
    net = Q.HMSNet("gauss", d)
    X = Q.paper_inputs("gauss", d) * (30 if d == 1 else 1)  # spread the points: a non-trivial check
    eft = Q.EFTIntegrals(net, X, cutoff)
    idx = Q.multiset_indices(len(X), 4)
    want = np.array([_gauss_box(X[r], net.sw2, d, cutoff) for r in idx])
    np.testing.assert_allclose(eft.vertex(4), want, rtol=1e-9)


def test_rg_slopes_and_intercept_exact():
    # note §3.5 / §4.4: ReLU(0), N = 20, the 21 cutoffs: slope −5, intercept log10(12.5/20) = −0.2041, R² = 1
    net = Q.HMSNet("relu")
    X = Q.paper_inputs("relu")
    g4c = Q.exact_npoint(net, X, 20).Gc[4]
    lam = np.stack([Q.lambda_elements(g4c, Q.EFTIntegrals(net, X, L)) for L in Q.RG_CUTOFFS])
    assert np.all(lam < 0)  # action convention: λ = −(code's λ_m) ≤ 0 here
    fit = Q.rg_fit(Q.RG_CUTOFFS, lam)
    assert fit.slope == pytest.approx(-5.0, abs=1e-9)
    assert fit.intercept == pytest.approx(math.log10(12.5 / 20), abs=1e-9)
    assert fit.intercept == pytest.approx(-0.2041, abs=1e-4)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    for d in (2, 3):  # slope −(d + 4) by homogeneity; fewer cutoffs and a coarse d = 3 grid keep this fast
        net = Q.HMSNet("relu", d)
        X = Q.paper_inputs("relu", d)
        mom = Q.neuron_moments(net, X, (2, 4, 6), order=6 if d == 3 else None)
        g4c = Q.exact_npoint(net, X, 20, moments=mom).Gc[4]
        cuts = (7.0, 100.0, 1e4) if d == 2 else (7.0, 1e3)
        lam = np.stack([Q.lambda_elements(g4c, Q.EFTIntegrals(net, X, L, order=4 if d == 3 else None)) for L in cuts])
        assert Q.rg_fit(cuts, lam).slope == pytest.approx(-(d + 4), abs=1e-6)


def test_gauss_lambda_is_cutoff_independent():
    # note §3.5: λ_m ≈ 5.346/N for every element, identical at Λ = 7, 10, 100, ∞; log10(max/min) ≲ 3e-4
    net = Q.HMSNet("gauss")
    X = Q.paper_inputs("gauss")
    g4c = Q.exact_npoint(net, X, 50).Gc[4]
    means = []
    for L in (7.0, 10.0, 100.0, math.inf):
        lam = Q.lambda_elements(g4c, Q.EFTIntegrals(net, X, L))
        assert np.log10(lam.max() / lam.min()) < 3e-4
        means.append(lam.mean() * 50)
    np.testing.assert_allclose(means, -5.346, atol=5e-4)


def test_g6_prediction_exact():
    # note §4.4: ReLU(0), N = 20: GP/G6 = 0.5376 and (GP + λ)/G6 = 0.9409, flat in Λ
    net = Q.HMSNet("relu")
    X = Q.paper_inputs("relu")
    ex = Q.exact_npoint(net, X, 20)
    for L in (7.0, 100.0, 1e5):
        eft = Q.EFTIntegrals(net, X, L)
        lam = np.nanmean(Q.lambda_elements(ex.Gc[4], eft))
        pred = Q.g6_prediction(net, X, eft.design() @ [lam])
        np.testing.assert_allclose(ex.gp(6) / ex.G[6], 1 / (1 + 15 / 20 + 44 / 400), rtol=1e-12)
        np.testing.assert_allclose(pred / ex.G[6], (1 + 15 / 20) / (1 + 15 / 20 + 44 / 400), rtol=1e-10)
    assert np.mean(pred / ex.G[6]) == pytest.approx(0.9409, abs=1e-4)
    # Gauss-net, Λ = ∞ (note §4.4 table): GP/G6, λ-corrected with full-K and with the code's K_EFT spectators
    net = Q.HMSNet("gauss")
    X = Q.paper_inputs("gauss")
    eft = Q.EFTIntegrals(net, X, math.inf)
    for N, gp, full, code in ((100, 0.291, 0.408, 0.350), (1000, 0.943, 0.981, 0.962)):
        ex = Q.exact_npoint(net, X, N)
        lam = np.nanmean(Q.lambda_elements(ex.Gc[4], eft))
        assert np.mean(ex.gp(6) / ex.G[6]) == pytest.approx(gp, abs=1e-3)
        for sp, want in (("full", full), ("eft", code)):
            pred = Q.g6_prediction(net, X, eft.design() @ [lam], spectator=sp)
            assert np.mean(pred / ex.G[6]) == pytest.approx(want, abs=1e-3)


def test_couplings_scale_as_powers_of_one_over_N():
    for act, L in (("relu", 10.0), ("gauss", math.inf)):
        net = Q.HMSNet(act)
        cv = Q.couplings_vs_width(net, Q.paper_inputs(act), [2, 20, 1000], L)
        np.testing.assert_allclose(cv["lam_N"], cv["lam_N"][0], rtol=1e-10)
        np.testing.assert_allclose(cv["kappa_N2"], cv["kappa_N2"][0], rtol=1e-8)
    assert cv["lam_N"][0] == pytest.approx(-5.346, abs=5e-3)


def test_fit_couplings_recovers_synthetic_couplings():
    rng = np.random.default_rng(5)
    Xd = rng.normal(size=(60, 2))
    beta = np.array([-0.7, 2.5])
    se = 0.05 * np.ones(60)
    y = Xd @ beta + se * rng.normal(size=60)
    fit = Q.fit_couplings(y, Xd, se=se, terms=("a", "b"))
    assert np.all(np.abs(fit.value - beta) < Z_TOL * fit.se)
    assert fit.dof == 58 and 30 < fit.chi2 < 100


def test_local_and_nonlocal_fits_on_exact_data():
    net = Q.HMSNet("gauss")
    X = Q.paper_inputs("gauss")
    g4c = Q.exact_npoint(net, X, 1000).Gc[4]
    eft = Q.EFTIntegrals(net, X, math.inf)
    for terms in (("local0",), ("local0", "local2"), ("local0", "nonlocal")):
        fit = Q.fit_couplings(g4c, eft.design(terms), terms=terms)
        assert fit.mape < 0.1  # percent: a constant λ already describes the Gauss-net (translation invariance)
        if terms == ("local0",):  # with the tiny inputs T2 ∝ T0 nearly: λ0, λ2 are then not separately defined
            assert fit.value[0] * 1000 == pytest.approx(-5.346, rel=1e-3)


def test_eft_input_validation():
    net = Q.HMSNet("relu")
    X = Q.paper_inputs("relu")
    with pytest.raises(NNFTInputError, match="cutoff"):
        Q.EFTIntegrals(net, X, math.inf)
    with pytest.raises(NNFTInputError, match="propagator"):
        Q.EFTIntegrals(net, X, 10.0, propagator="bare")
    with pytest.raises(NNFTInputError, match="net"):
        Q.EFTIntegrals(Q.HMSNet("relu", depth=3), X, 10.0)
    with pytest.raises(NNFTInputError, match="terms"):
        Q.EFTIntegrals(net, X, 10.0).design(("local4",))


# ============================================================================ EFT on Monte Carlo data
def test_rg_and_g6_prediction_from_simulation(relu_d1_n20):
    c = relu_d1_n20
    fit, err = Q.rg_flow(c, (7.0, 100.0, 1e4, 1e5))
    assert fit.slope == pytest.approx(-5.0, abs=1e-8)
    assert abs(fit.intercept - math.log10(12.5 / 20)) < Z_TOL * err.intercept
    r = Q.g6_prediction_ratios(c, (7.0, 1e3, 1e5))
    # note §4.4 targets, and flat in Λ (λ(Λ)·∫ is fixed by G4)
    assert np.all(np.abs(r["gp_ratio"] - 0.5376) < Z_TOL * r["gp_ratio_se"])
    assert np.all(np.abs(r["pred_ratio"] - 0.9409) < Z_TOL * r["pred_ratio_se"])
    np.testing.assert_allclose(r["pred_ratio"], r["pred_ratio"][0], rtol=1e-9)
    lam = Q.extract_lambda(c, 10.0)
    exact = np.nanmean(Q.lambda_elements(Q.exact_npoint(c.net, c.inputs, 20).Gc[4], Q.EFTIntegrals(c.net, c.inputs, 10.0)))
    assert abs(lam.value[0] - exact) < Z_TOL * lam.se[0]


# ============================================================================ runs and the reproduction
def test_npoint_task_through_the_run_store_matches_in_memory(tmp_path):
    from nnft.run import load_statistics, run

    net = Q.HMSNet("relu")
    X = np.array([[0.2], [1.2]])
    task = Q.NPointTask.make(net, X, 5, seed=11)
    s = run(task, tmp_path / "r", n_networks=3000, chunk_size=700, n_batches=10, quiet=True)
    c = Q.Correlators.from_run(task, load_statistics(s.result)["f"])
    ref = Q.npoint_ensemble(net, X, 5, 3000, key=11)
    for n in (2, 4, 6):
        np.testing.assert_allclose(c.mean(n), ref.mean(n), rtol=1e-12)
        np.testing.assert_allclose(c.chunk_means(n), ref.chunk_means(n), rtol=1e-12)


def test_reproduction_is_registered_and_its_exact_curves_scale():
    from nnft.reproduce import get_reproduction
    from nnft.reproduce import halverson2020 as H

    assert get_reproduction("halverson2020").name == "halverson2020"
    ex = Q.exact_npoint(Q.HMSNet("relu"), Q.paper_inputs("relu"), 7)
    cur = H._exact_curves(ex, np.array([2.0, 20.0]))
    np.testing.assert_allclose(cur["m4"], [2.5, 0.25], rtol=1e-12)
    np.testing.assert_allclose(cur["m6c"], [11.0, 0.11], rtol=1e-12)
    np.testing.assert_allclose(cur["m6"], [18.5, 0.86], rtol=1e-12)
