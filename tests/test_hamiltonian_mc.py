"""Monte Carlo on finite random MLPs as Hamiltonians (nnft.hamiltonian_mc), issue 7 item 3.

Tolerances: 4 standard errors. Allowances:
* covariance: none — for depth 1 the first-layer pre-activations are exactly Gaussian given x, so
  E[H(x)H(y)] = N0 G(q; d) holds at any hidden width; for the linear net at any depth E[u u^T] = b/N0 I
  exactly (independent Gaussian layers).
* linear net, convention A: the Gibbs measure of H(x) = √N0 u·x under N(0, I) is N(-β√N0 u, I), so
  <e> = -β|u|² and <d> = 1 + β²|u|² + ... exactly (<d> = 1 + β²|u|²); averaging over networks,
  E|u|² = b = C_W^{L+1} exactly, hence E_θ<e> = -βb and E_θ<d> = 1 + β²b with NO finite-N0 or
  finite-width correction. The s.e. is the network-to-network spread.
* exactness of the samplers (one network, per β of a PT ladder): the linear net on the sphere |x|² = N0 is a
  von Mises–Fisher law, density ∝ exp(-β√N0 u·x) = exp(κ t) with t = -û·x/√N0 and κ = β N0 |u|, so
  <t> = I_{N0/2}(κ)/I_{N0/2-1}(κ) exactly (any N0); nonlinear nets at N0 = 3 (sphere) and N0 = 2 (A) against
  deterministic quadrature (error < 1e-8). No allowance: the s.e. is from 20 batch means of the chain
  (autocorrelation accounted for), replicas being independent chains.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ive

from nnft.errors import NNFTInputError
from nnft.hamiltonian import hamiltonian_covariance
from nnft.hamiltonian_mc import (_geodesic_integrate, _leapfrog_integrate, batch_mean_error, gibbs_sample,
                                 overlap_histogram, overlap_summary, pair_swap_rates, round_trips, sample_mlp)
from nnft.theory.replica import solve_rs

Z = 4.0


def _pair(n0, q, key):
    a, b = jax.random.normal(key, (2, n0))
    a = a / jnp.linalg.norm(a)
    b = b - (b @ a) * a
    b = b / jnp.linalg.norm(b)
    x = jnp.sqrt(n0) * a
    y = jnp.sqrt(n0) * (q * a + jnp.sqrt(1 - q * q) * b)
    return x, y


def _energies(act, depth, n0, width, n_nets, x, y, sw2=1.0):
    def one(k):
        net = sample_mlp(k, n0, width, depth=depth, activation=act, sw2=sw2)
        return jnp.stack([net.energy(x), net.energy(y)])

    return np.asarray(jax.lax.map(one, jax.random.split(jax.random.PRNGKey(7), n_nets)))


def test_covariance_matches_xi():
    n0, q = 30, 0.6
    x, y = _pair(n0, q, jax.random.PRNGKey(3))
    for act, depth, sw2 in [("tanh", 1, 1.5), ("sin", 1, 1.0), ("linear", 2, 1.0)]:
        cov = hamiltonian_covariance(act, depth=depth, sw2=sw2)
        h = _energies(act, depth, n0, 128, 3000, x, y, sw2=sw2)
        for prod, target in [(h[:, 0] * h[:, 1], cov.xi(q, 1.0)), (h[:, 0] ** 2, cov.xi(1.0, 1.0))]:
            est, se = prod.mean() / n0, prod.std() / n0 / np.sqrt(len(prod))
            assert abs(est - float(target)) < 4 * se, (act, est, se, float(target))


def test_linear_convention_A_matches_exact_and_solver():
    betas = np.array([0.0, 1.0, 2.0])
    depth, b = 1, 1.0
    E, D = [], []
    for s in range(8):
        net = sample_mlp(jax.random.PRNGKey(s), 60, 128, depth=depth, activation="linear")
        r = gibbs_sample(net, betas, jax.random.PRNGKey(100 + s), replicas=2, n_sweeps=800, burn_in=200)
        E.append(r.e.mean(axis=(0, 2)))
        D.append(r.d.mean(axis=(0, 2)))
        # per-network exact check (detailed balance): <e> = -β|u|², u = effective linear map / √N0
        u = (net.layers[1][0] @ net.layers[0][0])[0]
        u2 = float(u @ u)
        eb = r.e.reshape(10, -1, len(betas), r.e.shape[-1]).mean(axis=(1, 3))  # batch means
        se = eb.std(0) / np.sqrt(10) + 1e-3
        assert np.all(np.abs(eb.mean(0) + betas * u2) < 4 * se + 0.02 * betas * u2), (eb.mean(0), -betas * u2)
    E, D = np.array(E), np.array(D)
    cov = hamiltonian_covariance("linear", depth=depth)
    for i, beta in enumerate(betas):
        se_e, se_d = E[:, i].std() / np.sqrt(len(E)) + 1e-3, D[:, i].std() / np.sqrt(len(D)) + 1e-3
        assert abs(E[:, i].mean() + beta * b) < 4 * se_e
        assert abs(D[:, i].mean() - (1 + beta**2 * b)) < 4 * se_d
        if beta > 0:
            sol = solve_rs(cov, beta, "A")
            assert abs(E[:, i].mean() - sol.energy) < 4 * se_e
            assert abs(D[:, i].mean() - sol.d) < 4 * se_d


def test_beta_zero_reference_measure():
    net = sample_mlp(jax.random.PRNGKey(1), 50, 64, depth=1, activation="tanh")
    r = gibbs_sample(net, [0.0], jax.random.PRNGKey(2), replicas=4, n_sweeps=1200, burn_in=200, thin=10)
    # reference N(0, I): d = |x|²/N0 has mean 1, var 2/N0; replica overlaps have mean 0, var 1/N0
    assert abs(r.d.mean() - 1) < 4 * np.sqrt(2 / 50 / r.d.size) * 3  # ×3: autocorrelation allowance
    assert abs(r.q.mean()) < 4 * np.sqrt(1 / 50 / r.q.size) * 3
    for method in ("hmc", "metropolis"):
        rb = gibbs_sample(net, [0.0], jax.random.PRNGKey(2), convention="B", replicas=4, n_sweeps=600, burn_in=100,
                          thin=10, method=method, n_leapfrog=4)
        assert np.allclose(rb.d, 1.0)
        assert rb.accept[0] == 1.0  # β = 0: the move is exact (geodesic flow / symmetric proposal)
        assert abs(rb.q.mean()) < 4 * np.sqrt(1 / 50 / rb.q.size) * 3
    h, c = overlap_histogram(rb.q)
    assert np.isclose(h.sum() * (c[1] - c[0]), 1.0)


# ---------------------------------------------------------------------------------------------- integrators
def _tanh_force(n0):
    net = sample_mlp(jax.random.PRNGKey(5), n0, 40, depth=1, activation="tanh", sw2=2.0)
    vg = jax.vmap(jax.value_and_grad(net.energy))
    return net, vg, (lambda x, g: 1.5 * g)  # U = 1.5 H


def test_geodesic_integrator_reversible_volume_consistent():
    n0 = 20
    r = float(np.sqrt(n0))
    net, vg, force = _tanh_force(n0)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, n0))
    x = r * x / jnp.linalg.norm(x, axis=-1, keepdims=True)
    v = jax.random.normal(jax.random.PRNGKey(1), (3, n0))
    v = v - jnp.sum(v * x, -1, keepdims=True) * x / n0
    H0, g0 = vg(x)
    E0 = 1.5 * H0 + 0.5 * jnp.sum(v * v, -1)
    errs = []
    for eps in (0.02, 0.01):
        y, w, Hy, gy = _geodesic_integrate(vg, force, x, v, H0, g0, eps, int(0.4 / eps), r)
        assert np.allclose(jnp.linalg.norm(y, axis=-1), r, rtol=1e-13)  # stays on the sphere
        assert np.allclose(jnp.sum(y * w, -1), 0.0, atol=1e-11)  # velocity tangent
        np.testing.assert_allclose(Hy, jax.vmap(net.energy)(y), rtol=1e-12)
        errs.append(np.abs(1.5 * Hy + 0.5 * jnp.sum(w * w, -1) - E0).max())
        # time reversal: flip v, integrate back, recover the start
        xb, vb, _, _ = _geodesic_integrate(vg, force, y, -w, Hy, gy, eps, int(0.4 / eps), r)
        np.testing.assert_allclose(xb, x, atol=1e-10)
        np.testing.assert_allclose(-vb, v, atol=1e-10)
    assert errs[0] < 0.05 and 2.5 < errs[0] / errs[1] < 6  # second-order energy error
    # β = 0 (no force): exact great circle, conserves |v| and returns after a full period 2πr/|v|
    s = jnp.linalg.norm(v, axis=-1)
    zero = lambda x, g: 0.0 * g  # noqa: E731
    n = 1000
    y, w, _, _ = _geodesic_integrate(vg, zero, x, v / s[:, None], H0, g0, 2 * np.pi * r / n, n, r)
    np.testing.assert_allclose(y, x, atol=1e-9)


def test_leapfrog_integrator_reversible():
    n0 = 20
    net, vg, force = _tanh_force(n0)
    forceA = lambda x, g: x + force(x, g)  # noqa: E731
    x = jax.random.normal(jax.random.PRNGKey(0), (3, n0))
    p = jax.random.normal(jax.random.PRNGKey(1), (3, n0))
    H0, g0 = vg(x)
    y, w, Hy, gy = _leapfrog_integrate(vg, forceA, x, p, H0, g0, 0.05, 20)
    xb, pb, _, _ = _leapfrog_integrate(vg, forceA, y, -w, Hy, gy, 0.05, 20)
    np.testing.assert_allclose(xb, x, atol=1e-10)
    np.testing.assert_allclose(-pb, p, atol=1e-10)


# ---------------------------------------------------------------------------------------------- exactness
def _check(samples, exact, label):
    """samples: (S, T, R) → per-β batch means over time (replicas averaged: independent chains)."""
    mu, se = batch_mean_error(samples.mean(-1), 20)
    assert np.all(np.abs(mu - exact) < Z * se), (label, mu, se, exact)


@pytest.mark.parametrize("method", ["hmc", "metropolis"])
def test_sphere_linear_net_is_von_mises_fisher(method):
    n0 = 40
    net = sample_mlp(jax.random.PRNGKey(11), n0, 64, depth=1, activation="linear")
    u = np.asarray((net.layers[1][0] @ net.layers[0][0])[0])
    un = np.linalg.norm(u)
    betas = np.array([0.02, 0.1, 0.4, 1.5])
    kappa = betas * n0 * un  # exp(-β√N0 u·x) on |x| = √N0  =  exp(κ t),  t = -û·x/√N0
    A = ive(n0 / 2, kappa) / ive(n0 / 2 - 1, kappa)
    r = gibbs_sample(net, betas, jax.random.PRNGKey(12), convention="B", method=method, replicas=4,
                     n_sweeps=2500, burn_in=500, thin=1, adapt_step=True, n_leapfrog=5)
    assert np.all(r.accept > 0.2) and np.all(r.step > 0)
    _check(r.e, -un * A, method)  # e = H/N0 = -|u| t
    var_t = 1 - A**2 - (n0 - 1) / kappa * A  # Var t = A'(κ)
    t = -r.e / un
    _check((t - A[:, None]) ** 2, var_t, method + " var")


def _sphere_quadrature(net, betas, n_t=160, n_phi=320):
    """<e> and |<x>|²/N0 (= <q_ab>, independent replicas) on the sphere |x|² = 3: Gauss–Legendre × uniform φ."""
    tt, wt = np.polynomial.legendre.leggauss(n_t)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    T, P = np.meshgrid(tt, phi, indexing="ij")
    s = np.sqrt(1 - T**2)
    x = np.sqrt(3.0) * np.stack([s * np.cos(P), s * np.sin(P), T], -1).reshape(-1, 3)
    w = np.repeat(wt, n_phi)
    H = np.asarray(jax.vmap(net.energy)(jnp.asarray(x)))
    out = []
    for b in betas:
        p = w * np.exp(-b * (H - H.min()))
        p /= p.sum()
        m = p @ x
        out.append((p @ H / 3, m @ m / 3))
    return np.array(out).T


@pytest.mark.parametrize("method", ["hmc", "metropolis"])
def test_sphere_nonlinear_exact_quadrature(method):
    net = sample_mlp(jax.random.PRNGKey(21), 3, 16, depth=1, activation="sin", sw2=4.0)
    betas = np.array([0.1, 0.3, 0.6, 1.0])
    e_ex, q_ex = _sphere_quadrature(net, betas)
    r = gibbs_sample(net, betas, jax.random.PRNGKey(22), convention="B", method=method, replicas=4,
                     n_sweeps=4000, burn_in=500, thin=1, adapt_step=True, n_leapfrog=4)
    _check(r.e, e_ex, method + " e")
    _check(r.q, q_ex, method + " q")  # replicas are independent chains: <q_ab> = |<x>|²/N0


def test_convention_A_hmc_linear_exact():
    n0 = 30
    net = sample_mlp(jax.random.PRNGKey(31), n0, 64, depth=1, activation="linear")
    u = np.asarray((net.layers[1][0] @ net.layers[0][0])[0])
    u2 = float(u @ u)
    betas = np.array([0.0, 0.5, 1.5])
    r = gibbs_sample(net, betas, jax.random.PRNGKey(32), method="hmc", replicas=4, n_sweeps=1500, burn_in=300,
                     thin=1, n_leapfrog=5, adapt_step=True)
    _check(r.e, -betas * u2, "A hmc e")  # x ~ N(-β√N0 u, I)
    _check(r.d, 1 + betas**2 * u2, "A hmc d")


def _plane_quadrature(net, betas, L=9.0, n=241):
    g = np.linspace(-L, L, n)
    X = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    H = np.asarray(jax.vmap(net.energy)(jnp.asarray(X)))
    out = []
    for b in betas:
        lw = -0.5 * (X**2).sum(1) - b * H
        p = np.exp(lw - lw.max())
        p /= p.sum()
        out.append((p @ H / 2, p @ (X**2).sum(1) / 2))
    return np.array(out).T


@pytest.mark.parametrize("method", ["hmc", "mala"])
def test_convention_A_nonlinear_exact_quadrature(method):
    net = sample_mlp(jax.random.PRNGKey(41), 2, 16, depth=1, activation="tanh", sw2=2.0)
    betas = np.array([0.0, 0.5, 1.0])
    e_ex, d_ex = _plane_quadrature(net, betas)
    r = gibbs_sample(net, betas, jax.random.PRNGKey(42), method=method, replicas=4, n_sweeps=4000, burn_in=500,
                     thin=1, n_leapfrog=4, adapt_step=True)
    _check(r.e, e_ex, method + " e")
    _check(r.d, d_ex, method + " d")


# ---------------------------------------------------------------------------------------------- API
def test_input_validation():
    net = sample_mlp(jax.random.PRNGKey(0), 5, 8)
    k = jax.random.PRNGKey(1)
    bad = [dict(method="nuts"), dict(method="metropolis"), dict(convention="B", method="mala"), dict(convention="C"),
           dict(n_leapfrog=0), dict(n_leapfrog=2.5), dict(step=-0.1), dict(step=[0.1, 0.2, 0.3]),
           dict(step=np.nan), dict(burn_in=10, n_sweeps=10), dict(thin=0), dict(replicas=0),
           dict(x0=np.zeros((1, 2, 4)))]
    for kw in bad:
        with pytest.raises(NNFTInputError):
            gibbs_sample(net, [0.5, 1.0], k, n_sweeps=kw.pop("n_sweeps", 20), burn_in=kw.pop("burn_in", 5), **kw)
    with pytest.raises(NNFTInputError):
        gibbs_sample(net, [-1.0], k, n_sweeps=20, burn_in=5)
    r = gibbs_sample(net, [0.5, 1.0], k, convention="B", n_sweeps=20, burn_in=5, thin=1)
    assert r.method == "hmc" and r.e.shape == (15, 2, 4) and r.walker.shape == (15, 2, 4)
    assert r.x.shape == (2, 4, 5) and np.allclose(np.linalg.norm(r.x, axis=-1), np.sqrt(5))
    assert gibbs_sample(net, [0.5], k, n_sweeps=20, burn_in=5).method == "mala"


def test_helpers():
    s = overlap_summary(np.array([0.1, 0.2, 0.8, 0.9, 0.7]), 0.5)
    assert s["frac_below"] == pytest.approx(0.4) and s["mean_below"] == pytest.approx(0.15)
    assert s["mean_above"] == pytest.approx(0.8) and s["n"] == 5
    # 3 temperatures, perfect alternating exchanges (0,1), (1,2), ...: slot → walker labels
    labels, w = [0, 1, 2], [[0, 1, 2]]
    for k in range(6):
        i = k % 2
        labels[i], labels[i + 1] = labels[i + 1], labels[i]
        w.append(list(labels))
    w = np.array(w)[:, :, None]
    # walker 0 visits slots 0,1,2,2,1,0,0 (one round trip), walker 2: 2,2,1,0,0,1,2 (one), walker 1: 1,0,0,1,2,2,1 (none)
    assert round_trips(w)[0] == 2
    np.testing.assert_allclose(pair_swap_rates(w), [1.0, 1.0])  # every attempt (every other sweep) accepted
    x = np.random.default_rng(0).normal(size=(1000, 3))
    mu, se = batch_mean_error(x, 10)
    assert mu.shape == (3,) and np.all(se > 0) and np.all(np.abs(mu) < 5 * se)
