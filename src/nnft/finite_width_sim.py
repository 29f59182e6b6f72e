r"""Compact exact simulators of finite-width random networks, for the 1/N theory of issue 6.

.. note::
   Stopgap. This module exists because ``nnft.sampling`` (weight-space, lattice and collective
   samplers with ``sample_chunk``) did not exist when :mod:`nnft.theory.finite_width` was written.
   Its samplers should move onto ``nnft.sampling`` (the conditional-Gaussian sampler below *is* the
   lattice sampler of a fully connected network) and its batch statistics onto ``nnft.stats``; the
   public functions here can then become thin wrappers.

Networks (``docs/conventions.md``): :math:`z^1 = W^1 x + b^1`, :math:`z^l = W^l\phi(z^{l-1}) + b^l`,
:math:`W^l_{ij}\sim\mathcal N(0,\sigma_w^2/n_{l-1})`, :math:`b^l_i\sim\mathcal N(0,\sigma_b^2)`; all hidden
widths equal to ``width``. Feed-forward (DNN): fresh (W, b) in every layer. Recurrent (RNN, note §2):
one (W, b) shared by every step l ≥ 2 (the input layer keeps its own W¹, b¹).

Two exact samplers:

* **conditional-Gaussian ("lattice") sampler, feed-forward only.** Conditioned on layer l−1, the
  pre-activations of layer l are i.i.d. over neurons i and jointly Gaussian over the M inputs with the
  *stochastic conditional covariance*

  .. math:: \hat G^{(l)} = \sigma_b^2 + \frac{\sigma_w^2}{n}\sum_{j=1}^n \phi(z^{l-1}_j)\phi(z^{l-1}_j)^T

  (note §7), so :math:`z^l_i = \hat L^{(l)}\xi_i` with :math:`\hat L\hat L^T = \hat G`, :math:`\xi_i\sim\mathcal N(0, I_M)`.
  This draws n·M normals per layer instead of n², and it is exact in distribution (not an
  approximation). The same holds jointly for a tangent vector (:func:`lyapunov_conditional`).
* **weight-space sampler** (explicit W, b; feed-forward or recurrent), used for the RNN and as an
  independent check of the conditional sampler; Lyapunov exponents by ``jax.jvp`` through it.

Statistics are accumulated per *batch* (one batch = one chunk of networks, key
``fold_in(root, chunk)``), so every estimate comes with a batch-jackknife standard error that is valid
for nonlinear functions of the means (ratios such as the correlation c = G12/√(G11 G22)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, get_activation
from .errors import NNFTInputError, check_finite_array, check_positive_int, check_variance

Array = jnp.ndarray

__all__ = [
    "KernelEnsemble",
    "kernel_ensemble",
    "lyapunov_weights",
    "lyapunov_conditional",
    "triangle_pairs",
]


def triangle_pairs(M: int) -> list[tuple[int, int]]:
    """The independent kernel entries (a, b), a ≤ b, in ``numpy.triu_indices`` (row-major) order."""
    i, j = np.triu_indices(M)
    return list(zip(i.tolist(), j.tolist()))


# ============================================================================ batch statistics
@dataclass(frozen=True)
class KernelEnsemble:
    r"""Per-layer moments of the stochastic kernels of a simulated ensemble, kept per batch.

    ``Ghat_*`` describe the conditional covariance :math:`\hat G^{(l)}` (its mean is the two-point
    function :math:`G^{(l)} = \mathbb E[z^l_i z^{l\,T}_i]` for feed-forward networks; n·its covariance is the
    four-point vertex V, note §7). ``Khat_*`` describe the empirical kernel
    :math:`\hat K^{(l)} = \frac1n\sum_i z^l_i z^{l\,T}_i` (valid for recurrent networks too).
    Arrays: ``*_mean`` (B, L, P) batch means, ``*_m2`` (B, L, P, P) batch centred scatter matrices,
    ``counts`` (B,); P = M(M+1)/2 entries in :func:`triangle_pairs` order; layer index 0 is layer 1.
    ``samples`` (only with ``keep_samples=True``): {"Ghat", "Khat"} → per-network arrays (n_networks, L, P),
    e.g. for correlations across layers.
    """

    width: int
    n_inputs: int
    counts: np.ndarray
    Ghat_mean: np.ndarray
    Ghat_m2: np.ndarray
    Khat_mean: np.ndarray
    Khat_m2: np.ndarray
    recurrent: bool = False
    samples: dict | None = None

    @property
    def n_networks(self) -> int:
        return int(self.counts.sum())

    @property
    def depth(self) -> int:
        return int(self.Ghat_mean.shape[1])

    # -- pooling ----------------------------------------------------------------------------
    @staticmethod
    def _pool(counts, means, m2s):
        n = counts.sum()
        w = counts / n
        mean = np.tensordot(w, means, axes=1)
        d = means - mean
        m2 = m2s.sum(0) + np.einsum("b,b...p,b...q->...pq", counts, d, d)
        return n, mean, m2

    def _moments(self, which: str, keep: np.ndarray | None = None):
        mean = getattr(self, f"{which}_mean")
        m2 = getattr(self, f"{which}_m2")
        c = self.counts
        if keep is not None:
            mean, m2, c = mean[keep], m2[keep], c[keep]
        n, mu, M2 = self._pool(c, mean, m2)
        return mu, M2 / (n - 1)

    def estimate(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], which: str = "Ghat") -> tuple[np.ndarray, np.ndarray]:
        """``fn(mean (L,P), cov (L,P,P))`` on the pooled moments, with its batch-jackknife standard error."""
        B = self.counts.size
        if B < 2:
            raise NNFTInputError("n_networks", "need at least 2 batches (chunks) for a standard error")
        full = np.asarray(fn(*self._moments(which)))
        reps = np.stack([np.asarray(fn(*self._moments(which, np.arange(B) != b))) for b in range(B)])
        se = np.sqrt((B - 1) / B * ((reps - reps.mean(0)) ** 2).sum(0))
        return full, se

    # -- the observables of note §7/§9 ----------------------------------------------------
    def G(self, which: str = "Ghat") -> tuple[np.ndarray, np.ndarray]:
        """Two-point function per layer as an (L, M, M) matrix, with s.e. (``which="Khat"`` for RNNs)."""
        mu, se = self.estimate(lambda m, c: m, which)
        return _tri_to_mat(mu, self.n_inputs), _tri_to_mat(se, self.n_inputs)

    def V(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Four-point vertex :math:`V^{(l)}_{rs} = n\,\mathrm{Cov}(\hat G_r, \hat G_s)` per layer, (L, P, P), with s.e."""
        return self.estimate(lambda m, c: self.width * c, "Ghat")

    def khat_variance(self) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`\mathrm{Cov}(\hat K_r, \hat K_s)` per layer (L, P, P) — e.g. Var(|z|²/n) for one input."""
        return self.estimate(lambda m, c: c, "Khat")

    def correlation(self, a: int = 0, b: int = 1, which: str = "Ghat") -> tuple[np.ndarray, np.ndarray]:
        r"""Ensemble correlation :math:`c^{(l)} = G_{ab}/\sqrt{G_{aa}G_{bb}}` per layer (ratio of ensemble means, note §9.7)."""
        pairs = triangle_pairs(self.n_inputs)
        ia, ib, iab = pairs.index((a, a)), pairs.index((b, b)), pairs.index((min(a, b), max(a, b)))
        return self.estimate(lambda m, c: m[:, iab] / np.sqrt(m[:, ia] * m[:, ib]), which)


def _tri_to_mat(v: np.ndarray, M: int) -> np.ndarray:
    out = np.zeros(v.shape[:-1] + (M, M))
    iu = np.triu_indices(M)
    out[..., iu[0], iu[1]] = v
    out[..., iu[1], iu[0]] = v
    return out


# ============================================================================ samplers
def _psd_factor(G: Array) -> Array:
    """A factor L with L Lᵀ = G for a batch of PSD matrices (…, M, M); rank-deficient G is allowed."""
    M = G.shape[-1]
    if M == 1:
        return jnp.sqrt(jnp.clip(G, 0.0, None))
    if M == 2:
        l00 = jnp.sqrt(jnp.clip(G[..., 0, 0], 0.0, None))
        l10 = jnp.where(l00 > 0, G[..., 1, 0] / jnp.where(l00 > 0, l00, 1.0), 0.0)
        l11 = jnp.sqrt(jnp.clip(G[..., 1, 1] - l10**2, 0.0, None))
        z = jnp.zeros_like(l00)
        return jnp.stack([jnp.stack([l00, z], -1), jnp.stack([l10, l11], -1)], -2)
    e, U = jnp.linalg.eigh(G)
    return U * jnp.sqrt(jnp.clip(e, 0.0, None))[..., None, :]


def _tri(G: Array) -> Array:
    iu = np.triu_indices(G.shape[-1])
    return G[..., iu[0], iu[1]]


def _validate(activation, sw2, sb2, width, n_networks, chunk):
    act = get_activation(activation)
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    width = check_positive_int("width", width)
    n_networks = check_positive_int("n_networks", n_networks, minimum=2)
    chunk = check_positive_int("chunk", min(chunk, n_networks))
    if act.needs_variance:
        raise NNFTInputError("activation", f"{act.name!r} needs the ensemble variance; not supported by this simulator")
    return act, sw2, sb2, width, n_networks, chunk


def _inputs(X) -> np.ndarray:
    X = check_finite_array("inputs", X)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise NNFTInputError("inputs", f"must have shape (M, d_in), got {X.shape}")
    return X


@partial(jax.jit, static_argnames=("act", "depth", "width", "batch", "recurrent", "method", "dtype"))
def _kernel_chunk(key, X, sw2, sb2, *, act, depth, width, batch, recurrent, method, dtype):
    """One chunk: per-layer (Ĝ, K̂) triangles, shape (L, batch, P) each."""
    M, d_in = X.shape
    X = X.astype(dtype)
    phi = act.fn
    k1 = jax.random.fold_in(key, 0)
    if method == "conditional":
        K1 = sb2 + sw2 * (X @ X.T) / d_in
        L1 = _psd_factor(K1.astype(float)).astype(dtype)
        z = jnp.einsum("bim,km->bik", jax.random.normal(k1, (batch, width, M), dtype), L1)
        G1 = jnp.broadcast_to(_tri(K1), (batch, M * (M + 1) // 2))
    else:
        ka, kb = jax.random.split(k1)
        W = jax.random.normal(ka, (batch, width, d_in), dtype) * jnp.sqrt(sw2 / d_in).astype(dtype)
        b = jax.random.normal(kb, (batch, width), dtype) * jnp.sqrt(sb2).astype(dtype)
        z = jnp.einsum("bij,mj->bim", W, X) + b[:, :, None]
        G1 = jnp.broadcast_to(_tri(sb2 + sw2 * (X @ X.T) / d_in), (batch, M * (M + 1) // 2))
    K1hat = _tri(jnp.einsum("bim,bik->bmk", z, z).astype(float) / width)
    scale_w = jnp.sqrt(sw2 / width).astype(dtype)
    scale_b = jnp.sqrt(sb2).astype(dtype)
    if recurrent:
        ka, kb = jax.random.split(jax.random.fold_in(key, 1))
        Wrec = jax.random.normal(ka, (batch, width, width), dtype) * scale_w
        brec = jax.random.normal(kb, (batch, width), dtype) * scale_b

    def step(z, l):
        s = phi(z)
        G = sb2 + sw2 * jnp.einsum("bim,bik->bmk", s, s).astype(float) / width
        kl = jax.random.fold_in(key, l)
        if method == "conditional":
            L = _psd_factor(G).astype(dtype)
            z_new = jnp.einsum("bim,bkm->bik", jax.random.normal(kl, (batch, width, M), dtype), L)
        else:
            if recurrent:
                W, b = Wrec, brec
            else:
                ka, kb = jax.random.split(kl)
                W = jax.random.normal(ka, (batch, width, width), dtype) * scale_w
                b = jax.random.normal(kb, (batch, width), dtype) * scale_b
            z_new = jnp.einsum("bij,bjm->bim", W, s) + b[:, :, None]
        Khat = jnp.einsum("bim,bik->bmk", z_new, z_new).astype(float) / width
        return z_new, (_tri(G), _tri(Khat))

    _, (Gs, Ks) = jax.lax.scan(step, z, jnp.arange(2, depth + 1))
    Gs = jnp.concatenate([G1[None], Gs], 0)
    Ks = jnp.concatenate([K1hat[None], Ks], 0)
    return Gs, Ks


def _batch_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, B, P) → mean (L, P), centred scatter (L, P, P), in float64."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(1)
    d = x - mu[:, None, :]
    return mu, np.einsum("lbp,lbq->lpq", d, d)


def kernel_ensemble(
    X,
    depth: int,
    activation: str | Activation,
    sw2: float,
    sb2: float,
    width: int,
    n_networks: int,
    *,
    seed: int = 0,
    chunk: int = 10_000,
    method: str = "conditional",
    recurrent: bool = False,
    dtype=jnp.float32,
    keep_samples: bool = False,
) -> KernelEnsemble:
    r"""Simulate ``n_networks`` independent networks on inputs X (M, d_in) and collect kernel moments.

    ``method="conditional"`` (default, feed-forward only) uses the exact conditional-Gaussian sampler;
    ``method="weights"`` draws explicit weights (feed-forward, or recurrent with ``recurrent=True``).
    Randomness: chunk i uses ``fold_in(key(seed), i)``; results do not depend on the machine, but do
    on ``chunk`` (chunks are the batches of the jackknife). Layers 1..depth are recorded.
    ``keep_samples=True`` also returns every network's (Ĝ, K̂) trajectory (memory n_networks·depth·P·16 bytes).
    """
    act, sw2, sb2, width, n_networks, chunk = _validate(activation, sw2, sb2, width, n_networks, chunk)
    depth = check_positive_int("depth", depth)
    X = _inputs(X)
    if method not in ("conditional", "weights"):
        raise NNFTInputError("method", f"must be 'conditional' or 'weights', got {method!r}")
    if recurrent and method == "conditional":
        raise NNFTInputError("method", "the conditional-Gaussian sampler is exact only for feed-forward networks; use 'weights'")
    n_chunks = math.ceil(n_networks / chunk)
    if n_chunks < 2:
        raise NNFTInputError("chunk", f"need at least 2 chunks for error bars; got n_networks={n_networks}, chunk={chunk}")
    root = jax.random.key(seed)
    counts, Gm, G2, Km, K2 = [], [], [], [], []
    keep: dict[str, list] = {"Ghat": [], "Khat": []}
    for c in range(n_chunks):
        b = min(chunk, n_networks - c * chunk)
        Gs, Ks = _kernel_chunk(
            jax.random.fold_in(root, c), jnp.asarray(X), jnp.float64(sw2), jnp.float64(sb2),
            act=act, depth=depth, width=width, batch=b, recurrent=recurrent, method=method, dtype=dtype,
        )
        g_mu, g_m2 = _batch_moments(Gs)
        k_mu, k_m2 = _batch_moments(Ks)
        if keep_samples:
            keep["Ghat"].append(np.asarray(Gs, dtype=np.float64).transpose(1, 0, 2))
            keep["Khat"].append(np.asarray(Ks, dtype=np.float64).transpose(1, 0, 2))
        counts.append(b)
        Gm.append(g_mu), G2.append(g_m2), Km.append(k_mu), K2.append(k_m2)
    return KernelEnsemble(
        width=width, n_inputs=X.shape[0], counts=np.asarray(counts, dtype=float),
        Ghat_mean=np.stack(Gm), Ghat_m2=np.stack(G2), Khat_mean=np.stack(Km), Khat_m2=np.stack(K2),
        recurrent=recurrent,
        samples={k: np.concatenate(v) for k, v in keep.items()} if keep_samples else None,
    )


# ============================================================================ Lyapunov exponents
@partial(jax.jit, static_argnames=("act", "width", "batch", "burn_in", "depth", "recurrent", "dtype"))
def _lyap_weights_chunk(key, sw2, sb2, q0, *, act, width, batch, burn_in, depth, recurrent, dtype):
    kz, kv, kw = jax.random.split(key, 3)
    z = jax.random.normal(kz, (batch, width), dtype) * jnp.sqrt(q0).astype(dtype)
    v = jax.random.normal(kv, (batch, width), dtype)
    v = v / jnp.linalg.norm(v, axis=-1, keepdims=True)
    sw = jnp.sqrt(sw2 / width).astype(dtype)
    sb = jnp.sqrt(sb2).astype(dtype)

    def draw(k):
        ka, kb = jax.random.split(k)
        return jax.random.normal(ka, (batch, width, width), dtype) * sw, jax.random.normal(kb, (batch, width), dtype) * sb

    Wr, br = draw(jax.random.fold_in(kw, 0))

    def step(carry, l):
        z, v = carry
        W, b = (Wr, br) if recurrent else draw(jax.random.fold_in(kw, l))
        z_new, v_new = jax.jvp(lambda zz: jnp.einsum("bij,bj->bi", W, act.fn(zz)) + b, (z,), (v,))
        nrm = jnp.linalg.norm(v_new.astype(float), axis=-1)
        return (z_new, v_new / nrm[:, None].astype(dtype)), jnp.log(nrm)

    _, logs = jax.lax.scan(step, (z, v), jnp.arange(1, burn_in + depth + 1))
    return logs[burn_in:].mean(0)  # per network: mean of ln(|v_l|/|v_{l-1}|) = ½ mean ln ratio of squares


@partial(jax.jit, static_argnames=("act", "width", "batch", "burn_in", "depth", "dtype"))
def _lyap_conditional_chunk(key, sw2, sb2, q0, *, act, width, batch, burn_in, depth, dtype):
    kz, kv, kw = jax.random.split(key, 3)
    z = jax.random.normal(kz, (batch, width), dtype) * jnp.sqrt(q0).astype(dtype)
    v = jax.random.normal(kv, (batch, width), dtype)
    dphi = act.derivative

    def step(carry, l):
        z, v = carry
        s, ds = act.fn(z).astype(float), dphi(z).astype(float) * v.astype(float)
        q = sb2 + sw2 * jnp.mean(s * s, -1)
        rho = sw2 * jnp.mean(s * ds, -1)
        t2 = sw2 * jnp.mean(ds * ds, -1)
        xi = jax.random.normal(jax.random.fold_in(kw, l), (2, batch, width), dtype)
        l00 = jnp.sqrt(q)
        l10 = rho / l00
        l11 = jnp.sqrt(jnp.clip(t2 - l10**2, 0.0, None))
        z_new = (l00[:, None] * xi[0]).astype(dtype)
        v_new = l10[:, None] * xi[0] + l11[:, None] * xi[1]
        r_old = jnp.mean(v.astype(float) ** 2, -1)
        r_new = jnp.mean(v_new**2, -1)
        v_new = v_new / jnp.sqrt(r_new)[:, None]
        return (z_new, v_new.astype(dtype)), 0.5 * jnp.log(r_new / r_old)

    _, logs = jax.lax.scan(step, (z, v), jnp.arange(1, burn_in + depth + 1))
    return logs[burn_in:].mean(0)


def _lyap_driver(chunk_fn, n_networks, chunk, seed, **kw) -> tuple[float, float, np.ndarray]:
    root = jax.random.key(seed)
    out = []
    for c in range(math.ceil(n_networks / chunk)):
        b = min(chunk, n_networks - c * chunk)
        out.append(np.asarray(chunk_fn(jax.random.fold_in(root, c), batch=b, **kw), dtype=float))
    per_net = np.concatenate(out)
    return float(per_net.mean()), float(per_net.std(ddof=1) / np.sqrt(per_net.size)), per_net


def lyapunov_weights(
    activation: str | Activation,
    sw2: float,
    sb2: float,
    width: int,
    n_networks: int,
    *,
    depth: int = 200,
    burn_in: int = 30,
    recurrent: bool = False,
    q0: float = 1.0,
    seed: int = 0,
    chunk: int = 256,
    dtype=jnp.float64,
) -> tuple[float, float, np.ndarray]:
    r"""Largest Lyapunov exponent of explicit random networks by tangent propagation (``jax.jvp``).

    For each network, z starts i.i.d. N(0, q0) and a random unit tangent v; every step applies
    :math:`z\mapsto W\phi(z) + b` and pushes v forward with ``jax.jvp`` (v ↦ W(φ'(z)⊙v)), renormalising v.
    The exponent of a network is the mean of :math:`\ln(|v_l|/|v_{l-1}|)` over ``depth`` steps after
    ``burn_in``; returns (mean over networks, its standard error, per-network values). Feed-forward
    draws fresh (W, b) per step; ``recurrent=True`` keeps one (W, b) per network.
    """
    act, sw2, sb2, width, n_networks, chunk = _validate(activation, sw2, sb2, width, n_networks, chunk)
    depth = check_positive_int("depth", depth)
    burn_in = check_positive_int("burn_in", burn_in, minimum=0)
    q0 = check_variance("q0", q0, allow_zero=False)
    return _lyap_driver(
        _lyap_weights_chunk, n_networks, chunk, seed, sw2=jnp.float64(sw2), sb2=jnp.float64(sb2), q0=jnp.float64(q0),
        act=act, width=width, burn_in=burn_in, depth=depth, recurrent=bool(recurrent), dtype=dtype,
    )


def lyapunov_conditional(
    activation: str | Activation,
    sw2: float,
    sb2: float,
    width: int,
    n_networks: int,
    *,
    depth: int = 200,
    burn_in: int = 30,
    q0: float = 1.0,
    seed: int = 0,
    chunk: int = 4096,
    dtype=jnp.float64,
) -> tuple[float, float, np.ndarray]:
    r"""Feed-forward Lyapunov exponent from the exact conditional law of (z, v).

    Given layer l−1, the pairs :math:`(z^l_i, v^l_i)` are i.i.d. over i and bivariate Gaussian with
    covariance :math:`[[\sigma_b^2 + \tfrac{\sigma_w^2}{n}\sum\phi_j^2,\ \tfrac{\sigma_w^2}{n}\sum\phi_j\phi'_jv_j],
    [\cdot,\ \tfrac{\sigma_w^2}{n}\sum\phi_j'^2v_j^2]]`, so the tangent dynamics of a feed-forward network
    is sampled exactly with 2n normals per layer (vs n² for explicit weights). Same return as
    :func:`lyapunov_weights`.
    """
    act, sw2, sb2, width, n_networks, chunk = _validate(activation, sw2, sb2, width, n_networks, chunk)
    depth = check_positive_int("depth", depth)
    burn_in = check_positive_int("burn_in", burn_in, minimum=0)
    q0 = check_variance("q0", q0, allow_zero=False)
    return _lyap_driver(
        _lyap_conditional_chunk, n_networks, chunk, seed, sw2=jnp.float64(sw2), sb2=jnp.float64(sb2), q0=jnp.float64(q0),
        act=act, width=width, burn_in=burn_in, depth=depth, dtype=dtype,
    )
