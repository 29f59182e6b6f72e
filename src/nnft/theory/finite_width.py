r"""Finite-width field theory of deep networks: Lyapunov exponents and the leading 1/N corrections.

The system of Grosvenor & Jefferson (GJ, SciPost Phys. 12, 081 (2022)) as reconstructed in
``shared/notes/grosvenor_jefferson.md`` ("note"), in the implementable form of Yaida (2019) and
Roberts, Yaida & Hanin ("RYH", *The Principles of Deep Learning Theory*, ch. 4–5). Conventions are
those of ``docs/conventions.md``: :math:`z^1 = W^1x + b^1`, :math:`z^l = W^l\phi(z^{l-1}) + b^l`,
:math:`\mathrm{Var}\,W^l_{ij} = C_W/n_{l-1}`, :math:`\mathrm{Var}\,b^l_i = C_b` (``sw2 = C_W``, ``sb2 = C_b``);
layer 1 has kernel :math:`K^{(1)} = C_b + C_W\,x_a\!\cdot x_b/n_0`.

1. Lyapunov exponent (note §4, §9.2)
-------------------------------------
Mean field (the saddle point, GJ): :math:`\lambda_\infty = \tfrac12\ln\chi_1`,
:math:`\chi_1 = C_W\langle\phi'^2\rangle_{q^*}` (per layer, for the norm of a tangent vector).
At width N the exponent of a feed-forward network is :math:`\lambda = \lambda_\infty + \lambda_1/N + O(N^{-2})`
with (derived here; see :func:`lyapunov_exponent`, checked against simulations in the tests)

.. math::
   2\lambda_1 = -\tfrac12\Big(\frac{3\langle\phi'^4\rangle}{\langle\phi'^2\rangle^2} - 1\Big)
     + \overline{N\kappa^2}\Big(\frac{\langle\phi'^2 z^2\rangle}{q^*\langle\phi'^2\rangle} - 1\Big)
     + (\ln\chi)'\,K_1^* + \tfrac12(\ln\chi)''\,V^*,
   \qquad \overline{N\kappa^2} = \frac{C_W^2\langle\phi^2\phi'^2\rangle}{q^*\chi_1\,(1 - \chi_\parallel^2/\chi_1)},

where :math:`\chi(q) = C_W\langle\phi'^2\rangle_q` and :math:`K_1^*, V^*` are the stationary single-input
NLO kernel and four-point vertex (§2 below). Derivation: conditioned on layer l−1, the pairs
(z_i, v_i) of pre-activation and tangent are i.i.d. bivariate Gaussian, so
:math:`|v^{l+1}|^2/|v^l|^2` telescopes into :math:`\prod_l C_W\,\tfrac1N\sum_j\phi'(z_j)^2a_j^2` with
:math:`a_j` the normalised tangent components. The four terms are (i) the χ²-type noise of that
empirical mean (Jensen: −Var/2), (ii) the O(N^{-1/2}) correlation κ between z and the tangent,
which follows the AR(1) recursion :math:`\kappa' = (\chi_\parallel/\sqrt{\chi_1})\kappa + \eta`,
(iii)–(iv) the mean shift K1/N and the variance V/N of the conditional variance
:math:`\hat G`. Linear networks: :math:`\lambda = \tfrac12\ln C_W + \tfrac12[\psi(N/2) - \ln(N/2)]` exactly
(:math:`\lambda_1 = -1/2`); piecewise-linear (ReLU family): only term (i) survives (ReLU: −5/4).

2. The 1/N expansion (note §7–8; RYH eq. 4.118 ff.)
---------------------------------------------------
Conditioned on layer l, layer l+1 is exactly Gaussian with the random covariance
:math:`\hat G^{(l+1)} = C_b + \tfrac{C_W}{n_l}\sum_j\sigma(z^l_j)\sigma(z^l_j)^T`. With
:math:`F(K) = C_b + C_W\langle\sigma\sigma^T\rangle_K` acting on the independent (upper-triangular)
entries g of the kernel, :math:`J = \partial F/\partial g` and :math:`H = \partial^2F/\partial g\,\partial g`
(both by JAX autodiff of :func:`nnft.kernels.covariance_map`), the "stochastic-metric" recursion is

.. math::
   K^{(l+1)} &= F(K^{(l)}),\\
   V^{(l+1)} &= C_W^2\,\mathrm{Cov}_{K^{(l)}}[\sigma_a\sigma_b,\ \sigma_c\sigma_d] + \frac{n_l}{n_{l-1}}\,J V^{(l)}J^T,\\
   K_1^{(l+1)} &= \frac{n_l}{n_{l-1}}\Big(J K_1^{(l)} + \tfrac12 H : V^{(l)}\Big),\qquad K_1^{(1)} = V^{(1)} = 0,

giving :math:`G^{(l)} = \mathbb E[z^l z^{lT}] = K^{(l)} + K_1^{(l)}/n_{l-1}` (RYH's NLO metric) and
:math:`\mathrm{Cov}(\hat G^{(l)}_r, \hat G^{(l)}_s) = V^{(l)}_{rs}/n_{l-1}` (RYH's four-point vertex). For a single
input this is the closed-form recursion of note §7 (:func:`single_input_recursion`, an independent
cross-check with χ∥ and the fourth-derivative formula for K1).

**Which correlation.** ``correlation(n)`` is :math:`c = G_{12}/\sqrt{G_{11}G_{22}}` with G the ensemble two-point
function (ratio of ensemble means, note §9.7), evaluated without re-expanding the ratio in 1/n.

**Correlation length.** :func:`fit_correlation_length` fits :math:`c^{(l)} = c_\infty + A e^{-l/\xi}` over a window
of layers (c_∞ free, so it works in both phases and on finite-width curves whose c_∞ moved), and
:meth:`FiniteWidthTheory.local_correlation_length` gives the layer-resolved
:math:`\xi_l = -1/\ln[(c_{l+2}-c_{l+1})/(c_{l+1}-c_l)]`. Note that the *eigenvalues* of the linearised
joint map (K, K1, V) are those of J (block-triangular structure), so the 1/N theory does not move the
asymptotic exponent: it adds secular terms :math:`\propto (l/n)\,e^{-l/\xi}` (the Jordan block of the
repeated eigenvalue), i.e. the fitted ξ over any finite window shifts at O(l/n) — GJ's "O(T/N)
corrections to the correlation length".

**Breakdown.** The expansion parameter is :math:`\epsilon_l = \max_{ab} V^{(l)}_{(ab)(ab)}/(n K_{aa}K_{bb})`
(≈ 2l/n for linear, 5l/n for ReLU, (2/3)l/n for critical tanh, saturating at O(1/n) off criticality); the
relative error of the leading-order V is ≈ ε/2 (note §9.4–9.5). Evaluating at a width where ε > 0.1 emits a
:class:`FiniteWidthBreakdownWarning`.

**Accuracy of the four-point expectation.** :math:`\mathrm{Cov}_K[\sigma_a\sigma_b, \sigma_c\sigma_d]` needs
:math:`\mathbb E[\prod_k\sigma(z_{i_k})^{p_k}]` over the d ≤ 4 distinct inputs involved: d = 1 uses the
activation's 1-D rule (closed form for the ReLU family); d = 2 uses a tensor-product rule through the
Cholesky factor, 192² nodes by default, each dimension the split rule of :mod:`nnft.gaussian` (Gauss–Legendre
on both half-lines): tanh, c = 0.8, against 512²: < 1e-14 for K ≤ 10 (plain Gauss–Hermite with the same
nodes gives 1e-12 / 5e-9 / 1e-4 at K = 1.5 / 3 / 10: it converges only like exp(−c√n) once the poles of
tanh(√K z) approach the real axis); for the piecewise-linear family an exact polar rule (radial moment
times Gauss–Legendre on the arcs between kinks: machine precision); d = 3 (M ≥ 3 inputs) the split rule
with 48³ nodes (tanh: 4e-10 / 4e-9 / 8e-8 at K = 0.5 / 1.5 / 3); d = 4 Gauss–Hermite with 24⁴ nodes
(2e-9 / 6e-6 / 1.4e-4 at K = 0.5 / 1.5 / 3; raise ``orders`` for more; the split rule is worse at so
few nodes). d ≥ 3 is refused for non-smooth activations. J and H come from
:func:`nnft.kernels.covariance_map` (Hermite expansion for tanh); F, J and H agree with autodiff of an
independent 320² split-rule map through the Cholesky factor to ≤ 2e-12 (tanh, K = 1.4–3, 1 − c down to 1e-4).

3. Exact finite-N linear controls (note §5.3, §9.5)
---------------------------------------------------
Linear φ, C_b = 0: :math:`\mathrm{Var}(|z^l|^2/n)/K^2 = (1+2/n)^l - 1` (:func:`linear_kernel_fluctuation`),
:math:`V^{(l)}/K^2 = n[(1+2/n)^{l-1} - 1]` resummed vs 2(l−1) at leading order; with bias the stationary
:math:`\mathrm{Var}(s) = 2m^2/(N[1-C_W^2(1+2/N)])`, m = C_b/(1 − C_W) (:func:`linear_stationary_variance`),
the lag-k correlation of s is exactly :math:`C_W^k` (:func:`linear_lag_correlation`; "σw^{2k}"), and G has no
1/N correction (K1 ≡ 0, which the recursion reproduces: H = 0).

4. Recurrent networks (note §2, §3, §5 item 5)
----------------------------------------------
With one (W, b) shared by every step, the mean-field (saddle-point) *equal-time* kernel is identical to the
feed-forward one, :math:`Q^*(t,t) = K^{(t)}`; so are χ₁ and the infinite-width Lyapunov exponent. What differs:

* the cross-time kernel Q(t, s), t ≠ s, is O(1) for the RNN (shared W, b) and purely bias-induced for the DNN;
* at O(1/N) the RNN is *not* conditionally Gaussian layer by layer: Ĝ is not a Markov chain, so the V and K1
  recursions above do not apply. Reusing W creates index "returns" such as
  :math:`\mathbb E[W_{ij}W_{ji}] = C_W\delta_{ij}/N`, i.e. :math:`\mathbb E\,\mathrm{tr}\,W^2/N = C_W/N`: for a linear RNN
  with bias, :math:`\mathbb E[(W^k b)\cdot(W^j b)]/N \neq 0` at O(1/N) for k ≠ j, k + j even. Example (exact to
  O(1/N)): z⁴ = W³z¹ + W²b + Wb + b gives :math:`G^{(4)}_{RNN} - G^{(4)}_{FFN} = 2C_WC_b/N + O(N^{-2})`, while the
  linear FFN has no 1/N term at all (:func:`rnn_linear_g4_shift`; measured in the tests);
* the finite-N Lyapunov exponent of an RNN is that of a *fixed* random map (quenched W, b), not of the
  annealed product behind λ₁ above; only λ∞ is shared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import curve_fit
from scipy.special import digamma

from ..activations import Activation, get_activation
from ..errors import NNFTInputError, check_finite_array, check_positive_int, check_variance
from ..gaussian import gauss_hermite, split_rule
from ..kernels import covariance_map, make_layers
from ..meanfield import fixed_point_q

Array = jnp.ndarray

__all__ = [
    "FiniteWidthBreakdownWarning",
    "LyapunovTheory",
    "lyapunov_exponent",
    "measure_lyapunov",
    "FiniteWidthTheory",
    "finite_width_theory",
    "single_input_recursion",
    "kernel_map_derivatives",
    "four_point_covariance",
    "fit_correlation_length",
    "inputs_with_overlap",
    "linear_kernel_fluctuation",
    "linear_vertex_exact",
    "linear_stationary_variance",
    "linear_lag_correlation",
    "rnn_linear_g4_shift",
    "BREAKDOWN_EPSILON",
]

BREAKDOWN_EPSILON = 0.1
ORDER_2D = 192
ORDER_3D = 48
ORDER_4D = 24
_POLAR_ORDER = 24


class FiniteWidthBreakdownWarning(UserWarning):
    """The leading 1/N theory is evaluated where its expansion parameter (≈ depth/width) is not small."""


# ============================================================================ helpers
def _tri_pairs(M: int) -> list[tuple[int, int]]:
    i, j = np.triu_indices(M)
    return list(zip(i.tolist(), j.tolist()))


def _sym(g: Array, M: int) -> Array:
    iu = np.triu_indices(M)
    K = jnp.zeros((M, M), dtype=g.dtype).at[iu].set(g)
    return K + jnp.triu(K, 1).T


def _slopes(act: Activation) -> tuple[float, float] | None:
    """(a, b) for a piecewise-linear activation φ(x) = a x (x<0), b x (x≥0); else None."""
    p = act.params
    if "neg_slope" in p and "pos_slope" in p:
        return float(p["neg_slope"]), float(p["pos_slope"])
    return None


def inputs_with_overlap(c0: float, d_in: int = 2) -> np.ndarray:
    r"""Two inputs (2, d_in) with :math:`|x_a|^2/d_{in} = 1` and overlap :math:`x_1\cdot x_2/d_{in} = c_0` (note §9.7)."""
    c0 = float(c0)
    if not -1.0 <= c0 <= 1.0:
        raise NNFTInputError("c0", f"an overlap must lie in [-1, 1], got {c0!r}")
    d_in = check_positive_int("d_in", d_in, minimum=2)
    X = np.zeros((2, d_in))
    X[0, 0] = 1.0
    X[1, 0], X[1, 1] = c0, math.sqrt(1.0 - c0 * c0)
    return X * math.sqrt(d_in)


# ============================================================================ Gaussian moments
def _gh_tensor(order: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product rule with ``order`` nodes per dimension: the split rule (Gauss–Legendre on each
    half-line, :func:`nnft.gaussian.split_rule`) for d ≤ 3, Gauss–Hermite for d = 4, where only ~24 nodes
    per dimension are affordable and Gauss–Hermite is the more accurate of the two."""
    x, w = split_rule(max(order // 2, 1)) if d <= 3 else gauss_hermite(order)
    grids = np.meshgrid(*([x] * d), indexing="ij")
    wts = np.meshgrid(*([w] * d), indexing="ij")
    return np.stack([g.ravel() for g in grids], -1), np.prod(np.stack([v.ravel() for v in wts], -1), -1)


def _factor(K: Array) -> Array:
    """Any A with A Aᵀ = K (K PSD, possibly singular)."""
    d = K.shape[-1]
    if d == 1:
        return jnp.sqrt(jnp.clip(K, 0.0, None))
    if d == 2:
        l00 = jnp.sqrt(jnp.clip(K[0, 0], 0.0, None))
        l10 = jnp.where(l00 > 0, K[1, 0] / jnp.where(l00 > 0, l00, 1.0), 0.0)
        l11 = jnp.sqrt(jnp.clip(K[1, 1] - l10**2, 0.0, None))
        return jnp.array([[l00, 0.0], [l10, l11]])
    e, U = jnp.linalg.eigh(K)
    return U * jnp.sqrt(jnp.clip(e, 0.0, None))[None, :]


def _polar_moment(a: float, b: float, L: Array, powers: tuple[int, ...]) -> Array:
    r""":math:`\mathbb E\prod_k\phi(\ell_k\cdot\xi)^{p_k}`, ξ ~ N(0, I₂), φ piecewise linear (homogeneous of degree 1).

    = :math:`\mathbb E\rho^D\cdot\frac1{2\pi}\int_0^{2\pi}\prod_k\phi(\ell_k\cdot e_\theta)^{p_k}d\theta`, D = Σp,
    :math:`\mathbb E\rho^D = 2^{D/2}\Gamma(1+D/2)`; the angular integrand is smooth between the kink angles
    (where some ℓ_k·e_θ = 0), so Gauss–Legendre on each arc is exact to machine precision.
    """
    D = sum(powers)
    radial = 2 ** (D / 2) * math.gamma(1 + D / 2)
    base = jnp.arctan2(L[:, 1], L[:, 0]) + jnp.pi / 2
    kinks = jnp.mod(jnp.concatenate([base, base + jnp.pi]), 2 * jnp.pi)
    edges = jnp.sort(jnp.concatenate([jnp.array([0.0, 2 * jnp.pi]), kinks]))
    x, w = np.polynomial.legendre.leggauss(_POLAR_ORDER)
    lo, hi = edges[:-1], edges[1:]
    th = 0.5 * (hi - lo)[:, None] * (x[None, :] + 1.0) + lo[:, None]
    wt = 0.5 * (hi - lo)[:, None] * w[None, :]
    e = jnp.stack([jnp.cos(th), jnp.sin(th)], -1)  # (arcs, nodes, 2)
    val = jnp.ones_like(th)
    for k, p in enumerate(powers):
        t = e @ L[k]
        val = val * jnp.where(t >= 0, b * t, a * t) ** p
    return radial * jnp.sum(wt * val) / (2 * jnp.pi)


def _product_moment(act: Activation, K: Array, idx: tuple[int, ...], powers: tuple[int, ...], orders) -> Array:
    r""":math:`\mathbb E_K[\prod_k\phi(z_{idx_k})^{p_k}]` over the distinct inputs ``idx``."""
    d = len(idx)
    sub = K[jnp.ix_(np.array(idx), np.array(idx))]
    if d == 1:
        return act.moment(sub[0, 0], powers[0])
    slopes = _slopes(act)
    if not act.smooth:
        if slopes is not None and d == 2:
            return _polar_moment(*slopes, _factor(sub), powers)
        raise NNFTInputError(
            "activation",
            f"{act.name!r} is not smooth: its {d}-input four-point expectation needs a closed form "
            "(available for the piecewise-linear family with at most 2 inputs)",
        )
    nodes, wts = _gh_tensor({2: orders[0], 3: orders[1], 4: orders[2]}[d], d)
    z = jnp.asarray(nodes) @ _factor(sub).T
    val = jnp.ones(z.shape[0])
    for k, p in enumerate(powers):
        val = val * act.fn(z[:, k]) ** p
    return jnp.sum(jnp.asarray(wts) * val)


def _moment_plan(M: int):
    """Static structure: the distinct index multisets of pairs and pairs-of-pairs."""
    pairs = _tri_pairs(M)

    def key(ix):
        u = sorted(set(ix))
        return tuple(u), tuple(ix.count(i) for i in u)

    two = [key([a, b]) for a, b in pairs]
    four = {}
    for r, (a, b) in enumerate(pairs):
        for s, (c, d) in enumerate(pairs):
            if s >= r:
                four[(r, s)] = key([a, b, c, d])
    return pairs, two, four


def four_point_covariance(activation: str | Activation, K, *, orders: tuple[int, int, int] = (ORDER_2D, ORDER_3D, ORDER_4D)) -> Array:
    r""":math:`\mathrm{Cov}_K[\sigma_a\sigma_b, \sigma_c\sigma_d] = \langle\sigma_a\sigma_b\sigma_c\sigma_d\rangle_K - \langle\sigma_a\sigma_b\rangle_K\langle\sigma_c\sigma_d\rangle_K`.

    Over the independent pairs r = (a, b), s = (c, d) (``numpy.triu_indices`` order), shape (P, P); z ~ N(0, K).
    Without the factor C_W² of the V recursion. ``orders`` = Gauss–Hermite points per dimension for 2, 3, 4
    distinct inputs (see the module docstring for accuracy).
    """
    act = get_activation(activation)
    K = jnp.asarray(check_finite_array("K", K, ndim=2), dtype=float)
    return _four_point_cov(act, K, tuple(orders))


@partial(jax.jit, static_argnums=(0, 2))
def _four_point_cov(act: Activation, K: Array, orders) -> Array:
    M = K.shape[0]
    pairs, two, four = _moment_plan(M)
    cache: dict = {}

    def mom(k):
        if k not in cache:
            cache[k] = _product_moment(act, K, k[0], k[1], orders)
        return cache[k]

    m2 = jnp.stack([mom(k) for k in two])
    P = len(pairs)
    out = jnp.zeros((P, P))
    for (r, s), k in four.items():
        v = mom(k) - m2[r] * m2[s]
        out = out.at[r, s].set(v).at[s, r].set(v)
    return out


# ============================================================================ kernel-map derivatives
def _F(act: Activation, sw2, sb2, M: int):
    iu = np.triu_indices(M)

    def F(g):
        return covariance_map(act, sw2, sb2, _sym(g, M))[iu]

    return F


@partial(jax.jit, static_argnums=0)
def _map_derivatives(act: Activation, sw2, sb2, K: Array):
    M = K.shape[0]
    F = _F(act, sw2, sb2, M)
    g = K[np.triu_indices(M)]
    return F(g), jax.jacfwd(F)(g), jax.jacfwd(jax.jacfwd(F))(g)


def kernel_map_derivatives(activation: str | Activation, sw2: float, sb2: float, K) -> tuple[Array, Array, Array]:
    r"""(F(g), J, H) of the covariance map over the independent entries g = K[triu], by JAX autodiff.

    :math:`J_{rs} = \partial F_r/\partial g_s` (P, P) — the same object as :func:`nnft.kernels.kernel_map_jacobian`;
    :math:`H_{rst} = \partial^2F_r/\partial g_s\partial g_t` (P, P, P). Forward-over-forward mode through
    :func:`nnft.kernels.covariance_map` (closed forms where they exist, the Hermite expansion otherwise).
    """
    act = get_activation(activation)
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    K = jnp.asarray(check_finite_array("K", K, ndim=2), dtype=float)
    return _map_derivatives(act, jnp.float64(sw2), jnp.float64(sb2), K)


@partial(jax.jit, static_argnums=(0, 4))
def _layer_step(act: Activation, sw2, sb2, K: Array, orders, K1: Array, V: Array, ratio):
    """One layer of the stochastic-metric recursion (note §8): (K, K1, V) of layer l → layer l+1."""
    M = K.shape[0]
    Fg, J, H = _map_derivatives(act, sw2, sb2, K)
    C4 = sw2**2 * _four_point_cov(act, K, orders)
    iu = np.triu_indices(M)
    k1 = K1[iu]
    k1_new = ratio * (J @ k1 + 0.5 * jnp.einsum("rst,st->r", H, V))
    V_new = C4 + ratio * J @ V @ J.T
    return _sym(Fg, M), _sym(k1_new, M), V_new


# ============================================================================ the 1/N theory
@dataclass(frozen=True)
class FiniteWidthTheory:
    r"""Layer-by-layer leading-order kernel K, NLO kernel K1 and four-point vertex V (note §7–8).

    Arrays are indexed by layer l = 1..L at position l−1: ``K``, ``K1`` (L, M, M); ``V`` (L, P, P) over
    the independent pairs ``pairs`` (upper triangle, row-major). ``widths`` (L,) are the hidden widths
    n_1..n_L when given (then K1, V carry RYH's n_l/n_{l-1} factors and G uses n_{l-1}); ``None`` means
    equal widths, to be named when evaluating.
    """

    activation: str
    sw2: tuple[float, ...]
    sb2: tuple[float, ...]
    K: np.ndarray
    K1: np.ndarray
    V: np.ndarray
    pairs: tuple[tuple[int, int], ...]
    widths: np.ndarray | None = None
    quadrature: dict = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.K.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.K.shape[1]

    # -- widths ----------------------------------------------------------------------------
    def _fan_in(self, width) -> np.ndarray:
        """n_{l-1} for layers l = 1..L (the entry of layer 1 is irrelevant: K1 = V = 0 there)."""
        if width is None:
            if self.widths is None:
                raise NNFTInputError("width", "this theory was built for equal widths: pass the width n")
            return np.concatenate([[self.widths[0]], self.widths[:-1]]).astype(float)
        if self.widths is not None:
            raise NNFTInputError("width", "this theory was built with per-layer widths; do not pass a width")
        if np.isinf(width):
            return np.full(self.depth, np.inf)
        return np.full(self.depth, float(check_positive_int("width", width)))

    def expansion_parameter(self, width=None) -> np.ndarray:
        r""":math:`\epsilon_l = \max_{(ab)} V^{(l)}_{(ab)(ab)}/(n_{l-1}K_{aa}K_{bb})`, per layer (see "Breakdown")."""
        n = self._fan_in(width)
        d = np.einsum("lmm->lm", self.K)
        eps = np.stack([self.V[:, r, r] / (d[:, a] * d[:, b]) for r, (a, b) in enumerate(self.pairs)], -1)
        return eps.max(-1) / n

    def _check(self, width, layers=None) -> None:
        eps = self.expansion_parameter(width)
        if layers is not None:
            eps = eps[np.asarray(layers) - 1]
        if np.any(eps > BREAKDOWN_EPSILON):
            warnings.warn(
                f"leading 1/N theory evaluated where its expansion parameter V/(n K^2) reaches {eps.max():.3g} "
                f"(> {BREAKDOWN_EPSILON}); expect relative O(1/n^2) errors of about eps/2 "
                "(note §9.4-9.5: depth/width is the expansion parameter)",
                FiniteWidthBreakdownWarning,
                stacklevel=3,
            )

    # -- observables ------------------------------------------------------------------------
    def G(self, width=None) -> np.ndarray:
        r"""Finite-width two-point function :math:`G^{(l)} = K^{(l)} + K_1^{(l)}/n_{l-1}`, (L, M, M)."""
        n = self._fan_in(width)
        self._check(width)
        return self.K + self.K1 / n[:, None, None]

    def kernel_cov(self, width=None) -> np.ndarray:
        r""":math:`\mathrm{Cov}(\hat G_r, \hat G_s) = V_{rs}/n_{l-1}` (the kernel covariance V/N), (L, P, P)."""
        n = self._fan_in(width)
        self._check(width)
        return self.V / n[:, None, None]

    def mft_correlation(self, a: int = 0, b: int = 1) -> np.ndarray:
        """Mean-field correlation :math:`K_{ab}/\\sqrt{K_{aa}K_{bb}}` per layer."""
        return self.K[:, a, b] / np.sqrt(self.K[:, a, a] * self.K[:, b, b])

    def correlation(self, width=None, a: int = 0, b: int = 1) -> np.ndarray:
        r"""Finite-width correlation :math:`c^{(l)} = G_{ab}/\sqrt{G_{aa}G_{bb}}`, G = K + K1/n (not re-expanded)."""
        G = self.G(width)
        return G[:, a, b] / np.sqrt(G[:, a, a] * G[:, b, b])

    def local_correlation_length(self, width=None, a: int = 0, b: int = 1) -> np.ndarray:
        r"""Layer-resolved :math:`\xi_l = -1/\ln[(c_{l+2}-c_{l+1})/(c_{l+1}-c_l)]` (L−2 values; ``width=inf`` for MFT)."""
        c = self.mft_correlation(a, b) if width is not None and np.isinf(width) else self.correlation(width, a, b)
        dc = np.diff(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            return -1.0 / np.log(np.abs(dc[1:] / dc[:-1]))

    def correlation_length(self, width=None, layers: Sequence[int] | None = None, a: int = 0, b: int = 1) -> tuple[float, float]:
        """(ξ_MFT, ξ at this width): :func:`fit_correlation_length` of c_MFT and of c(n) over ``layers``."""
        layers = np.arange(2, self.depth + 1) if layers is None else np.asarray(layers)
        xi0 = fit_correlation_length(layers, self.mft_correlation(a, b)[layers - 1])[0]
        xin = fit_correlation_length(layers, self.correlation(width, a, b)[layers - 1])[0]
        return xi0, xin


def _widths_ratios(widths, depth: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Per-layer widths n_1..n_L (or None) and the ratios n_l/n_{l-1} applied in step l → l+1."""
    if widths is None or np.ndim(widths) == 0:
        if widths is not None:
            check_positive_int("widths", widths)
        return None, np.ones(depth)
    w = [check_positive_int(f"widths[{i}]", v) for i, v in enumerate(widths)]
    if len(w) != depth:
        raise NNFTInputError("widths", f"needs one width per layer ({depth}: n_1..n_L), got {len(w)}")
    w = np.asarray(w, dtype=float)
    ratios = np.ones(depth)
    ratios[1:] = w[1:] / w[:-1]  # ratios[l] multiplies the step from layer l to l+1 (0-based l ≥ 1)
    return w, ratios


def finite_width_theory(
    inputs,
    depth: int,
    activation: str | Activation | Sequence = "tanh",
    sw2: float | Sequence[float] = 1.0,
    sb2: float | Sequence[float] = 0.0,
    *,
    widths: int | Sequence[int] | None = None,
    kernel=None,
    orders: tuple[int, int, int] = (ORDER_2D, ORDER_3D, ORDER_4D),
) -> FiniteWidthTheory:
    r"""The 1/N recursion (note §8) for any activation and M inputs, layers 1..depth.

    Parameters
    ----------
    inputs: (M, d_in) array (or (d_in,) for one input); the first-layer kernel is
        :math:`K^{(1)} = C_{b,1} + C_{W,1}XX^T/d_{in}`. Pass ``inputs=None, kernel=K1`` to start from a kernel.
    activation, sw2, sb2: scalars or per-layer sequences (``nnft.kernels.make_layers``).
    widths: None or an int (equal widths: K1, V are the coefficients of 1/n), or a sequence n_1..n_L of
        per-layer widths (RYH's n_l/n_{l-1} factors are applied; G and V/N then need no width argument).

    >>> th = finite_width_theory([[1.0]], 16, "tanh", 1.5, 0.05)
    >>> round(float(th.K1[15, 0, 0]), 4), round(float(th.V[15, 0, 0]), 4)
    (-0.18, 0.1821)
    """
    depth = check_positive_int("depth", depth)
    layers = make_layers(depth, activation, sw2, sb2)
    if kernel is not None:
        if inputs is not None:
            raise NNFTInputError("kernel", "give either inputs or a first-layer kernel, not both")
        K = check_finite_array("kernel", kernel, ndim=2)
        if K.shape[0] != K.shape[1] or not np.allclose(K, K.T):
            raise NNFTInputError("kernel", f"must be a symmetric square matrix, got shape {K.shape}")
        if np.linalg.eigvalsh(K).min() < -1e-12 * max(1.0, np.abs(K).max()):
            raise NNFTInputError("kernel", "must be positive semi-definite")
    else:
        X = check_finite_array("inputs", inputs)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2:
            raise NNFTInputError("inputs", f"must have shape (M, d_in), got {X.shape}")
        K = layers[0].sb2 + layers[0].sw2 * (X @ X.T) / X.shape[1]
    if np.any(np.diag(K) <= 0):
        raise NNFTInputError("inputs", "every input must have a positive first-layer variance K_aa > 0")
    for ly in layers[1:]:
        if ly.activation.needs_variance:
            raise NNFTInputError("activation", f"{ly.activation.name!r} (variance-normalised) is not supported by the 1/N recursion")
    w, ratios = _widths_ratios(widths, depth)
    M = K.shape[0]
    P = M * (M + 1) // 2
    K = jnp.asarray(K, dtype=float)
    K1 = jnp.zeros((M, M))
    V = jnp.zeros((P, P))
    Ks, K1s, Vs = [K], [K1], [V]
    for l in range(1, depth):  # step from layer l (0-based index l-1) to layer l+1
        ly = layers[l]
        K, K1, V = _layer_step(ly.activation, jnp.float64(ly.sw2), jnp.float64(ly.sb2), K, tuple(orders), K1, V, jnp.float64(ratios[l - 1] if l > 1 else 1.0))
        Ks.append(K), K1s.append(K1), Vs.append(V)
    names = {ly.activation.name for ly in layers[1:]} or {layers[0].activation.name}
    return FiniteWidthTheory(
        activation="/".join(sorted(names)),
        sw2=tuple(ly.sw2 for ly in layers),
        sb2=tuple(ly.sb2 for ly in layers),
        K=np.asarray(jnp.stack(Ks)),
        K1=np.asarray(jnp.stack(K1s)),
        V=np.asarray(jnp.stack(Vs)),
        pairs=tuple(_tri_pairs(M)),
        widths=w,
        quadrature={"orders_2d_3d_4d": tuple(orders)},
    )


def single_input_recursion(
    depth: int, activation: str | Activation, sw2: float, sb2: float, *, kernel1: float | None = None, x2: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Closed-form single-input recursion of note §7 (cross-check of the autodiff recursion).

    .. math::
       K_{l+1} &= C_b + C_W\langle s^2\rangle_K,\qquad
       V_{l+1} = C_W^2(\langle s^4\rangle_K - \langle s^2\rangle_K^2) + \chi_\parallel^2 V_l,\\
       K_{1,l+1} &= \chi_\parallel K_{1,l} + \frac{C_W}{8}\,V_l\,\frac{\langle s^2(z^4 - 6Kz^2 + 3K^2)\rangle_K}{K^4},
       \qquad \chi_\parallel = \frac{C_W}{2K^2}\langle s^2(z^2 - K)\rangle_K,

    from :math:`K^{(1)} = C_b + C_W x^2` (``x2`` = |x|²/n0) or ``kernel1``. Uses only 1-D expectations
    (:meth:`Activation.expect`), no derivatives. Returns (K, K1, V), each of shape (depth,).
    """
    depth = check_positive_int("depth", depth)
    act = get_activation(activation)
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    K = sb2 + sw2 * check_variance("x2", x2) if kernel1 is None else check_variance("kernel1", kernel1, allow_zero=False)
    Ks, K1s, Vs = [K], [0.0], [0.0]
    k1v, V = 0.0, 0.0
    for _ in range(depth - 1):
        s2 = float(act.moment(K, 2))
        s4 = float(act.moment(K, 4))
        chip = sw2 / (2 * K * K) * float(act.expect(lambda p, dp, u: p * p * (u * u - K), K))
        t = float(act.expect(lambda p, dp, u: p * p * (u**4 - 6 * K * u * u + 3 * K * K), K)) / K**4
        k1v = chip * k1v + sw2 / 8 * V * t
        V = sw2**2 * (s4 - s2 * s2) + chip**2 * V
        K = sb2 + sw2 * s2
        Ks.append(K), K1s.append(k1v), Vs.append(V)
    return np.array(Ks), np.array(K1s), np.array(Vs)


# ============================================================================ correlation length
def fit_correlation_length(layers, c, se=None) -> tuple[float, float, float]:
    r"""Fit :math:`c_l = c_\infty + A\,e^{-l/\xi}` over the given layers; returns (ξ, s.e. of ξ, c_∞).

    Weighted least squares when ``se`` is given (simulated c), plain otherwise (theory curves: the
    s.e. is then only the fit's conditioning). c_∞ is free, so the same definition applies to the
    ordered phase (c_∞ = 1), the chaotic phase (c_∞ = c*), and finite-width curves whose c_∞ moved.
    """
    layers = np.asarray(layers, dtype=float)
    c = np.asarray(c, dtype=float)
    if layers.shape != c.shape or layers.size < 4:
        raise NNFTInputError("layers", "need at least 4 (layer, c) points of equal length")
    dc = np.diff(c)
    r = np.clip(np.median(np.abs(dc[1:] / dc[:-1])), 1e-6, 1 - 1e-9)
    xi0 = -1.0 / np.log(r)
    cinf0 = c[-1] + dc[-1] * r / (1 - r)
    A0 = (c[0] - cinf0) * np.exp(layers[0] / xi0)

    def model(l, cinf, A, inv_xi):
        return cinf + A * np.exp(-(l - layers[0]) * inv_xi)

    p, cov = curve_fit(model, layers, c, p0=(cinf0, A0 * np.exp(-layers[0] / xi0), 1 / xi0),
                       sigma=se, absolute_sigma=se is not None, maxfev=20000)
    xi = 1.0 / p[2]
    return float(xi), float(np.sqrt(cov[2, 2]) / p[2] ** 2), float(p[0])


# ============================================================================ Lyapunov exponent
@dataclass(frozen=True)
class LyapunovTheory:
    r"""Largest Lyapunov exponent :math:`\lambda = \lambda_\infty + \lambda_1/N + O(N^{-2})` (feed-forward).

    ``lam_inf`` = ½ ln χ₁ (GJ/Poole); ``lam1`` the derived O(1/N) coefficient; ``terms`` its four parts
    (each already multiplied by ½): ``noise`` (i), ``tangent_correlation`` (ii), ``mean_shift`` (iii),
    ``kernel_fluctuation`` (iv) (module docstring §1). ``exact`` is the exact finite-N formula where one exists
    (linear networks), as a function of N.
    """

    activation: str
    sw2: float
    sb2: float
    q_star: float
    chi1: float
    lam_inf: float
    lam1: float
    terms: dict
    is_linear: bool = False

    def at(self, width) -> float | np.ndarray:
        """λ at width N: the exact value for linear networks, λ∞ + λ1/N otherwise."""
        N = np.asarray(width, dtype=float)
        if np.any(N < 1):
            raise NNFTInputError("width", "must be >= 1")
        if self.is_linear:
            return self.lam_inf + 0.5 * (digamma(N / 2) - np.log(N / 2))
        return self.lam_inf + self.lam1 / N


@partial(jax.jit, static_argnums=0)
def _lnchi_derivatives(act: Activation, sw2: float, q: float) -> tuple[jnp.ndarray, jnp.ndarray]:
    """d/dq and d²/dq² of ln χ(q) = ln(σw² E[φ'(√q z)²]), compiled once per activation."""
    lnchi = lambda qq: jnp.log(sw2 * act.derivative_second_moment(qq))  # noqa: E731
    return jax.grad(lnchi)(q), jax.grad(jax.grad(lnchi))(q)


def lyapunov_exponent(activation: str | Activation, sw2: float, sb2: float) -> LyapunovTheory:
    r"""Mean-field Lyapunov exponent ½ ln χ₁ and its O(1/N) correction λ₁ (module docstring §1).

    >>> th = lyapunov_exponent("tanh", 4.0, 0.3)
    >>> round(th.lam_inf, 4), round(th.lam1, 3)
    (0.1143, -1.527)
    """
    act = get_activation(activation)
    sw2 = check_variance("sw2", sw2, allow_zero=False)
    sb2 = check_variance("sb2", sb2)
    slopes = _slopes(act)
    if slopes is not None:  # piecewise linear: the tangent dynamics does not see |z|
        a, b = slopes
        d2, d4 = (a**2 + b**2) / 2, (a**4 + b**4) / 2
        chi = sw2 * d2
        noise = -0.25 * (3 * d4 / d2**2 - 1)
        lin = a == b
        return LyapunovTheory(act.name, sw2, sb2, float("nan"), chi, 0.5 * math.log(chi), noise,
                              {"noise": noise, "tangent_correlation": 0.0, "mean_shift": 0.0, "kernel_fluctuation": 0.0},
                              is_linear=lin)
    if act.needs_variance:
        raise NNFTInputError("activation", f"{act.name!r} (variance-normalised) is not supported")
    q_star = float(fixed_point_q(act, sw2, sb2))
    if not np.isfinite(q_star):
        raise NNFTInputError("sw2", f"no finite fixed point q* for {act.name} at (sw2, sb2) = ({sw2}, {sb2})")
    q = max(q_star, 1e-12)
    E = lambda g: float(act.expect(g, q))  # noqa: E731
    d2 = E(lambda p, dp, u: dp**2)
    d4 = E(lambda p, dp, u: dp**4)
    dz = E(lambda p, dp, u: dp**2 * u**2) / (q * d2)
    pp = E(lambda p, dp, u: p**2 * dp**2)
    s2 = E(lambda p, dp, u: p**2)
    s4 = E(lambda p, dp, u: p**4)
    chip = sw2 / (2 * q * q) * E(lambda p, dp, u: p * p * (u * u - q))
    t4 = E(lambda p, dp, u: p * p * (u**4 - 6 * q * u * u + 3 * q * q)) / q**4
    chi1 = sw2 * d2
    if not chip < 1:
        raise NNFTInputError("sw2", f"chi_par = {chip:.4g} >= 1: the single-input corrections do not saturate")
    alpha2 = chip**2 / chi1
    if not alpha2 < 1:
        raise NNFTInputError("sw2", f"the z-tangent correlation does not relax (chi_par^2/chi1 = {alpha2:.4g} >= 1)")
    V = sw2**2 * (s4 - s2 * s2) / (1 - chip**2)
    K1 = sw2 / 8 * V * t4 / (1 - chip)
    g1, g2 = (float(g) for g in _lnchi_derivatives(act, sw2, q))
    nk2 = sw2**2 * pp / (q * chi1) / (1 - alpha2)
    terms = {
        "noise": -0.25 * (3 * d4 / d2**2 - 1),
        "tangent_correlation": 0.5 * nk2 * (dz - 1),
        "mean_shift": 0.5 * g1 * K1,
        "kernel_fluctuation": 0.25 * g2 * V,
    }
    return LyapunovTheory(act.name, sw2, sb2, q_star, chi1, 0.5 * math.log(chi1), float(sum(terms.values())), terms)


def measure_lyapunov(
    activation: str | Activation,
    sw2: float,
    sb2: float,
    width: int,
    n_networks: int,
    *,
    depth: int = 200,
    burn_in: int = 30,
    recurrent: bool = False,
    method: str | None = None,
    seed: int = 0,
    q0: float | None = None,
) -> tuple[float, float]:
    r"""Measured largest Lyapunov exponent (mean over networks, standard error from their spread).

    Tangent-vector growth (module docstring §1): ``method="weights"`` pushes a tangent through explicit
    weight-space networks with ``jax.jvp`` (feed-forward, or ``recurrent=True`` with W, b shared by every
    step); ``method="conditional"`` (default for feed-forward) samples the exact conditional law of
    (z, v) layer by layer, n/2 times cheaper. The state starts at z ~ N(0, q0) (q0 = q* by default) and
    ``burn_in`` layers are discarded. See :mod:`nnft.finite_width_sim`.
    """
    from .. import finite_width_sim as sim

    if method is None:
        method = "weights" if recurrent else "conditional"
    if q0 is None:
        q = float(fixed_point_q(activation, sw2, sb2)) if _slopes(get_activation(activation)) is None else 1.0
        q0 = q if np.isfinite(q) and q > 0 else 1.0
    if method == "weights":
        m, se, _ = sim.lyapunov_weights(activation, sw2, sb2, width, n_networks, depth=depth, burn_in=burn_in,
                                        recurrent=recurrent, q0=q0, seed=seed)
    elif method == "conditional":
        if recurrent:
            raise NNFTInputError("method", "the conditional sampler is exact only for feed-forward networks")
        m, se, _ = sim.lyapunov_conditional(activation, sw2, sb2, width, n_networks, depth=depth, burn_in=burn_in,
                                            q0=q0, seed=seed)
    else:
        raise NNFTInputError("method", f"must be 'weights' or 'conditional', got {method!r}")
    return m, se


# ============================================================================ exact linear controls
def linear_kernel_fluctuation(width: int, depth) -> np.ndarray:
    r"""Linear network, C_b = 0: :math:`\mathrm{Var}(|z^l|^2/n)/K_l^2 = (1 + 2/n)^l - 1` exactly (note §5.3)."""
    n = check_positive_int("width", width)
    l = np.asarray(depth)
    if np.any(l < 1):
        raise NNFTInputError("depth", "layers start at 1")
    return (1.0 + 2.0 / n) ** l - 1.0


def linear_vertex_exact(width: int, depth) -> np.ndarray:
    r"""Linear, C_b = 0: :math:`V^{(l)}/K_l^2 = n\,\mathrm{Var}(\hat G^{(l)})/K_l^2 = n[(1+2/n)^{l-1} - 1]` (all orders)."""
    n = check_positive_int("width", width)
    l = np.asarray(depth)
    if np.any(l < 1):
        raise NNFTInputError("depth", "layers start at 1")
    return n * ((1.0 + 2.0 / n) ** (l - 1) - 1.0)


def linear_stationary_variance(sw2: float, sb2: float, width: int) -> float:
    r"""Linear network with bias, stationary state: :math:`\mathrm{Var}(s) = 2m^2/(N[1 - C_W^2(1+2/N)])`.

    s = |z|²/N, m = C_b/(1 − C_W) (note §5.3). s is exactly the Markov chain
    :math:`s' = (C_W s + C_b)\chi^2_N/N`. Returns ``inf`` where the second moment diverges
    (:math:`C_W^2(1+2/N) \ge 1`, an O(1/N) shift of the critical point C_W = 1).
    """
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    N = check_positive_int("width", width)
    if sw2 >= 1:
        raise NNFTInputError("sw2", f"no stationary state for a linear network with sw2 >= 1, got {sw2}")
    m = sb2 / (1 - sw2)
    den = 1 - sw2**2 * (1 + 2 / N)
    return float("inf") if den <= 0 else 2 * m * m / (N * den)


def linear_lag_correlation(sw2: float, lag) -> np.ndarray:
    r"""Exact lag-k autocorrelation of s = |z^l|²/N across layers, :math:`C_W^k` ("σw^{2k}"), any N (AR(1))."""
    sw2 = check_variance("sw2", sw2)
    k = np.asarray(lag)
    if np.any(k < 0):
        raise NNFTInputError("lag", "must be >= 0")
    return sw2 ** k.astype(float)


def rnn_linear_g4_shift(sw2: float, sb2: float, width: int) -> float:
    r"""Linear RNN (shared W, b from layer 2 on): :math:`G^{(4)}_{RNN} - G^{(4)}_{FFN} = 2C_WC_b/N + O(N^{-2})`.

    From :math:`z^4 = W^3z^1 + W^2b + Wb + b`: the only O(1/N) cross term is
    :math:`2\mathbb E[b\cdot W^2b]/N = 2C_b\,\mathbb E\,\mathrm{tr}(W^2)/N = 2C_WC_b/N`
    (:math:`\mathbb E\,W^TW` terms are O(N⁻²)); the linear FFN has G = K exactly.
    """
    return 2 * check_variance("sw2", sw2) * check_variance("sb2", sb2) / check_positive_int("width", width)
