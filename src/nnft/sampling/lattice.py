r"""Lattice (pre-activation) sampler: the weights integrated out, exactly, at every finite width.

Main result of the lattice paper (eq. 9 and appendix 8.1, eq. 33–37): given layer l−1, the weights and
biases of layer l enter only through :math:`z^l_\alpha = \sum_\beta W^l_{\alpha\beta}\phi_\beta + b^l_\alpha`,
a linear function of independent Gaussians. Hence the rows :math:`z^l_{\alpha\cdot} \in \mathbb R^M`
(unit α, all M inputs) are iid

.. math:: z^l_{\alpha\cdot} \sim \mathcal N(0, \Sigma^l),\qquad
          \Sigma^l_{ab} = \frac{\sigma_w^2}{N_{l-1}}\,\Phi_{\cdot a}\!\cdot\Phi_{\cdot b} + \sigma_b^2,
          \qquad \Phi = \phi_l(z^{l-1}) \in \mathbb R^{N_{l-1}\times M}

(eq. 37: Σ = σw² φφᵀ/N + σb² **1**), independent of everything before layer l−1. For one input this is
eq. (10): each unit is iid :math:`\mathcal N(0, \sigma_w^2|\phi(z^{l-1})|^2/N_{l-1} + \sigma_b^2)`.

The paper divides by |Σ| and inverts Σ, which needs N_l ≫ M ("more care must be taken when
N_l + 1 ∼ |M|"). We never invert: write Σ = AᵀA with

.. math:: A = \begin{pmatrix} \sigma_w N_{l-1}^{-1/2}\,\Phi \\ \sigma_b\,\mathbf 1^T\end{pmatrix}
          \in \mathbb R^{(N_{l-1}+1)\times M},

and draw :math:`z_{\alpha\cdot} = g_\alpha^T F` with :math:`g_\alpha` standard normal and any F with
FᵀF = Σ. This is exact for every rank of Σ (duplicate inputs, N_{l-1} + 1 < M, σb = 0):

* M = 1: :math:`F = \sqrt{\Sigma}` (a scalar), cost O(N_{l-1} + N_l);
* N_{l-1} + 1 ≤ M: F = A itself (g has N_{l-1}+1 entries) — cost O(N_{l-1} M) per unit;
* otherwise F = R from the thin QR decomposition A = QR (R is M×M, RᵀR = AᵀA = Σ exactly, also when Σ is
  singular — no Cholesky, so nothing fails), cost O(N_{l-1} M²) for the QR plus O(N_l M²) for the draws.

Per layer the cost is O((N_{l-1} + N_l) M²) instead of the weight-space O(N_l N_{l-1} M): for one input,
about N/2 times fewer Gaussian draws (N + 1 per layer instead of N² + N).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._plan import Plan, propagate

Array = jnp.ndarray

__all__ = ["lattice_layer", "lattice_network_fn", "covariance_factor"]


def covariance_factor(phi: Array, fan_in: int, sw2, sb2) -> Array:
    r"""F with FᵀF = Σ = σw² ΦᵀΦ/fan_in + σb² **11**ᵀ, for Φ of shape (fan_in, M); F has M columns.

    F = A (rows: fan_in + 1) when fan_in + 1 ≤ M, else the M×M triangular factor R of A's QR decomposition.
    """
    m = phi.shape[1]
    dt = phi.dtype
    a = jnp.concatenate(
        [jnp.sqrt(sw2 / fan_in).astype(dt) * phi, jnp.sqrt(sb2).astype(dt) * jnp.ones((1, m), dt)], axis=0
    )
    if fan_in + 1 <= m:
        return a
    return jnp.linalg.qr(a, mode="r")


def lattice_layer(phi: Array, fan_in: int, width: int, sw2, sb2, key: Array) -> Array:
    """One exact draw of z^l (width, M) given Φ = φ_l(z^{l-1}) (fan_in, M)."""
    m = phi.shape[1]
    dt = phi.dtype
    if m == 1:
        v = sw2 * jnp.sum(phi * phi) / fan_in + sb2
        return jnp.sqrt(v).astype(dt) * jax.random.normal(key, (width, 1), dt)
    f = covariance_factor(phi, fan_in, sw2, sb2)
    g = jax.random.normal(key, (width, f.shape[0]), dt)
    return g @ f


def lattice_network_fn(plan: Plan):
    """f(net_key, x (M, d), sw (L,), sb (L,), qs (L, M), aux) -> records of one network (aux unused)."""

    def f(net_key, x, sw, sb, qs, aux=None):
        return propagate(plan, net_key, x, sw, sb, qs, lattice_layer)

    return f
