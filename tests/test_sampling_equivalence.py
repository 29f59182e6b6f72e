"""Weight-space, lattice and collective samplers draw from the same distribution, exactly, at finite N.

Protocol (../shared/DESIGN.md, "Statistical tests"): fixed seeds, independent seeds per method, and for
each test case a family of two-sample comparisons of per-layer statistics (norms, r₊, r₋, k, Gram
entries): a two-sample Kolmogorov–Smirnov test, and z-scores of the difference of means and of
variances (s.e. from the samples' 2nd/4th moments). The case fails if any p-value is below
α / (number of comparisons), α = 1e-3 (Bonferroni) — a family-wise false-alarm rate ≤ 1e-3 per case.
Nothing here is tuned to a seed.

Also here: determinism (a network's sample depends only on its key, not on chunk or batch), recurrent
weight reuse (linear recurrent with σb = 0 equals W^L x), rank-deficient inputs, bad input.
"""

import jax
import numpy as np
import pytest
from scipy import stats

from nnft import NNFTInputError
from nnft.sampling import network_keys, network_weights, sample_chunk
from nnft.spec import InputsSpec, NetworkSpec

ALPHA = 1e-3
DEPTH = 3
SW2 = {"linear": 0.9, "relu": 1.8, "tanh": 1.5, "erf": 1.2}
SB2 = 0.05


def _moment_pvalues(a: np.ndarray, b: np.ndarray) -> list[float]:
    """Two-sided p-values of z-scores for equal means and equal variances."""
    out = []
    na, nb = len(a), len(b)
    se = np.sqrt(a.var(ddof=1) / na + b.var(ddof=1) / nb)
    if se > 0:
        out.append(2 * stats.norm.sf(abs(a.mean() - b.mean()) / se))
    va, vb = a.var(ddof=1), b.var(ddof=1)
    m4a, m4b = np.mean((a - a.mean()) ** 4), np.mean((b - b.mean()) ** 4)
    se_v = np.sqrt(max(m4a - va**2, 0) / na + max(m4b - vb**2, 0) / nb)
    if se_v > 0:
        out.append(2 * stats.norm.sf(abs(va - vb) / se_v))
    return out


def equivalence_pvalues(ref: dict, other: dict, names: tuple[str, ...]) -> dict[str, float]:
    """KS + moment p-values for every per-layer statistic (and every upper-triangular Gram entry)."""
    pv: dict[str, float] = {}
    for name in names:
        a, b = ref[name], other[name]
        if name == "gram":
            iu = np.triu_indices(a.shape[-1])
            a, b = a[..., iu[0], iu[1]], b[..., iu[0], iu[1]]
        a = a.reshape(a.shape[0], -1)
        b = b.reshape(b.shape[0], -1)
        for j in range(a.shape[1]):
            x, y = a[:, j], b[:, j]
            if np.all(x == x[0]) and np.all(y == y[0]):
                assert x[0] == y[0], f"{name}[{j}] constant but different"
                continue
            pv[f"{name}[{j}] KS"] = stats.ks_2samp(x, y, method="asymp").pvalue
            for i, p in enumerate(_moment_pvalues(x, y)):
                pv[f"{name}[{j}] {'mean' if i == 0 else 'var'}"] = p
    return pv


def assert_same_distribution(ref: dict, others: dict[str, dict], names: tuple[str, ...]) -> None:
    allp = {}
    for label, o in others.items():
        for k, p in equivalence_pvalues(ref, o, names).items():
            allp[f"{label}: {k}"] = p
    assert allp
    threshold = ALPHA / len(allp)
    worst = min(allp, key=allp.get)
    assert allp[worst] >= threshold, f"{worst}: p = {allp[worst]:.2e} < {threshold:.2e} ({len(allp)} comparisons)"


X1 = np.array([[0.9, -1.3, 0.4, 2.0]])  # one input, d = 4
X8 = np.random.default_rng(5).normal(size=(8, 5))  # M = 8 inputs, d = 5
SINGLE_RECORDS = ("norm", "r_plus", "r_minus", "k")


def _n_networks(width: int) -> int:
    return 600 if width >= 200 else 2000


# ---------------------------------------------------------------------------- one input
@pytest.mark.parametrize("width", [3, 20, 200])
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "erf"])
def test_single_input_equivalence(activation, width):
    net = NetworkSpec(depth=DEPTH, width=width, activation=activation, sw2=SW2[activation], sb2=SB2, input_dim=4)
    x = X1
    n = _n_networks(width)
    names = SINGLE_RECORDS
    methods = ["weights", "lattice"] + (["collective"] if activation in ("linear", "relu") else [])
    res = {
        m: sample_chunk(net, x, n, key=jax.random.key(100 + i), method=m, record=names) for i, m in enumerate(methods)
    }
    # r₊² + r₋² = |z|² for every sampler
    for r in res.values():
        np.testing.assert_allclose(r["r_plus"] ** 2 + r["r_minus"] ** 2, r["norm"] ** 2, rtol=1e-4)
    assert_same_distribution(res["weights"], {m: res[m] for m in methods[1:]}, names)


# ---------------------------------------------------------------------------- M inputs, incl. N < M
@pytest.mark.parametrize(
    "activation, width",
    [("linear", 3), ("linear", 20), ("relu", 3), ("tanh", 3), ("erf", 3), ("tanh", 20)],
)
def test_multi_input_equivalence(activation, width):
    """M = 8 inputs; at N = 3 < M the lattice covariance Σ (8×8) has rank ≤ 4 and G^l is a singular Wishart.

    Also against theory: layer 1 is exactly Gaussian with kernel K¹ = σw² XXᵀ/d + σb², so E Ĝ¹ = K¹ with
    Var Ĝ¹_ab = (K¹_aa K¹_bb + (K¹_ab)²)/N (Wishart), for every sampler.
    """
    from nnft.kernels import input_kernel

    sw2 = SW2[activation]
    net = NetworkSpec(depth=DEPTH, width=width, activation=activation, sw2=sw2, sb2=SB2, input_dim=5)
    n = 2500
    names = ("gram",)
    methods = ["weights", "lattice"] + (["collective"] if activation == "linear" else [])
    res = {m: sample_chunk(net, X8, n, key=jax.random.key(200 + i), method=m, record=names) for i, m in enumerate(methods)}
    k1 = np.asarray(input_kernel(X8, sw2, SB2))
    iu = np.triu_indices(8)
    se = np.sqrt((np.outer(np.diag(k1), np.diag(k1)) + k1**2) / width / n)[iu]
    n_theory = len(methods) * len(se)
    for m, r in res.items():
        assert np.isfinite(r["gram"]).all(), m
        if width < 8:  # rank of zᵀz/N is at most N
            s = np.linalg.svd(r["gram"][:20, -1], compute_uv=False)
            assert np.all(s[:, width:] <= 1e-4 * s[:, :1]), m
        z = np.abs(r["gram"][:, 0].mean(0)[iu] - k1[iu]) / se
        assert z.max() < stats.norm.isf(ALPHA / 2 / n_theory), (m, z.max())
    assert_same_distribution(res["weights"], {m: res[m] for m in methods[1:]}, names)


# ---------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("method", ["weights", "lattice", "collective"])
def test_results_do_not_depend_on_chunking(method):
    """Network j's records depend only on fold_in(root, j): not on chunk, start, or position in a batch."""
    net = NetworkSpec(depth=DEPTH, width=3, activation="relu", sw2=SW2["relu"], sb2=SB2, input_dim=4)
    root = jax.random.key(42)
    rec = SINGLE_RECORDS
    whole = sample_chunk(net, X1, 70, key=root, method=method, record=rec)  # 64 + 6: two blocks
    parts = [sample_chunk(net, X1, 4, key=root, start=s, method=method, record=rec) for s in (0, 4)]
    parts.append(sample_chunk(net, X1, 62, key=root, start=8, method=method, record=rec))
    by_keys = sample_chunk(net, X1, key=network_keys(root, 0, 70), method=method, record=rec)
    for name in rec:
        joined = np.concatenate([p[name] for p in parts])
        np.testing.assert_array_equal(whole[name], joined)
        np.testing.assert_array_equal(whole[name], by_keys[name])
    other = sample_chunk(net, X1, 70, key=jax.random.key(43), method=method, record=rec)
    assert not np.array_equal(whole["norm"], other["norm"])
    if method == "weights":  # an explicit batch size: same guarantee among equal batch sizes
        b3 = sample_chunk(net, X1, 10, key=root, method=method, record=rec, batch_size=3)
        b3s = sample_chunk(net, X1, 7, key=root, start=3, method=method, record=rec, batch_size=3)
        for name in rec:
            np.testing.assert_array_equal(b3[name][3:], b3s[name])
            np.testing.assert_allclose(b3[name], whole[name][:10], rtol=1e-5)  # last-bit rounding at most


def test_per_network_random_inputs():
    """Open-chain protocol: each network draws its own input from fold_in(key_j, 0); still chunk-independent."""
    net = NetworkSpec(depth=3, width=7, activation="tanh", sw2=1.2, sb2=0.01, input_dim=7)
    spec = InputsSpec(random="sphere", n_inputs=1, per_network=True)
    root = jax.random.key(9)
    a = sample_chunk(net, spec, 6, key=root, method="lattice", record="norm")["norm"]
    b = sample_chunk(net, spec, 3, key=root, start=3, method="lattice", record="norm")["norm"]
    np.testing.assert_array_equal(a[3:], b)
    # the same inputs given explicitly, one set per network (an (n, M, d) array)
    xs = np.stack([np.asarray(jax.random.normal(jax.random.fold_in(k, 0), (1, 7), "float32")) for k in network_keys(root, 0, 6)])
    xs *= np.sqrt(7) / np.linalg.norm(xs, axis=2, keepdims=True)
    c = sample_chunk(net, xs, 6, key=root, method="lattice", record="norm")["norm"]
    np.testing.assert_allclose(c, a, rtol=1e-5)
    fixed = InputsSpec(random="gaussian", n_inputs=8, seed=1)
    net20 = NetworkSpec(depth=DEPTH, width=20, activation="tanh", sw2=SW2["tanh"], sb2=SB2, input_dim=5)
    r = sample_chunk(net20, fixed, 4, key=root, method="weights", record="gram")
    assert r["gram"].shape == (4, DEPTH, 8, 8)
    again = sample_chunk(net20, fixed.materialize(5), 4, key=root, method="weights", record="gram")
    np.testing.assert_array_equal(r["gram"], again["gram"])


# ---------------------------------------------------------------------------- recurrent
def test_linear_recurrent_reuses_weights():
    """Recurrent linear network with σb = 0: z^L = W^L x exactly (the same W at every step)."""
    L, N = 6, 5
    net = NetworkSpec(depth=L, width=N, activation="linear", sw2=1.0, sb2=0.0, input_dim=N, architecture="recurrent")
    x = np.random.default_rng(1).normal(size=(2, N))
    keys = network_keys(jax.random.key(3), 0, 4)
    out = sample_chunk(net, x, key=keys, method="weights", record=("z", "output"), dtype="float64")
    for j in range(4):
        ws = network_weights(net, keys[j], dtype="float64")
        w = np.asarray(ws[0][0])
        assert all(np.array_equal(np.asarray(wl), w) for wl, _ in ws)
        for l in range(1, L + 1):
            np.testing.assert_allclose(out["z"][j, l - 1], np.linalg.matrix_power(w, l) @ x.T, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(out["output"][j], out["z"][j, -1])
    # the feed-forward network draws a fresh W per layer
    ff = NetworkSpec(depth=L, width=N, activation="linear", sw2=1.0, sb2=0.0, input_dim=N)
    ws = network_weights(ff, keys[0])
    assert not np.array_equal(np.asarray(ws[0][0]), np.asarray(ws[1][0]))


def test_weights_sampler_matches_explicit_forward_pass():
    """The weight-space sampler is literally z^l = W^l φ(z^{l-1}) + b^l with network_weights' (W, b)."""
    net = NetworkSpec(depth=3, width=[4, 6, 2], activation=["linear", "tanh", "relu"], sw2=[1.0, 1.5, 2.0], sb2=0.1, input_dim=3)
    x = np.random.default_rng(2).normal(size=(2, 3))
    keys = network_keys(jax.random.key(0), 0, 2)
    out = sample_chunk(net, x, key=keys, method="weights", record=("norm", "output"), dtype="float64")
    for j in range(2):
        (w1, b1), (w2, b2), (w3, b3) = [(np.asarray(w), np.asarray(b)) for w, b in network_weights(net, keys[j], dtype="float64")]
        z1 = w1 @ x.T + b1[:, None]
        z2 = w2 @ np.tanh(z1) + b2[:, None]
        z3 = w3 @ np.maximum(z2, 0) + b3[:, None]
        np.testing.assert_allclose(out["output"][j], z3, rtol=1e-12)
        np.testing.assert_allclose(out["norm"][j], [np.linalg.norm(z, axis=0) for z in (z1, z2, z3)], rtol=1e-12)


# ---------------------------------------------------------------------------- rank-deficient inputs
@pytest.mark.parametrize("method", ["lattice", "collective"])
def test_duplicate_inputs_need_no_cholesky(method):
    """Duplicate points (singular Σ, also with σb = 0) must still sample exactly: equal columns stay equal."""
    x = X8.copy()
    x[1] = x[0]
    x[5] = x[0]
    x[7] = x[3]
    act = "linear" if method == "collective" else "tanh"
    for sb2 in (0.0, 0.1):
        net = NetworkSpec(depth=DEPTH, width=20, activation=act, sw2=SW2[act], sb2=sb2, input_dim=5)
        g = sample_chunk(net, x, 64, key=jax.random.key(1), method=method, record="gram")["gram"]
        assert np.isfinite(g).all()
        for a, b in ((0, 1), (0, 5), (3, 7)):
            np.testing.assert_allclose(g[..., b, b], g[..., a, a], rtol=1e-4)
            np.testing.assert_allclose(g[..., a, b], g[..., a, a], rtol=1e-4)


# ---------------------------------------------------------------------------- bad input
NET = NetworkSpec(depth=3, width=4, activation="tanh", sw2=1.0, sb2=0.1, input_dim=2)
X = np.array([[1.0, 2.0]])


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: sample_chunk(NET, X, 0, key=jax.random.key(0)), "n_networks"),
        (lambda: sample_chunk(NET, X, key=jax.random.key(0)), "n_networks"),
        (lambda: sample_chunk(NET, np.array([[1.0, np.nan]]), 3, key=jax.random.key(0)), "inputs"),
        (lambda: sample_chunk(NET, np.array([[1.0, np.inf]]), 3, key=jax.random.key(0)), "inputs"),
        (lambda: sample_chunk(NET, np.ones((1, 3)), 3, key=jax.random.key(0)), "inputs"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.PRNGKey(0)), "key"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.key(0), method="mcmc"), "method"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.key(0), record=("energy",)), "record"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.key(0), method="collective"), "method"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.key(0), dtype="float16"), "dtype"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.key(0), start=-1), "start"),
        (lambda: sample_chunk(NET, X, 3, key=network_keys(jax.random.key(0), 0, 4)), "n_networks"),
        (lambda: sample_chunk(NET, X, 3, key=jax.random.key(0), batch_size=0), "batch_size"),
        (lambda: network_keys(jax.random.key(0), 3, 3), "start/stop"),
    ],
)
def test_bad_sampler_input(call, field):
    with pytest.raises(NNFTInputError) as e:
        call()
    assert e.value.parameter == field


def test_method_restrictions():
    relu8 = NetworkSpec(depth=2, width=3, activation="relu", sw2=2.0, input_dim=2)
    with pytest.raises(NNFTInputError, match="Wishart"):
        sample_chunk(relu8, np.ones((3, 2)), 2, key=jax.random.key(0), method="collective")
    lin = NetworkSpec(depth=2, width=3, activation="linear", sw2=1.0, input_dim=2)
    with pytest.raises(NNFTInputError, match="records only"):
        sample_chunk(lin, np.ones((3, 2)), 2, key=jax.random.key(0), method="collective", record="k")
    with pytest.raises(NNFTInputError, match="records only"):
        sample_chunk(lin, X, 2, key=jax.random.key(0), method="collective", record="output")
    rec = NetworkSpec(depth=2, width=2, activation="linear", sw2=1.0, input_dim=2, architecture="recurrent")
    with pytest.raises(NNFTInputError, match="recurrent"):
        sample_chunk(rec, X, 2, key=jax.random.key(0), method="lattice")
    varw = NetworkSpec(depth=2, width=[2, 3], activation="linear", sw2=1.0, input_dim=2)
    with pytest.raises(NNFTInputError, match="one width"):
        sample_chunk(varw, X, 2, key=jax.random.key(0), record="z")
