"""Monte Carlo on finite random MLPs as Hamiltonians (nnft.hamiltonian_mc), issue 7 item 3.

Tolerances: 4 standard errors. Allowances:
* covariance: none — for depth 1 the first-layer pre-activations are exactly Gaussian given x, so
  E[H(x)H(y)] = N0 G(q; d) holds at any hidden width; for the linear net at any depth E[u u^T] = b/N0 I
  exactly (independent Gaussian layers).
* linear net, convention A: the Gibbs measure of H(x) = √N0 u·x under N(0, I) is N(-β√N0 u, I), so
  <e> = -β|u|² and <d> = 1 + β²|u|² + ... exactly (<d> = 1 + β²|u|²); averaging over networks,
  E|u|² = b = C_W^{L+1} exactly, hence E_θ<e> = -βb and E_θ<d> = 1 + β²b with NO finite-N0 or
  finite-width correction. The s.e. is the network-to-network spread.
"""

import jax
import jax.numpy as jnp
import numpy as np

from nnft.hamiltonian import hamiltonian_covariance
from nnft.hamiltonian_mc import gibbs_sample, overlap_histogram, sample_mlp
from nnft.theory.replica import solve_rs


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
    rb = gibbs_sample(net, [0.0], jax.random.PRNGKey(2), convention="B", replicas=4, n_sweeps=600, burn_in=100, thin=10)
    assert np.allclose(rb.d, 1.0)
    assert rb.accept[0] == 1.0
    assert abs(rb.q.mean()) < 4 * np.sqrt(1 / 50 / rb.q.size) * 3
    h, c = overlap_histogram(rb.q)
    assert np.isclose(h.sum() * (c[1] - c[0]), 1.0)
