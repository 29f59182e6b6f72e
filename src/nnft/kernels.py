r"""NNGP kernel maps: the variance map, the covariance/correlation map and their depth composition.

Convention (``docs/conventions.md``): a depth-L fully connected network computes

.. math::
   z^1 = W^1 x + b^1,\qquad z^l = W^l \phi_l(z^{l-1}) + b^l\ (l = 2..L),\qquad
   W^l_{ij} \sim \mathcal N(0, \sigma_{w,l}^2/n_{l-1}),\ b^l_i \sim \mathcal N(0, \sigma_{b,l}^2),

and its NNGP kernel of depth L is :math:`K^L_{ab} = \lim_{n\to\infty}\mathbb E[z^L_i(x_a) z^L_i(x_b)]`:

.. math::
   K^1_{ab} = \sigma_{w,1}^2\, x_a\!\cdot x_b/d_{in} + \sigma_{b,1}^2,\qquad
   K^{l}_{ab} = \sigma_{w,l}^2\, \mathbb E_{K^{l-1}}[\phi_l(z_a)\phi_l(z_b)] + \sigma_{b,l}^2

(Poole et al. 2016 eq. 3–5; SPS17 §2; RYH eq. 4.7; Grosvenor–Jefferson note §3 and §7). The
single-input restriction is the *variance map* :math:`q \mapsto \sigma_w^2\mathbb E[\phi(\sqrt q z)^2] + \sigma_b^2`,
and at fixed diagonal the *correlation map* :math:`c \mapsto (\sigma_w^2 \mathbb E[\phi(u_1)\phi(u_2)] + \sigma_b^2)/q`.

All maps are JAX functions (float64) and differentiable in the kernel entries; ``kernel_map_jacobian``
gives :math:`\partial K^{l+1}_{ab}/\partial K^{l}_{cd}` over the independent (upper-triangular) entries,
as the 1/N theory (RYH ch. 4) and the replica solver need.

Evaluation of the M×M map: closed-form activations are evaluated entrywise. Other activations use the
Hermite (dual-activation) expansion :math:`\mathbb E[\phi(u)\phi(v)] = \sum_k h_k(q_1) h_k(q_2) c^k`,
:math:`h_k(q) = \mathbb E[\phi(\sqrt q z)\,\mathrm{He}_k(z)]/\sqrt{k!}`, truncated after
``HERMITE_TERMS`` terms (fewer when the bound below is < 1e-13 earlier). The truncation error is bounded by
:math:`|c|^{K}\sqrt{T(q_1)T(q_2)}` with :math:`T(q) = \mathbb E\phi^2 - \sum_{k<K} h_k^2` (Cauchy–Schwarz);
for tanh it is < 1e-12 for q ≤ 1, ~1e-9 at q = 3 and ~1e-6 at q = 10 in the worst case c → 1, and the
diagonal is always exact (1-D quadrature). :func:`hermite_truncation_bound` returns the bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, get_activation
from .errors import NNFTInputError, check_finite_array, check_positive_int, check_variance
from .gaussian import split_rule

Array = jnp.ndarray

HERMITE_TERMS = 256
_HERMITE_NODES = 256  # per half-line (split rule)

__all__ = [
    "Layer",
    "make_layers",
    "variance_map",
    "correlation_map",
    "covariance_map",
    "input_kernel",
    "nngp_kernel",
    "kernel_map_jacobian",
    "hermite_coefficients",
    "hermite_truncation_bound",
]


@dataclass(frozen=True)
class Layer:
    r"""One layer's parameters: :math:`z^l = W^l\phi(z^{l-1}) + b^l` with Var W = σw²/fan_in, Var b = σb²."""

    activation: Activation
    sw2: float
    sb2: float


def make_layers(
    depth: int,
    activation: str | Activation | Sequence[str | Activation] = "tanh",
    sw2: float | Sequence[float] = 1.0,
    sb2: float | Sequence[float] = 0.0,
) -> tuple[Layer, ...]:
    """Per-layer parameters for layers 2..depth (the maps applied after the input layer), validated.

    ``activation``, ``sw2``, ``sb2`` are scalars (same for every layer) or sequences of length
    ``depth`` (entry l−1 belongs to layer l; the activation of layer 1 is unused: the input enters
    linearly). Returns a tuple of length ``depth`` (layer 1 first).
    """
    depth = check_positive_int("depth", depth)

    def per_layer(name: str, v):
        if isinstance(v, (str, Activation)) or callable(v) or np.ndim(v) == 0:
            return [v] * depth
        v = list(v)
        if len(v) != depth:
            raise NNFTInputError(name, f"needs one value per layer ({depth}), got {len(v)}")
        return v

    acts = [get_activation(a) for a in per_layer("activation", activation)]
    sw = [check_variance(f"sw2[{i}]" if np.ndim(sw2) else "sw2", s) for i, s in enumerate(per_layer("sw2", sw2))]
    sb = [check_variance(f"sb2[{i}]" if np.ndim(sb2) else "sb2", s) for i, s in enumerate(per_layer("sb2", sb2))]
    return tuple(Layer(a, w, b) for a, w, b in zip(acts, sw, sb))


# ---------------------------------------------------------------------------- single-input maps
def variance_map(activation: str | Activation, sw2: float, sb2: float, q: Array | float) -> Array:
    r"""Length map :math:`q^{l+1} = \sigma_w^2 \mathbb E[\phi(\sqrt{q^l} z)^2] + \sigma_b^2` (Poole et al. eq. 3)."""
    act = get_activation(activation)
    return sw2 * act.second_moment(q) + sb2


def correlation_map(activation: str | Activation, sw2: float, sb2: float, q: Array | float, c: Array | float) -> Array:
    r"""Correlation map at equal diagonals q (Poole et al. eq. 5):
    :math:`c \mapsto [\sigma_w^2 \mathbb E\phi(u_1)\phi(u_2) + \sigma_b^2]/q^{+}` with :math:`q^{+}` the mapped diagonal."""
    act = get_activation(activation)
    q = jnp.asarray(q, dtype=float)
    q_next = sw2 * act.second_moment(q) + sb2
    return (sw2 * act.two_point(q, c * q, q) + sb2) / q_next


# ---------------------------------------------------------------------------- Hermite expansion
@lru_cache(maxsize=8)
def _hermite_table(order: int, terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised probabilists' Hermite functions He_k(x)/√k! at the quadrature nodes, shape (terms, order)."""
    x, w = split_rule(order)
    psi = np.zeros((terms, x.size))
    psi[0] = 1.0
    if terms > 1:
        psi[1] = x
    for k in range(1, terms - 1):
        psi[k + 1] = (x * psi[k] - math.sqrt(k) * psi[k - 1]) / math.sqrt(k + 1)
    return x, w, psi


def hermite_coefficients(activation: str | Activation, q: Array, *, terms: int = HERMITE_TERMS) -> Array:
    r""":math:`h_k(q) = \mathbb E[\phi(\sqrt q z)\mathrm{He}_k(z)]/\sqrt{k!}`, shape q.shape + (terms,)."""
    act = get_activation(activation)
    if not act.smooth:
        raise NNFTInputError("activation", f"{act.name!r} is not smooth; use its closed form")
    x, w, psi = _hermite_table(max(_HERMITE_NODES, terms), terms)
    q = jnp.asarray(q, dtype=float)
    u = jnp.sqrt(q)[..., None] * x
    fx = act(u, q[..., None]) if act.needs_variance else act(u)
    return jnp.einsum("...n,kn->...k", fx * w, psi)


def hermite_truncation_bound(activation: str | Activation, q: Array, *, terms: int = HERMITE_TERMS) -> Array:
    r"""Tail :math:`T(q) = \mathbb E\phi^2 - \sum_{k<K} h_k(q)^2`; the pair error is ≤ |c|^K √(T(q1) T(q2))."""
    act = get_activation(activation)
    h = hermite_coefficients(act, q, terms=terms)
    return jnp.clip(act.second_moment(q) - jnp.sum(h**2, axis=-1), 0.0, None)


# ---------------------------------------------------------------------------- M×M maps
def _is_concrete(x) -> bool:
    """True for a concrete array, False under a JAX trace (jit/grad/vmap)."""
    try:
        np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return False
    return True


def _terms_needed(act: Activation, d: Array, tol: float = 1e-13) -> int:
    """Smallest multiple of 32 Hermite terms whose truncation bound (at |c| = 1) is below ``tol``.

    Only for concrete diagonals; under a JAX trace all ``HERMITE_TERMS`` are used.
    """
    dmax = jnp.max(d)
    h = hermite_coefficients(act, dmax[None])[0]
    tail = act.second_moment(dmax) - jnp.cumsum(h**2)
    ok = np.flatnonzero(np.asarray(tail) <= tol)
    k = int(ok[0]) + 1 if ok.size else HERMITE_TERMS
    return min(HERMITE_TERMS, 32 * -(-k // 32))


@partial(jax.jit, static_argnums=(0, 2))
def _two_point_matrix(act: Activation, K: Array, terms: int = HERMITE_TERMS) -> Array:
    r"""The matrix :math:`\mathbb E_K[\phi(z_a)\phi(z_b)]` for z ~ N(0, K)."""
    d = jnp.diagonal(K)
    if act.has_closed_two_point:
        out = act.two_point(d[:, None], K, d[None, :])
        return out.at[jnp.diag_indices(K.shape[0])].set(act.second_moment(d))
    h = hermite_coefficients(act, d, terms=terms)  # (M, terms)
    s = jnp.sqrt(jnp.outer(d, d))
    c = jnp.clip(K / jnp.where(s > 0, s, 1.0), -1.0, 1.0)

    def horner(k, acc):  # sum_k h_k h_k^T c^k, highest power first
        j = terms - 1 - k
        return acc * c + jnp.outer(h[:, j], h[:, j])

    acc = jax.lax.fori_loop(0, terms, horner, jnp.zeros_like(K))
    return acc.at[jnp.diag_indices(K.shape[0])].set(act.second_moment(d))


def covariance_map(activation: str | Activation, sw2: float, sb2: float, K: Array) -> Array:
    r"""One layer of the NNGP recursion on an M×M kernel: :math:`K' = \sigma_w^2\mathbb E_K[\phi\phi^T] + \sigma_b^2`."""
    act = get_activation(activation)
    K = jnp.asarray(K, dtype=float)
    terms = HERMITE_TERMS
    if not act.has_closed_two_point and _is_concrete(K):
        terms = _terms_needed(act, jnp.diagonal(K))
    return sw2 * _two_point_matrix(act, K, terms) + sb2


def input_kernel(X: Array, sw2: float = 1.0, sb2: float = 0.0) -> Array:
    r"""First-layer kernel :math:`K^1 = \sigma_w^2 XX^T/d_{in} + \sigma_b^2` for inputs X of shape (M, d_in)."""
    X = jnp.asarray(X, dtype=float)
    return sw2 * (X @ X.T) / X.shape[1] + sb2


def _check_inputs(X) -> np.ndarray:
    X = check_finite_array("inputs", X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise NNFTInputError("inputs", f"must have shape (M, d_in), got {X.shape}")
    return X


def nngp_kernel(
    X: Array,
    depth: int,
    activation: str | Activation | Sequence[str | Activation] = "tanh",
    sw2: float | Sequence[float] = 1.0,
    sb2: float | Sequence[float] = 0.0,
    *,
    all_layers: bool = False,
) -> Array:
    r"""NNGP kernel :math:`K^L` (M×M) of a depth-L network on inputs X (M, d_in).

    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> nngp_kernel(X, depth=3, activation="relu", sw2=2.0, sb2=0.1).shape
    (5, 5)

    With ``all_layers=True`` returns the stack :math:`(K^1, \dots, K^L)`, shape (L, M, M).
    """
    X = _check_inputs(X)
    layers = make_layers(depth, activation, sw2, sb2)
    K = input_kernel(X, layers[0].sw2, layers[0].sb2)
    out = [K]
    for layer in layers[1:]:
        K = covariance_map(layer.activation, layer.sw2, layer.sb2, K)
        out.append(K)
    return jnp.stack(out) if all_layers else K


def _triu(M: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(M)


def kernel_map_jacobian(activation: str | Activation, sw2: float, sb2: float, K: Array) -> Array:
    r"""Jacobian :math:`J_{rs} = \partial F_r/\partial g_s` of the covariance map over independent entries.

    r, s run over the upper triangle (row-major, ``numpy.triu_indices``): g = (K_11, K_12, …, K_MM).
    A symmetric perturbation of the off-diagonal g_s moves both K_ab and K_ba. By forward-mode autodiff.
    """
    act = get_activation(activation)
    return _jacobian(act, float(sw2), float(sb2), jnp.asarray(K, dtype=float))


@partial(jax.jit, static_argnums=0)
def _jacobian(act: Activation, sw2: float, sb2: float, K: Array) -> Array:
    iu = _triu(K.shape[0])

    def F(g):
        Kg = jnp.zeros_like(K).at[iu].set(g)
        Kg = Kg + jnp.triu(Kg, 1).T
        return covariance_map(act, sw2, sb2, Kg)[iu]

    return jax.jacfwd(F)(K[iu])
