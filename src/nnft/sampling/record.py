r"""What a sampler records per layer, and how it is computed from a layer's pre-activations.

For a layer with pre-activations :math:`z \in \mathbb R^{N\times M}` (N units, M inputs):

=========  =====================================================  ==========================
name       value                                                   shape per network
=========  =====================================================  ==========================
norm       :math:`|z_{\cdot a}| = (\sum_i z_{ia}^2)^{1/2}`           (L, M)
q          :math:`|z_{\cdot a}|^2/N`                                 (L, M)
r_plus     :math:`r_+ = (\sum_{i: z_{ia}>0} z_{ia}^2)^{1/2}`         (L, M)
r_minus    :math:`r_- = (\sum_{i: z_{ia}<0} z_{ia}^2)^{1/2}`         (L, M)
k          :math:`k = \#\{i: z_{ia} > 0\}` (positive units)          (L, M)  integer
gram       empirical kernel :math:`\hat K_{ab} = \sum_i z_{ia}z_{ib}/N`  (L, M, M)
output     :math:`z^L` (last layer only)                             (N_L, M)
z          every layer's :math:`z^l` (constant width only)          (L, N, M)
=========  =====================================================  ==========================

``k`` counts the **positive** units (the lattice paper's text, §6: "k_l the number of positive
components"); its eq. (19)/(74) give :math:`r_+` the :math:`N-k` degrees of freedom, i.e. count the
*negative* ones — see :mod:`nnft.sampling.collective`. The diagonal of ``gram`` is ``q``.
"""

from __future__ import annotations

import jax.numpy as jnp

from ..spec import RECORD_NAMES

Array = jnp.ndarray

__all__ = ["RECORD_NAMES", "PER_LAYER", "layer_records", "from_squared_norms", "from_gram_factor"]

#: records with one value (or M×M block) per layer
PER_LAYER: tuple[str, ...] = ("norm", "q", "r_plus", "r_minus", "k", "gram")


def layer_records(z: Array, names: tuple[str, ...]) -> dict[str, Array]:
    """Per-layer records of one network's pre-activations ``z`` (N, M); ``z`` itself if ``"z"`` is asked."""
    n = z.shape[0]
    out: dict[str, Array] = {}
    sq = None
    if "norm" in names or "q" in names:
        sq = jnp.sum(z * z, axis=0)
        if "norm" in names:
            out["norm"] = jnp.sqrt(sq)
        if "q" in names:
            out["q"] = sq / n
    if "r_plus" in names:
        p = jnp.maximum(z, 0)
        out["r_plus"] = jnp.sqrt(jnp.sum(p * p, axis=0))
    if "r_minus" in names:
        m = jnp.minimum(z, 0)
        out["r_minus"] = jnp.sqrt(jnp.sum(m * m, axis=0))
    if "k" in names:
        out["k"] = jnp.sum(z > 0, axis=0, dtype=jnp.int32)
    if "gram" in names:
        out["gram"] = (z.T @ z) / n
    if "z" in names:
        out["z"] = z
    return out


def from_squared_norms(rp2: Array, rm2: Array, k: Array, n: Array, names: tuple[str, ...]) -> dict[str, Array]:
    """Single-input records from the collective coordinates (r₊², r₋², k) of a width-n layer; shape (1,)."""
    s = rp2 + rm2
    out: dict[str, Array] = {}
    if "norm" in names:
        out["norm"] = jnp.sqrt(s)[None]
    if "q" in names:
        out["q"] = (s / n)[None]
    if "r_plus" in names:
        out["r_plus"] = jnp.sqrt(rp2)[None]
    if "r_minus" in names:
        out["r_minus"] = jnp.sqrt(rm2)[None]
    if "k" in names:
        out["k"] = k.astype(jnp.int32)[None]
    if "gram" in names:
        out["gram"] = (s / n)[None, None]
    return out


def from_gram_factor(r: Array, n: Array, names: tuple[str, ...]) -> dict[str, Array]:
    """Multi-input records from an upper-triangular factor R of the Gram matrix G = RᵀR = zᵀz (M, M)."""
    g = r.T @ r
    d = jnp.diagonal(g)
    out: dict[str, Array] = {}
    if "norm" in names:
        out["norm"] = jnp.sqrt(d)
    if "q" in names:
        out["q"] = d / n
    if "gram" in names:
        out["gram"] = g / n
    return out
