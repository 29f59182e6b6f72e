"""Samplers against theory: bulk norms of deep linear and ReLU networks (lattice paper §5–6, figs. 3 and 5).

Setting of the paper: N = 200, L = 1024, σb² = 0.01, a random input; the "bulk" is layers 513..1024
(appendix 8.3). Statistics: for each network the mean over bulk layers, then mean and standard error
over the (independent) networks — so the layer-to-layer autocorrelation is inside each network's mean
and never shrinks the error bar.

Theory (:func:`nnft.sampling.stationary_theory`, exact at finite N):

* E|z|² = N q* exactly (q* the mean-field fixed point: σb²/(1 − σw²) linear, σb²/(1 − σw²/2) ReLU);
* E r₊² = E r₋² = N q*/2 and E k = N/2 exactly (ReLU, k = number of positive units);
* E|z| = E√v · E χ_N — below the mean-field r* = √(N q*) of eq. (13)/(20) by O(1/N) (0.2–0.7 % here,
  several standard errors), computed from the exact moments of v with a stated truncation error.

Tolerance: |estimate − theory| < Z_TOL · s.e. + theory error (conftest.Z_TOL = 4).
"""

import jax
import numpy as np
import pytest

from conftest import Z_TOL
from nnft.meanfield import fixed_point_q
from nnft.sampling import sample_chunk, stationary_theory
from nnft.spec import InputsSpec, NetworkSpec

N, L, SB2, N_NETS = 200, 1024, 0.01, 200
BULK = slice(L // 2, L)
RECORDS = ("norm", "r_plus", "r_minus", "k")
CASES = [("linear", 0.5), ("linear", 0.9), ("relu", 1.0), ("relu", 1.8)]


def _bulk_stats(values: np.ndarray) -> tuple[float, float]:
    """Mean over bulk layers per network, then mean and s.e. over networks."""
    per_net = values[:, BULK].mean(axis=1)
    return float(per_net.mean()), float(per_net.std(ddof=1) / np.sqrt(len(per_net)))


def _sample(activation: str, sw2: float, method: str = "collective", seed: int = 0) -> dict:
    net = NetworkSpec(depth=L, width=N, activation=activation, sw2=sw2, sb2=SB2, input_dim=N)
    inputs = InputsSpec(random="gaussian", n_inputs=1, per_network=True)  # the paper's random input
    return sample_chunk(net, inputs, N_NETS, key=jax.random.key(seed), method=method, record=RECORDS)


def check_against_theory(res: dict, activation: str, sw2: float) -> None:
    th = stationary_theory(activation, sw2, SB2, N)
    q_star = float(fixed_point_q(activation, sw2, SB2))
    np.testing.assert_allclose(th.q_star, q_star, rtol=1e-10)  # the exact chain's mean is mean field's q*
    norm = res["norm"][..., 0]
    m2, se2 = _bulk_stats(norm**2)
    assert abs(m2 - N * q_star) < Z_TOL * se2, ("E|z|^2", m2, N * q_star, se2)
    m1, se1 = _bulk_stats(norm)
    assert abs(m1 - th.mean_norm) < Z_TOL * se1 + th.mean_norm_error, ("E|z|", m1, th.mean_norm, se1)
    # mean field (eq. 13 / 20) is right up to the O(1/N) shift computed above
    shift = th.mean_field_norm - th.mean_norm
    assert 0 < shift / th.mean_field_norm < 0.02
    if activation == "relu":
        for name in ("r_plus", "r_minus"):
            r = res[name][..., 0]
            m, se = _bulk_stats(r**2)
            assert abs(m - N * q_star / 2) < Z_TOL * se, (name + "^2", m, N * q_star / 2, se)
            m, se = _bulk_stats(r)
            assert abs(m - th.mean_r_plus) < Z_TOL * se + th.mean_r_error, (name, m, th.mean_r_plus, se)
        mk, sek = _bulk_stats(res["k"][..., 0].astype(float))
        assert abs(mk - N / 2) < Z_TOL * sek, ("k", mk, sek)


@pytest.mark.parametrize("activation, sw2", CASES)
def test_bulk_norms_collective(activation, sw2):
    check_against_theory(_sample(activation, sw2), activation, sw2)


def test_bulk_norms_lattice():
    """The same check with the lattice sampler (independent code path, O(N) per layer), ReLU σw² = 1.8."""
    check_against_theory(_sample("relu", 1.8, method="lattice", seed=1), "relu", 1.8)


def test_stationary_theory_limits():
    """E|z| → √(N q*) as N → ∞ (relative gap ∝ 1/N); the transfer-operator law of v matches a direct
    float64 simulation of the scalar chain v' = σb² + (σw²/N)·v·χ²_K (E v² exactly, E√v numerically)."""
    gaps = []
    for n in (50, 200, 800):
        th = stationary_theory("linear", 0.5, SB2, n)
        gaps.append(1 - th.mean_norm / th.mean_field_norm)
    assert gaps[0] > gaps[1] > gaps[2] > 0
    np.testing.assert_allclose(np.array(gaps[:-1]) / np.array(gaps[1:]), 4.0, rtol=0.15)  # ∝ 1/N
    th = stationary_theory("relu", 1.8, SB2, N)
    rng = np.random.default_rng(0)
    v = np.full(4000, th.q_star)
    c = 1.8 / N
    sq, rt = [], []
    for t in range(600):
        k = rng.binomial(N, 0.5, size=v.size)
        v = c * v * rng.chisquare(np.maximum(k, 1e-300)) * (k > 0) + SB2
        if t >= 100:
            sq.append(v**2)
            rt.append(np.sqrt(v))
    for est, exact, err in ((sq, th.v_moments[2], 0.0), (rt, th.mean_sqrt_v, th.mean_norm_error)):
        per_chain = np.array(est).mean(axis=0)  # per chain (autocorrelated), then over chains
        se = per_chain.std(ddof=1) / np.sqrt(per_chain.size)
        assert abs(per_chain.mean() - exact) < Z_TOL * se + err, (per_chain.mean(), exact, se)
