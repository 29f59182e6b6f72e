"""Lattice-model theory (SPS17): energies, saddles, autodiff Gaussian fluctuations, EFT, and exact simulation.

Simulations follow the paper's protocol: an open chain, the last ``W`` layers after a burn-in, fluctuations
about the theoretical saddle, ``numpy.fft.fft``, variance of each mode over chains (per-layer normalisation,
see ``nnft.theory.lattice_model.FOURIER_NORMALISATION``). Modes are grouped in bands; a band's estimate is
the mean over chains of the chain's band-averaged periodogram and its standard error the spread of that
quantity over chains / √M. Tolerances: Z_TOL s.e. against the exact finite-N references, and Z_TOL s.e.
plus the computed O(1/N) difference (exact − Gaussian) against the leading-order Gaussian theory. All
expectations are Fejér-windowed (``windowed_spectrum``), which is exact for a stationary window.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from nnft.errors import NNFTInputError
from nnft.meanfield import chi_par, fixed_point_q
from nnft.theory import lattice_model as lm

from conftest import Z_TOL

SB2 = 0.01
N_PAPER = 200
W = 512  # analysis window (the paper's last 512 of 1024 layers)
BURN = 512
BANDS = [(1, 4), (4, 12), (12, 36), (36, 100), (100, W // 2 + 1)]


# ============================================================================ samplers (exact, compact)
def sample_linear(rng, sw2, sb2, N, M, burn, window):
    """Exact chain s^l = |z^l|²/N = (σw² s^{l-1} + σb²) χ²_N / N (linear net, one input); returns r = |z|, (M, window)."""
    s = np.full(M, sb2 / (1 - sw2))
    out = np.empty((M, window))
    for l in range(burn + window):
        s = (sw2 * s + sb2) * rng.chisquare(N, size=M) / N
        if l >= burn:
            out[:, l - burn] = np.sqrt(N * s)
    return out


def sample_relu(rng, sw2, sb2, N, M, burn, window):
    """Exact (r₊, r₋, k) chain: k ~ Bin(N, ½) positives, r₊² = D χ²_k, r₋² = D χ²_{N−k}; returns (3, M, window)."""
    D = np.full(M, sb2 / (1 - sw2 / 2))
    out = np.empty((3, M, window))
    for l in range(burn + window):
        k = rng.binomial(N, 0.5, size=M)
        rp = np.sqrt(D * rng.chisquare(np.maximum(k, 1e-12)))
        rm = np.sqrt(D * rng.chisquare(np.maximum(N - k, 1e-12)))
        D = sw2 * rp**2 / N + sb2
        if l >= burn:
            out[:, :, l - burn] = rp, rm, k
    return out


def sample_lattice_collective(rng, act, sw2, sb2, N, M, burn, window):
    """Exact lattice sampler z^l | z^{l-1} ~ N(0, σw²|φ(z^{l-1})|²/N + σb²) iid; returns (q, p) = (|z|², |φ(z)|²)/N."""
    q0 = float(fixed_point_q(act, sw2, sb2))
    D = np.full(M, q0)
    out = np.empty((2, M, window))
    for l in range(burn + window):
        z = rng.standard_normal((M, N)) * np.sqrt(D)[:, None]
        p = np.mean(np.asarray(act(jnp.asarray(z))) ** 2, axis=1)
        D = sw2 * p + sb2
        if l >= burn:
            out[:, :, l - burn] = np.mean(z**2, axis=1), p
    return out


def band_estimates(eps):
    """eps: (F, M, W) fluctuations → per band: (estimate (F, F) complex, s.e. of real part, s.e. of imag part)."""
    F_, M, Wn = eps.shape
    f = np.fft.fft(eps, axis=-1) / np.sqrt(Wn)
    f = f - f.mean(axis=1, keepdims=True)
    per = np.einsum("amq,bmq->mqab", f, f.conj()) * M / (M - 1)
    out = []
    for lo, hi in BANDS:
        b = per[:, lo:hi].mean(axis=1)  # (M, F, F)
        out.append((b.mean(0), b.real.std(0, ddof=1) / math.sqrt(M), b.imag.std(0, ddof=1) / math.sqrt(M)))
    return out


def band_theory(S):
    return [S[lo:hi].mean(axis=0) for lo, hi in BANDS]


def assert_bands(est, theory, extra=None, label=""):
    """|est − theory| < Z_TOL·s.e. + extra, separately for real and imaginary parts of every component."""
    worst = 0.0
    for i, ((m, se_r, se_i), t) in enumerate(zip(est, theory)):
        tol_extra = 0.0 if extra is None else extra[i]
        for part, se in ((np.real, se_r), (np.imag, se_i)):
            dev = np.abs(part(m) - part(t))
            tol = Z_TOL * se + (np.abs(part(tol_extra)) if extra is not None else 0.0)
            tol = np.where(se > 0, tol, 1e-12 + np.abs(part(t)) * 1e-9)
            worst = max(worst, float(np.max(dev / tol)))
            assert np.all(dev <= tol), f"{label} band {BANDS[i]}: |sim - theory| = {dev} > tol {tol}"
    return worst


# ============================================================================ energies
def test_single_input_energy_is_the_exact_negative_log_density():
    act = "tanh"
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5)
    zs = [rng.standard_normal(4), rng.standard_normal(3), rng.standard_normal(4)]
    sw, sb = [1.3, 1.7, 0.9], [0.1, 0.05, 0.2]
    e = float(lm.energy_single_input(zs, x, activation=act, sw2=sw, sb2=sb))
    ref, prev, fan = 0.0, x, 5
    for l, z in enumerate(zs):
        d = sw[l] * np.sum(prev**2) / fan + sb[l]
        ref -= np.sum(stats.norm.logpdf(z, scale=math.sqrt(d)))
        prev, fan = np.tanh(z), z.size
    assert e == pytest.approx(ref, rel=1e-12)
    # eq. 9 with one input is eq. 10
    e9 = float(lm.energy_multi_input([z[:, None] for z in zs], x[None], activation=act, sw2=sw, sb2=sb))
    assert e9 == pytest.approx(e, rel=1e-12)
    # pluggable data term J_D/2 · loss
    loss = lambda out, t: jnp.sum((out - t) ** 2)  # noqa: E731
    t = np.ones(4)
    ej = float(lm.energy_single_input(zs, x, activation=act, sw2=sw, sb2=sb, loss=loss, target=t, jd=0.5))
    assert ej - e == pytest.approx(0.25 * np.sum((zs[-1] - t) ** 2))
    # differentiable
    g = jax.grad(lambda z0: lm.energy_single_input([z0] + zs[1:], x, activation=act, sw2=sw, sb2=sb))(jnp.asarray(zs[0]))
    assert np.all(np.isfinite(np.asarray(g)))


def test_multi_input_energy_matches_gaussian_density():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    zs = [rng.standard_normal((5, 2)), rng.standard_normal((4, 2))]
    e = float(lm.energy_multi_input(zs, x, activation="erf", sw2=1.5, sb2=0.2))
    sig = 1.5 * x @ x.T / 3 + 0.2
    ref = -np.sum(stats.multivariate_normal(cov=sig).logpdf(zs[0]))
    phi = np.asarray(jax.scipy.special.erf(zs[0]))
    sig = 1.5 * phi.T @ phi / 5 + 0.2
    ref -= np.sum(stats.multivariate_normal(cov=sig).logpdf(zs[1]))
    assert e == pytest.approx(ref, rel=1e-12)


def test_ring_and_radial_energies():
    rng = np.random.default_rng(2)
    N, L, sw2, sb2 = 6, 4, 0.7, 0.1
    consts = []
    for _ in range(2):
        z = rng.standard_normal((L, N)) * rng.uniform(0.5, 2, size=(L, 1))
        r = np.linalg.norm(z, axis=1)
        e11 = float(lm.energy_ring(z, activation="linear", sw2=sw2, sb2=sb2))
        d = sw2 * r**2 / N + sb2
        ref = -sum(np.sum(stats.norm.logpdf(z[l], scale=math.sqrt(d[l - 1]))) for l in range(L))
        assert e11 == pytest.approx(ref, rel=1e-12)
        e12 = float(lm.energy_linear_radial(r, sw2=sw2, sb2=sb2, width=N, exact_jacobian=True))
        consts.append(e11 - e12 - (N - 1) * np.sum(np.log(r)))  # angles integrated out: a constant
    assert consts[0] == pytest.approx(consts[1], rel=1e-12)


def test_relu_orthant_energy_is_the_exact_chain_density():
    rng = np.random.default_rng(3)
    N, sw2, sb2 = 9, 1.2, 0.3
    k = np.array([4.0, 6.0, 3.0])
    rp, rm = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 3)
    e = float(lm.energy_relu_orthant(rp, rm, k, sw2=sw2, sb2=sb2, width=N))
    d = np.roll(sw2 * rp**2 / N + sb2, 1)
    ref = -np.sum(
        stats.binom.logpmf(k, N, 0.5)
        + stats.chi.logpdf(rp / np.sqrt(d), k) - 0.5 * np.log(d)
        + stats.chi.logpdf(rm / np.sqrt(d), N - k) - 0.5 * np.log(d)
    )
    assert e == pytest.approx(ref, rel=1e-12)
    # eq. 79 (k = positives) is eq. 79 printed (k = negatives) with k -> N - k
    a = lm.energy_relu_large_n(rp, rm, k, sw2=sw2, sb2=sb2, width=N)
    b = lm.energy_relu_large_n(rp, rm, N - k, sw2=sw2, sb2=sb2, width=N, k_convention="negative")
    assert float(a) == pytest.approx(float(b), rel=1e-13)


# ============================================================================ saddles
def test_autodiff_saddles_equal_closed_forms():
    for sw2 in (0.3, 0.9):
        m = lm.linear_radial_model(sw2, SB2, N_PAPER)
        assert lm.uniform_saddle(m)[0] == pytest.approx(lm.linear_saddle(sw2, SB2, N_PAPER), rel=1e-10)
        assert lm.paper_linear_saddle(sw2, SB2, N_PAPER) == pytest.approx(m.saddle[0], rel=1e-14)
    for sw2 in (0.5, 1.9):
        m = lm.relu_model(sw2, SB2, N_PAPER)
        x = lm.uniform_saddle(m, x0=[1.0, 3.0, 80.0])  # far from the saddle (log-space Newton)
        ref = lm.relu_saddle(sw2, SB2, N_PAPER)
        np.testing.assert_allclose(x, [ref["r+"], ref["r-"], ref["k"]], rtol=1e-9)
        assert lm.paper_relu_saddle(sw2, SB2, N_PAPER) == pytest.approx(ref)


@pytest.mark.parametrize("act,sw2,sb2", [("tanh", 1.5, 0.05), ("relu", 1.3, 0.01)])
def test_numerical_collective_saddle_is_mean_field(act, sw2, sb2):
    m = lm.collective_model(act, sw2, sb2, N_PAPER)  # Newton from (1, E φ²(1))
    q = float(fixed_point_q(act, sw2, sb2))
    assert m.saddle[0] == pytest.approx(q, rel=1e-8)
    if len(m.saddle) == 2:
        from nnft.activations import get_activation

        assert m.saddle[1] == pytest.approx(float(get_activation(act).second_moment(q)), rel=1e-8)


# ============================================================================ Gaussian theory
def _block_circulant(a0, a1, L):
    F = a0.shape[0]
    H = np.zeros((L * F, L * F))
    for l in range(L):
        H[l * F:(l + 1) * F, l * F:(l + 1) * F] = a0
        p = (l - 1) % L
        H[l * F:(l + 1) * F, p * F:(p + 1) * F] += a1
        H[p * F:(p + 1) * F, l * F:(l + 1) * F] += a1.T
    return H


def test_ring_hessian_is_block_circulant():
    models = [lm.linear_radial_model(0.8, SB2, 50), lm.relu_model(1.4, SB2, 50)]
    for m in models:
        a0, a1 = lm.hessian_blocks(m)
        np.testing.assert_allclose(lm.ring_hessian(m, 3), _block_circulant(a0, a1, 3), rtol=1e-9, atol=1e-9 * np.abs(a0).max())


def test_linear_hessian_is_eq14_and_spectrum_is_eq15():
    sw2 = 0.82
    q = SB2 / (1 - sw2)
    a0, a1 = lm.hessian_blocks(lm.linear_radial_model(sw2, SB2, N_PAPER))
    assert a0[0, 0] == pytest.approx(2 * (1 + sw2**2) / q, rel=1e-12)  # eq. 14: (Δw/σb²)(1+σw⁴)·2
    assert a1[0, 0] == pytest.approx(-2 * sw2 / q, rel=1e-12)
    qs = np.linspace(0, np.pi, 7)
    fs = lm.fluctuation_spectrum("linear", sw2, SB2, qs, width=N_PAPER)
    assert fs.covariance.shape == (7, 1, 1) and fs.fields == ("r",)
    np.testing.assert_allclose(fs.covariance[:, 0, 0].real, lm.paper_linear_spectrum(qs, sw2, SB2), rtol=1e-12)
    np.testing.assert_allclose(
        lm.paper_linear_inverse_covariance(qs, sw2, SB2, W) / W, 1 / lm.paper_linear_spectrum(qs, sw2, SB2), rtol=1e-12
    )
    # the collective field q = r²/N: δq = (2r*/N) δr
    fq = lm.fluctuation_spectrum("linear", sw2, SB2, qs, width=N_PAPER, fields="q")
    r = lm.linear_saddle(sw2, SB2, N_PAPER)
    np.testing.assert_allclose(fq.covariance[:, 0, 0].real, (2 * r / N_PAPER) ** 2 * fs.covariance[:, 0, 0].real, rtol=1e-7)


def test_relu_hessian_is_eq94_and_corrects_eq22():
    sw2, N = 1.3, N_PAPER
    d = SB2 / (1 - sw2 / 2)
    r = math.sqrt(N * d / 2)
    a0, a1 = lm.hessian_blocks(lm.relu_model(sw2, SB2, N))
    # eq. 94 (appendix), k = positive count: the k–r± couplings change sign relative to the printed k = negatives
    np.testing.assert_allclose(np.diag(a0), [(2 + sw2**2) / d, 2 / d, 6 / N], rtol=1e-10)
    np.testing.assert_allclose([a0[0, 2], a0[1, 2], a0[0, 1]], [-1 / r, 1 / r, 0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a1, [[-sw2 / d, 0, 0], [-sw2 / d, 0, 0], [0, 0, 0]], rtol=1e-10, atol=1e-14)
    qs = np.array([0.0, 0.7, 2.0])
    fs = lm.fluctuation_spectrum("relu", sw2, SB2, qs, width=N, rescaled=True)
    inv = fs.inverse_covariance
    # eq. 22 in nnft conventions would be conj (q -> -q) with the k row/column negated; ours has the k block doubled
    printed = lm.paper_relu_inverse_covariance(-qs, sw2) * np.array([1, 1, -1])[None, :, None] * np.array([1, 1, -1])[None, None, :]
    np.testing.assert_allclose(inv[:, :2, :2], printed[:, :2, :2], atol=1e-10)
    np.testing.assert_allclose(inv[:, 2, :], 2 * printed[:, 2, :], atol=1e-10)
    # Var k = N/4 exactly (k ~ Bin(N, 1/2), iid across layers): S_kk(q) = 1/4 in ε̃_k = ε_k/√N
    np.testing.assert_allclose(fs.covariance[:, 2, 2].real, 0.25, rtol=1e-10)
    assert np.all(lm.paper_relu_spectrum(qs, sw2)[:, 2, 2].real > 0.35)


@pytest.mark.parametrize("act,sw2,sb2", [("tanh", 1.5, 0.05), ("erf", 1.2, 0.2)])
def test_collective_theory_matches_ar1_arma_closed_form(act, sw2, sb2):
    qs = np.linspace(0, np.pi, 9)
    fs = lm.fluctuation_spectrum(act, sw2, sb2, qs, width=N_PAPER)
    cf = lm.collective_closed_form(act, sw2, sb2, qs, width=N_PAPER)
    np.testing.assert_allclose(fs.component("q", "q").real, cf["qq"], rtol=1e-6)
    np.testing.assert_allclose(sw2**2 * fs.component("p", "p").real, cf["DD"], rtol=1e-6)  # D = σb² + σw² p: AR(1)
    assert cf["chi_par"] == pytest.approx(float(chi_par(act, sw2, sb2)), rel=1e-10)


def test_relu_three_field_theory_projects_to_collective_fields():
    sw2, N = 1.6, N_PAPER
    qs = np.linspace(0, np.pi, 5)
    three = lm.fluctuation_spectrum("relu", sw2, SB2, qs, width=N)
    two = lm.fluctuation_spectrum("relu", sw2, SB2, qs, width=N, fields=("q", "p"))
    r = three.saddle["r+"]
    J = (2 * r / N) * np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # δq = (2r/N)(ε₊+ε₋), δp = (2r/N)ε₊
    proj = np.einsum("ia,qab,jb->qij", J, three.covariance, J)
    np.testing.assert_allclose(two.covariance, proj, rtol=1e-5, atol=1e-12)


def test_windowed_spectrum_tends_to_ring_spectrum():
    fs = lm.fluctuation_spectrum("relu", 1.0, SB2, [0.0], width=N_PAPER)
    qs = 2 * np.pi * np.arange(8) / 8
    for Wn, tol in ((64, 0.2), (4096, 3e-3)):
        q_, S = lm.windowed_spectrum(fs.blocks, Wn, qs)
        ring = lm.fluctuation_spectrum("relu", 1.0, SB2, qs, width=N_PAPER).covariance
        rel = np.abs(S - ring).max() / np.abs(ring).max()
        assert rel < tol


# ============================================================================ EFT and correlation lengths
def test_eft_linear_is_eq16_and_xi():
    for sw2 in (0.5, 0.98):
        eft = lm.eft_expansion(lm.linear_radial_model(sw2, SB2, N_PAPER))
        p = lm.paper_linear_eft(sw2, SB2)
        assert eft.mass[0, 0] == pytest.approx(p["mass"], rel=1e-10)
        assert eft.stiffness[0, 0] == pytest.approx(p["stiffness"], rel=1e-10)
        assert eft.drift[0, 0] == pytest.approx(0.0, abs=1e-12)
        xi = lm.correlation_lengths("linear", sw2, SB2)
        assert xi["eft"] == pytest.approx(math.sqrt(sw2) / (1 - sw2), rel=1e-9) and xi["paper"] == pytest.approx(xi["eft"])
        assert xi["lattice"] == pytest.approx(-1 / math.log(sw2), rel=1e-9) == xi["mean_field"]


def test_eft_relu_and_paper_eq23_errata():
    sw2 = 1.2
    model = lm.relu_model(sw2, SB2, N_PAPER)
    eft = lm.eft_expansion(model)
    s = 1 / model.scales  # to ε̃ units
    m0 = eft.mass * np.outer(s, s)
    g = eft.drift * np.outer(s, s)
    k2 = eft.stiffness * np.outer(s, s)
    # derived (k = positives): on-site ε₊ε₋ coupling −σw²/2 (inside ½∫[...] the cross term is −σw² ε₊ε₋)
    np.testing.assert_allclose(m0, [[1 - sw2 + sw2**2 / 2, -sw2 / 2, -1], [-sw2 / 2, 1, 1], [-1, 1, 6]], atol=1e-10)
    np.testing.assert_allclose(k2, [[sw2 / 2, sw2 / 4, 0], [sw2 / 4, 0, 0], [0, 0, 0]], atol=1e-10)
    np.testing.assert_allclose(g, [[0, -sw2 / 2, 0], [sw2 / 2, 0, 0], [0, 0, 0]], atol=1e-10)  # = σw² ε₋ ∂ε₊ (eq. 23 ok)
    p = lm.paper_relu_eft(sw2)
    assert p.mass[0, 1] == pytest.approx(+sw2 / 2) and p.stiffness[0, 0] == pytest.approx(sw2)  # printed sign / factor 2
    xi = lm.correlation_lengths("relu", sw2, SB2)
    assert xi["lattice"] == pytest.approx(-1 / math.log(sw2 / 2), rel=1e-9)
    assert xi["mean_field"] == pytest.approx(xi["lattice"], rel=1e-9)
    assert 0.5 < xi["eft"] / xi["lattice"] < 2


# ============================================================================ exact finite-N references
def test_linear_exact_reference_against_closed_form():
    sw2, Wn = 0.9, 256
    qs = 2 * np.pi * np.arange(Wn) / Wn
    ex = lm.linear_exact_spectrum(sw2, SB2, N_PAPER, qs, observable="q", window=Wn)
    closed = lm.linear_exact_spectrum(sw2, SB2, N_PAPER, observable="q")
    var_s = closed["variance"]
    k = np.arange(1, Wn)
    c = var_s * sw2**k
    ref = var_s + 2 * np.sum(((1 - k / Wn) * c)[:, None] * np.cos(np.outer(k, qs)), axis=0)
    np.testing.assert_allclose(ex["spectrum"], ref, rtol=2e-3)
    assert ex["variance"] == pytest.approx(var_s, rel=1e-3)


def test_relu_exact_reference_moments():
    ex = lm.relu_exact_spectrum(1.6, SB2, N_PAPER, [0.0, 1.0, 3.0], window=128, grid=300, rescaled=True)
    assert ex["mean_D"] == pytest.approx(SB2 / (1 - 0.8), rel=1e-8)  # E D = q* exactly at any N
    np.testing.assert_allclose(ex["covariance"][:, 2, 2].real, 0.25, rtol=1e-8)  # k iid Bin(N, 1/2)


# ============================================================================ simulation
@pytest.mark.parametrize("sw2", [0.5, 0.9, 0.98])
def test_linear_spectrum_vs_exact_simulation(sw2):
    rng = np.random.default_rng(int(1000 * sw2))
    M = 200
    r = sample_linear(rng, sw2, SB2, N_PAPER, M, BURN, W)
    r_star = lm.linear_saddle(sw2, SB2, N_PAPER)
    est = band_estimates((r - r_star)[None])
    fs = lm.fluctuation_spectrum("linear", sw2, SB2, [0.0], width=N_PAPER)
    qs, gauss = lm.windowed_spectrum(fs.blocks, W)
    exact = lm.linear_exact_spectrum(sw2, SB2, N_PAPER, qs, observable="r", window=W, grid=500)["spectrum"][:, None, None]
    assert_bands(est, band_theory(exact), label=f"linear exact sw2={sw2}")
    theory_err = [np.abs(e - g) for e, g in zip(band_theory(exact), band_theory(gauss))]
    assert_bands(est, band_theory(gauss), extra=theory_err, label=f"linear Gaussian sw2={sw2}")
    # the O(1/N) difference is within the documented bound (1/N + v) of the Gaussian theory
    err = lm.gaussian_theory_error("linear", sw2, SB2, width=N_PAPER)
    assert np.all(np.abs(exact - gauss) <= err * np.abs(gauss))


@pytest.mark.parametrize("sw2,N", [(0.34, N_PAPER), (1.3, N_PAPER), (1.94, N_PAPER), (1.94, 20000)])
def test_relu_spectral_matrix_vs_exact_simulation(sw2, N):
    rng = np.random.default_rng(int(100 * sw2) + N)
    M = 200
    x = sample_relu(rng, sw2, SB2, N, M, BURN, W)
    fs = lm.fluctuation_spectrum("relu", sw2, SB2, [0.0], width=N, rescaled=True)
    sc = fs.scales
    sad = np.array([fs.saddle[f] for f in fs.fields])
    est = band_estimates((x - sad[:, None, None]) * sc[:, None, None])
    qs, gauss = lm.windowed_spectrum(fs.blocks, W)
    gauss = gauss * np.outer(sc, sc)[None]
    exact = lm.relu_exact_spectrum(sw2, SB2, N, qs, window=W, rescaled=True, grid=300)["covariance"]
    assert_bands(est, band_theory(exact), label=f"relu exact sw2={sw2} N={N}")
    theory_err = [np.abs(e - g) for e, g in zip(band_theory(exact), band_theory(gauss))]
    assert_bands(est, band_theory(gauss), extra=theory_err, label=f"relu Gaussian sw2={sw2} N={N}")
    err = lm.gaussian_theory_error("relu", sw2, SB2, width=N)
    scale = np.sqrt(np.einsum("qa,qb->qab", np.diagonal(gauss, axis1=1, axis2=2).real, np.diagonal(gauss, axis1=1, axis2=2).real))
    assert np.all(np.abs(exact - gauss) <= err * scale)
    # the printed eq. 22 is rejected by the simulation: its k–k variance is 0.4 instead of 1/4
    paper = lm.paper_relu_spectrum(qs, sw2)
    (m, se, _), pk = band_estimates((x - sad[:, None, None]) * sc[:, None, None])[2], band_theory(paper)[2]
    assert abs(m[2, 2].real - pk[2, 2].real) > 10 * se[2, 2]


def test_k_convention_of_the_printed_formulas_is_negative_count():
    rng = np.random.default_rng(7)
    sw2 = 0.98
    x = sample_relu(rng, sw2, SB2, N_PAPER, 100, 64, 256)  # k = number of positive units
    eps = x - np.array([lm.relu_saddle(sw2, SB2, N_PAPER)[f] for f in lm.RELU_FIELDS])[:, None, None]
    cov_pk = np.mean(eps[0] * eps[2]) / (np.std(eps[0]) * np.std(eps[2]))
    assert cov_pk > 0.2  # more positive units, larger r₊
    printed = lm.paper_relu_spectrum([0.5], sw2, convention="paper")[0]
    assert printed[0, 2].real < 0  # the printed ε_k is anti-correlated with ε₊: k counts negative units
    derived = lm.fluctuation_spectrum("relu", sw2, SB2, [0.5], width=N_PAPER).covariance[0]
    assert derived[0, 2].real > 0


def test_tanh_collective_spectrum_vs_exact_lattice_simulation():
    act, sw2, sb2, N, M, Wn = "tanh", 1.5, 0.05, N_PAPER, 160, 256
    rng = np.random.default_rng(11)
    from nnft.activations import get_activation

    x = sample_lattice_collective(rng, get_activation(act), sw2, sb2, N, M, 48, Wn)
    fs = lm.fluctuation_spectrum(act, sw2, sb2, [0.0], width=N, rescaled=True)
    sad = np.array([fs.saddle[f] for f in fs.fields])
    sc = fs.scales
    global BANDS
    saved, BANDS = BANDS, [(1, 8), (8, 32), (32, Wn // 2 + 1)]
    try:
        est = band_estimates((x - sad[:, None, None]) * sc[:, None, None])
        qs, gauss = lm.windowed_spectrum(fs.blocks, Wn)
        gauss = gauss * np.outer(sc, sc)[None]
        # documented theory error (1/N + v) relative to the component scale, validated on linear and ReLU
        err = lm.gaussian_theory_error(act, sw2, sb2, width=N)
        th = band_theory(gauss)
        extra = [err * np.sqrt(np.outer(np.diag(t).real, np.diag(t).real)) for t in th]
        assert_bands(est, th, extra=extra, label="tanh collective")
    finally:
        BANDS = saved


# ============================================================================ validation
def test_invalid_inputs():
    with pytest.raises(NNFTInputError, match="sw2"):
        lm.linear_saddle(1.0, SB2, 10)
    with pytest.raises(NNFTInputError, match="sw2"):
        lm.relu_saddle(2.5, SB2, 10)
    with pytest.raises(NNFTInputError, match="fields"):
        lm.fluctuation_spectrum("tanh", 1.5, 0.05, [0.0], fields=("r",))
    with pytest.raises(NNFTInputError, match="activation"):
        lm.fluctuation_spectrum("gauss", 1.5, 0.05, [0.0])
    with pytest.raises(NNFTInputError, match="k_convention"):
        lm.energy_relu_large_n([1.0], [1.0], [2.0], sw2=1.0, sb2=0.1, width=4, k_convention="up")


# ============================================================================ the ring itself (MCMC)
def _ring_bands(samples, saddle, scales, bands):
    """samples (C, D, F, L) → per band (estimate, s.e. re, s.e. im) with the spread over independent chains."""
    eps = (samples - saddle[None, None, :, None]) * scales[None, None, :, None]
    L = eps.shape[-1]
    f = np.fft.fft(eps, axis=-1) / np.sqrt(L)
    f = f - f.mean(axis=(0, 1), keepdims=True)
    per = np.einsum("cdaq,cdbq->cqab", f, f.conj()) / f.shape[1]  # chain-level averages: independent
    C = per.shape[0]
    out = []
    for lo, hi in bands:
        b = per[:, lo:hi].mean(axis=1)
        out.append((b.mean(0), b.real.std(0, ddof=1) / math.sqrt(C), b.imag.std(0, ddof=1) / math.sqrt(C)))
    return out


@pytest.mark.parametrize("kind,sw2", [("linear", 0.9), ("relu", 1.6)])
def test_ring_mcmc_spectrum_equals_open_chain_bulk(kind, sw2):
    from nnft.sampling.ring import sample_ring

    L, N = 64, N_PAPER
    rs = sample_ring(kind, sw2, SB2, width=N, length=L, chains=12, draws=150, burn=60, key=jax.random.key(5))
    assert rs.accept.mean() > 0.6
    qs = 2 * np.pi * np.arange(L) / L
    bands = [(1, 3), (3, 10), (10, L // 2 + 1)]
    if kind == "linear":
        exact = lm.linear_exact_spectrum(sw2, SB2, N, qs, observable="r")["spectrum"][:, None, None]
        scales = np.ones(1)
    else:
        exact = lm.relu_exact_spectrum(sw2, SB2, N, qs, rescaled=True, grid=300)["covariance"]
        scales = lm.relu_model(sw2, SB2, N).scales
    est = _ring_bands(rs.samples, rs.saddle, scales, bands)
    global BANDS
    saved, BANDS = BANDS, bands
    try:
        assert_bands(est, [exact[lo:hi].mean(0) for lo, hi in bands], label=f"ring {kind}")
    finally:
        BANDS = saved
