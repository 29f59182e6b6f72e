"""Mergeable streaming statistics: merge == union, n-point tensors vs brute force, standard errors."""

import itertools
import math
import tracemalloc

import numpy as np
import pytest

from nnft.errors import NNFTInputError
from nnft.stats import (
    CoMoments,
    Moments,
    NPointMoments,
    expand_symmetric,
    merge,
    merge_all,
    multiset_indices,
    multiset_multiplicity,
    multiset_position,
    n_unique,
    products,
    statistic_from_state,
    unique_from_full,
)

Z = 4.0  # standard errors allowed (conftest.Z_TOL)


def brute_central(x, k, axis=0):
    return ((x - x.mean(axis=axis)) ** k).mean(axis=axis)


# ------------------------------------------------------------------------------------ Moments
@pytest.mark.parametrize("split", [1, 37, 250, 499])
def test_moments_merge_equals_union(rng, split):
    x = rng.standard_gamma(1.5, size=(500, 2, 3)) * 10 + 1e3  # skewed, large offset
    a = Moments.from_samples(x[:split], order=6)
    b = Moments.from_samples(x[split:], order=6)
    u = Moments.from_samples(x, order=6)
    m = merge(a, b)
    np.testing.assert_array_equal(m.count, 500)
    assert m.allclose(u, rtol=1e-11)
    for k in range(2, 7):
        np.testing.assert_allclose(m.central_moment(k), brute_central(x, k), rtol=1e-9)
    np.testing.assert_allclose(m.mean, x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(m.variance(), x.var(0, ddof=1), rtol=1e-12)


def test_moments_merge_many_orders_agree(rng):
    x = rng.normal(size=(300, 4)) * 3 + 2
    parts = [Moments.from_samples(p, order=4) for p in np.array_split(x, 9)]
    fwd = merge_all(parts)
    rev = merge_all(parts[::-1])
    tree = merge(merge_all(parts[:4]), merge_all(parts[4:]))
    u = Moments.from_samples(x, order=4)
    for m in (fwd, rev, tree):
        assert m.allclose(u, rtol=1e-12)


def test_merge_with_empty_is_exact_identity(rng):
    a = Moments.from_samples(rng.normal(size=(17, 3)), order=4)
    e = Moments.empty((3,), order=4)
    assert merge(a, e).equal(a)
    assert merge(e, a).equal(a)
    assert merge(e, e).equal(e)
    e0 = Moments.from_samples(np.zeros((0, 3)), order=4)
    assert e0.equal(e)


def test_grouped_moments(rng):
    x = rng.normal(size=(100, 3)) ** 3
    g = np.arange(100) * 7 // 100
    grouped = Moments.from_samples(x, groups=g, n_groups=7, order=4)
    assert grouped.shape == (7, 3)
    for i in range(7):
        assert grouped[i].allclose(Moments.from_samples(x[g == i], order=4), rtol=1e-13)
    assert grouped.reduce(0).allclose(Moments.from_samples(x, order=4), rtol=1e-11)
    # unsorted group ids, empty groups
    perm = rng.permutation(100)
    g2 = g[perm] * 2  # groups 0,2,...,12 of 14; odd ones empty
    grouped2 = Moments.from_samples(x[perm], groups=g2, n_groups=14, order=4)
    np.testing.assert_array_equal(grouped2.count[1::2], 0)
    assert grouped2.reduce(0).allclose(Moments.from_samples(x, order=4), rtol=1e-11)
    # group-to-group spread
    means = np.array([x[g == i].mean(0) for i in range(7)])
    np.testing.assert_allclose(grouped.spread(0), means.std(0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(grouped2.spread(0, ddof=0), means.std(0, ddof=0), rtol=1e-12)


def test_state_round_trip(rng):
    m = Moments.from_samples(rng.normal(size=(20, 2)), order=5)
    back = statistic_from_state(m.meta(), {k: v.copy() for k, v in m.state().items()})
    assert back.equal(m) and back.order == 5
    c = CoMoments.from_samples(rng.normal(size=(20, 3)))
    assert statistic_from_state(c.meta(), c.state()).equal(c)


def test_bad_merges_and_orders(rng):
    a = Moments.from_samples(rng.normal(size=(5, 2)), order=4)
    with pytest.raises(NNFTInputError, match="cannot merge"):
        merge(a, Moments.from_samples(rng.normal(size=(5, 3)), order=4))
    with pytest.raises(NNFTInputError, match="order"):
        merge(a, Moments.from_samples(rng.normal(size=(5, 2)), order=6))
    with pytest.raises(NNFTInputError, match="order >= 8"):
        a.central_moment_se(4)
    with pytest.raises(NNFTInputError, match="order"):
        Moments.from_samples(rng.normal(size=5), order=1)
    with pytest.raises(NNFTInputError, match="groups"):
        Moments.from_samples(rng.normal(size=5), groups=[0, 1, 2, 3, 9], n_groups=3)


# -------------------------------------------------------------------- standard errors (statistical)
def _replicate_tolerance(K):
    """Relative standard error of a standard deviation estimated from K replicates."""
    return Z / math.sqrt(2 * (K - 1))


def test_standard_errors_against_known_variance(rng):
    """K independent samples of size n from N(mu, s^2): the reported standard errors equal the known
    sampling spreads of the mean (s/√n), the variance (s²√(2/(n-1))) and the 3rd central moment
    (√(6/n) s³), and the replicate-to-replicate spread of the estimates agrees with them."""
    n, K, s = 1000, 2000, 1.7
    x = rng.normal(3.0, s, size=(n, K))
    m = Moments.from_samples(x, order=6)
    tol = _replicate_tolerance(K)
    se_mean_true = s / math.sqrt(n)
    se_var_true = s**2 * math.sqrt(2 / (n - 1))
    se_m3_true = math.sqrt(6 / n) * s**3
    # the replicate spread of each estimator matches its known sampling spread
    assert abs(m.mean.std(ddof=1) / se_mean_true - 1) < tol
    assert abs(m.variance().std(ddof=1) / se_var_true - 1) < tol
    assert abs(m.central_moment(3).std(ddof=1) / se_m3_true - 1) < tol + 3 / n  # delta method: O(1/n)
    # the reported standard errors (averaged over replicates) match the known values;
    # each reported s.e. is itself an estimate with relative spread ~ 1/√(2n) (mean) or larger
    assert abs(m.mean_se().mean() / se_mean_true - 1) < Z * m.mean_se().std(ddof=1) / math.sqrt(K) / se_mean_true + 1e-3
    assert abs(m.variance_se().mean() / se_var_true - 1) < Z * m.variance_se().std(ddof=1) / math.sqrt(K) / se_var_true + 1e-3
    se3 = m.central_moment_se(3)
    assert abs(se3.mean() / se_m3_true - 1) < Z * se3.std(ddof=1) / math.sqrt(K) / se_m3_true + 3 / n


def test_fourth_moment_standard_error(rng):
    """Order 8 gives an error bar for the 4th central moment. Normal data: Var(m4) ≈ 96 s^8/n."""
    n, K = 2000, 1000
    m = Moments.from_samples(rng.normal(size=(n, K)), order=8)
    se_true = math.sqrt(96 / n)
    tol = _replicate_tolerance(K)
    assert abs(m.central_moment(4).std(ddof=1) / se_true - 1) < tol + 5 / n
    rep = m.central_moment_se(4)
    assert abs(rep.mean() / se_true - 1) < Z * rep.std(ddof=1) / math.sqrt(K) / se_true + 5 / n


def test_cumulants_of_exponential(rng):
    """Exp(1): k2 = 1, k3 = 2, mu4 = 9 (k4 = 6), each within its own standard error."""
    x = rng.exponential(size=200_000)
    m = Moments.from_samples(x, order=8)
    assert abs(m.cumulant(2) - 1) < Z * m.variance_se()
    assert abs(m.central_moment(3) - 2) < Z * m.central_moment_se(3)
    assert abs(m.central_moment(4) - 9) < Z * m.central_moment_se(4)
    np.testing.assert_allclose(m.cumulant(4), m.central_moment(4) - 3 * m.central_moment(2) ** 2)


# --------------------------------------------------------------------------------- CoMoments
def test_comoments_merge_equals_union(rng):
    x = rng.normal(size=(400, 2, 3)) @ np.array([[1.0, 0.5, 0.0], [0, 1, 0.3], [0, 0, 2]]) + 5
    a = CoMoments.from_samples(x[:123])
    b = CoMoments.from_samples(x[123:])
    m = merge(a, b)
    for i in range(2):
        np.testing.assert_allclose(m.covariance()[i], np.cov(x[:, i].T), rtol=1e-12)
    np.testing.assert_allclose(m.mean, x.mean(0), rtol=1e-14)
    g = np.arange(400) % 4
    grouped = CoMoments.from_samples(x, groups=g, n_groups=4)
    np.testing.assert_allclose(grouped.reduce(0).covariance(), m.covariance(), rtol=1e-12)
    assert merge(CoMoments.empty((2,), 3), m).equal(m)


# ----------------------------------------------------------------------------- multisets
def test_unique_entry_counts():
    assert n_unique(6, 6) == 462 and multiset_indices(6, 6).shape == (462, 6)
    assert [n_unique(6, n) for n in (2, 4, 6)] == [21, 126, 462]
    assert [n_unique(4, n) for n in (2, 4, 6)] == [10, 35, 84]
    idx = multiset_indices(6, 6)
    assert np.all(np.diff(idx, axis=1) >= 0)  # index-sorted
    assert len({tuple(r) for r in idx}) == 462  # unique
    assert list(map(tuple, idx)) == sorted(map(tuple, idx))  # lexicographic
    assert multiset_multiplicity(6, 6).sum() == 6**6


def test_positions_and_expansion(rng):
    M, n = 5, 4
    idx = multiset_indices(M, n)
    np.testing.assert_array_equal(multiset_position(M, idx), np.arange(len(idx)))
    for perm in itertools.permutations(range(n)):
        np.testing.assert_array_equal(multiset_position(M, idx[:, perm]), np.arange(len(idx)))
    v = rng.normal(size=(3, n_unique(M, n)))
    full = expand_symmetric(v, M, n)
    assert full.shape == (3,) + (M,) * n
    for perm in [(1, 0, 2, 3), (3, 2, 1, 0), (0, 2, 3, 1)]:
        np.testing.assert_array_equal(full, np.transpose(full, (0,) + tuple(p + 1 for p in perm)))
    np.testing.assert_array_equal(unique_from_full(full, n), v)
    with pytest.raises(NNFTInputError):
        multiset_position(M, [0, M])


# ---------------------------------------------------------------------------- n-point moments
def test_npoint_against_brute_force(rng):
    nnet, M = 60, 4
    f = rng.normal(size=(nnet, M)) + 0.3
    st = NPointMoments.from_samples(f, orders=(2, 4, 6), block=7)
    full = {
        2: np.einsum("na,nb->nab", f, f),
        4: np.einsum("na,nb,nc,nd->nabcd", f, f, f, f),
        6: np.einsum("na,nb,nc,nd,ne,ng->nabcdeg", f, f, f, f, f, f),
    }
    for n, t in full.items():
        np.testing.assert_allclose(st.full(n), t.mean(0), rtol=1e-12, atol=1e-14)
        uniq = unique_from_full(t, n)  # (networks, U) products, brute force
        np.testing.assert_allclose(st.mean(n), uniq.mean(0), rtol=1e-12)
        np.testing.assert_allclose(st.se(n), uniq.std(0, ddof=1) / math.sqrt(nnet), rtol=1e-10)
    assert st.count().item() == nnet


def test_npoint_merge_grouping_and_features(rng):
    nnet, L, M = 90, 2, 6
    f = rng.standard_t(8, size=(nnet, L, M))
    whole = NPointMoments.from_samples(f, block=1000)
    parts = [NPointMoments.from_samples(p, block=5) for p in np.array_split(f, 4)]
    merged = merge_all(parts)
    for n in (2, 4, 6):
        assert merged.mean(n).shape == (L, n_unique(M, n))
        assert merged.moments[n].allclose(whole.moments[n], rtol=1e-10)
    g = np.arange(nnet) * 10 // nnet
    grouped = NPointMoments.from_samples(f, groups=g, n_groups=10, block=16)
    assert grouped.shape == (10, L)
    tot = grouped.reduce(0)
    for n in (2, 4, 6):
        assert tot.moments[n].allclose(whole.moments[n], rtol=1e-10)
        per = np.array([products(f[g == i], n).mean(0) for i in range(10)])
        np.testing.assert_allclose(grouped.mean(n), per, rtol=1e-12, atol=1e-13 * np.abs(per).max())
        np.testing.assert_allclose(grouped.spread(n), per.std(0, ddof=1), rtol=1e-10)
    rt = statistic_from_state(grouped.meta(), grouped.state())
    assert rt.equal(grouped)
    with pytest.raises(NNFTInputError, match="cannot merge"):
        merge(whole, NPointMoments.from_samples(f, orders=(2, 4)))


def test_npoint_never_materialises_networks_by_entries(rng):
    """20 000 networks × 462 entries × 8 B = 74 MB if materialised; block-wise it stays small."""
    f = rng.normal(size=(20_000, 6))
    tracemalloc.start()
    try:
        st = NPointMoments.from_samples(f, orders=(6,), block=512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert st.mean(6).shape == (462,)
    assert peak < 12e6, f"peak {peak / 1e6:.1f} MB"
    # Gaussian check: E[f^6] = 15 for a standard normal, within its standard error
    pos = multiset_position(6, [2] * 6)
    assert abs(st.mean(6)[pos] - 15) < Z * st.se(6)[pos]
