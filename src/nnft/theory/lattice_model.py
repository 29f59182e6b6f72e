r"""Lattice-model theory of random networks (Schoenholz, Pennington & Sohl-Dickstein 2017, "SPS17").

Integrating out the weights of a random MLP leaves a distribution over its pre-activations alone: a
one-dimensional lattice model whose "spins" are the layer vectors :math:`z^l\in\mathbb R^N` (SPS17 eq. 9).
This module turns the paper's analysis into a tool:

1. **Exact energies** (negative log densities) as JAX functions usable with autodiff:
   :func:`energy_multi_input` (eq. 9), :func:`energy_single_input` (eq. 10, with a pluggable loss for
   J_D > 0), :func:`energy_ring` (eq. 11), :func:`energy_linear_radial` (eq. 12),
   :func:`energy_relu_orthant` (eq. 18/19, exact at finite N) and :func:`energy_relu_large_n` (eq. 79).
   For any activation, :func:`energy_collective` is the large-N energy of the collective fields
   :math:`q^l=|z^l|^2/N`, :math:`p^l=|\phi(z^l)|^2/N` (the rate function of the exact chain; for linear φ it
   is eq. 12 in the variable q = r²/N, for ReLU it is eq. 79 with k, r₊, r₋ eliminated for p).
2. **Saddle points**: closed forms :func:`linear_saddle` (eq. 13), :func:`relu_saddle` (eq. 20) and, for
   any model, the numerical uniform saddle :func:`uniform_saddle` (Newton on the energy of a uniform
   configuration). For the collective model it equals the mean-field q* (tested).
3. **Automatic Gaussian fluctuation theory**: every ring energy here is a sum of nearest-neighbour terms
   :math:`E=\sum_l e(x^{l-1},x^l)`, so its Hessian at a uniform saddle is block-circulant with an on-site
   block :math:`A_0` and a layer-to-layer block :math:`A_1` (row: layer l, column: layer l−1), both taken
   from ``jax.hessian`` of e. The Fourier-space inverse covariance is

   .. math:: \Sigma^{-1}(q) = A_0 + A_1 e^{-iq} + A_1^{T} e^{iq},\qquad \Sigma(q) = [\Sigma^{-1}(q)]^{-1}

   (:func:`fluctuation_spectrum`). The printed formulas eq. 15 and eq. 22 are kept as ``paper_*``.
4. **EFT**: :func:`eft_expansion` Taylor-expands :math:`\Sigma^{-1}(q)` to O(q²) by autodiff (eq. 16, 17, 23)
   and :func:`correlation_lengths` puts the EFT correlation length, the exact correlation length of the
   Gaussian lattice theory and the mean-field :math:`\xi_q=-1/\ln\chi_\parallel` side by side.
5. **Exact finite-N references** for the linear chain (:func:`linear_exact_spectrum`), and the finite-window
   correction of an open chain (:func:`windowed_spectrum`), used to separate O(1/N) and window effects from
   errors of the formulas.

Conventions (also in ``docs/conventions.md``)
---------------------------------------------
* **Layers and variances.** :math:`z^l = W^l\phi(z^{l-1}) + b^l`, :math:`W^l_{ij}\sim\mathcal N(0,\sigma_w^2/N_{l-1})`
  (fan-in), :math:`b^l_i\sim\mathcal N(0,\sigma_b^2)`. Given layer l−1 the units of :math:`z^l` are iid
  :math:`\mathcal N(0, D^{l-1})`, :math:`D^{l-1}=\sigma_w^2|\phi(z^{l-1})|^2/N+\sigma_b^2`.
* **Energies** are normalised negative log densities where the paper's constant factors are known
  (``energy_multi_input``, ``energy_single_input``, ``energy_ring``, ``energy_relu_orthant``); the radial,
  large-N and collective energies drop z-independent constants, as the paper does.
* **k convention.** ``k`` is the number of **positive** units of z^l (the paper's *text*). The paper's
  *formulas* (eq. 19, 74–83, 86–95, 21–23) use k = number of **negative** units: they give r₊ the radial
  exponent N − k − 1 and Γ((N − k)/2), and eq. 21–22 couple ε_k to (ε₊ − ε₋) with a sign that simulation
  shows belongs to the negative count (with k = positives, Cov(ε₊, ε_k) > 0 in simulation; the inverse of
  eq. 22 gives Cov(ε̃₊, ε̃_k) < 0). Switching convention flips the sign of every k–r± coupling (k row
  and column of Σ); ``paper_*`` functions return the printed matrices (negative count) unless asked
  to convert (``convention="nnft"``).
* **Fields and their order.** linear: ``("r",)`` with :math:`r^l=|z^l|` (eq. 12) or ``("q",)`` with
  :math:`q^l=|z^l|^2/N`; ReLU: ``("r+", "r-", "k")`` — :math:`r_\pm^l` the norms of the positive / negative
  units, k the positive count — or the collective ``("q", "p")``; any other activation: ``("q", "p")``
  with :math:`p^l=|\phi(z^l)|^2/N` (so :math:`D^l=\sigma_w^2p^l+\sigma_b^2`). Fluctuations are
  :math:`\epsilon^l = x^l - x^*` about the saddle point.
* **Rescaled fields ε̃** (``rescaled=True``), as in SPS17 §6: ReLU
  :math:`\tilde\epsilon_\pm=\sqrt{2(1-\sigma_w^2/2)/\sigma_b^2}\,\epsilon_\pm=\sqrt{2/D^*}\,\epsilon_\pm`,
  :math:`\tilde\epsilon_k=\epsilon_k/\sqrt N`; linear r: no rescaling (ε̃ = ε, as eq. 14–15); collective
  fields: :math:`\tilde\epsilon_x=\sqrt N\,\epsilon_x/x^*` (relative fluctuation times √N). The factors are
  returned in ``FluctuationSpectrum.scales`` (ε̃ = scale · ε).
* **Fourier normalisation.** For a window of L layers, :math:`\hat\epsilon(q)=\sum_{l=0}^{L-1}\epsilon^l e^{-iql}`
  (``numpy.fft.fft``), :math:`q=2\pi n/L`, and the spectrum is the *per-layer* second moment

  .. math:: S_{ab}(q) = \mathbb E[\hat\epsilon_a(q)\,\overline{\hat\epsilon_b(q)}]/L
            \;\xrightarrow{L\to\infty}\; \sum_k C_{ab}(k)e^{-iqk},\qquad C_{ab}(k)=\mathrm{Cov}(\epsilon_a^{l+k},\epsilon_b^l),

  i.e. the variance of a mode of ``numpy.fft.fft(eps, norm="ortho")``. It is independent of L. On the ring
  it is exactly Σ(q); on an open chain's finite window it is the Fejér-smoothed
  :math:`\sum_{|k|<L}(1-|k|/L)C(k)e^{-iqk}` (:func:`windowed_spectrum`). SPS17 writes
  :math:`\epsilon^l=\sum_q\epsilon_q e^{-iql}` (coefficients :math:`\epsilon_q=\hat\epsilon(-q)/L`): its eq. 15
  (with the explicit factor L) is the same normalisation, and its eq. 22 equals ours at −q
  (:math:`\Sigma_{+-}` and :math:`\Sigma_{-+}` swap); ``paper_relu_spectrum(..., convention="nnft")`` converts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from jax.scipy.special import gammaln as jgammaln

from ..activations import Activation, get_activation
from ..errors import NNFTInputError, check_positive_int, check_variance
from ..gaussian import split_rule

Array = jnp.ndarray

__all__ = [
    # energies
    "energy_multi_input",
    "energy_single_input",
    "energy_ring",
    "energy_linear_radial",
    "energy_relu_orthant",
    "energy_relu_large_n",
    "energy_collective",
    "collective_entropy",
    # models and saddles
    "LatticeModel",
    "lattice_model",
    "linear_radial_model",
    "relu_model",
    "collective_model",
    "linear_saddle",
    "relu_saddle",
    "uniform_saddle",
    # fluctuations
    "hessian_blocks",
    "ring_hessian",
    "inverse_covariance",
    "FluctuationSpectrum",
    "fluctuation_spectrum",
    "autocovariance",
    "windowed_spectrum",
    "collective_closed_form",
    "linear_exact_spectrum",
    "relu_exact_spectrum",
    "relative_collective_variance",
    "gaussian_theory_error",
    # EFT
    "EFT",
    "eft_expansion",
    "correlation_lengths",
    # printed formulas
    "paper_linear_saddle",
    "paper_linear_inverse_covariance",
    "paper_linear_spectrum",
    "paper_relu_saddle",
    "paper_relu_inverse_covariance",
    "paper_relu_spectrum",
    "paper_linear_eft",
    "paper_relu_eft",
    "paper_linear_xi",
    "FOURIER_NORMALISATION",
    "RELU_FIELDS",
]

FOURIER_NORMALISATION = (
    "S_ab(q) = E[eps_a^(q) conj(eps_b^(q))]/L with eps^(q) = sum_{l<L} eps^l exp(-iql) (numpy.fft.fft), "
    "q = 2 pi n/L: the per-layer spectral density (variance of a mode of fft(..., norm='ortho')); "
    "-> sum_k Cov(eps_a^{l+k}, eps_b^l) exp(-iqk) as L -> infinity"
)
RELU_FIELDS = ("r+", "r-", "k")
_LOG_2PI = math.log(2 * math.pi)


# ============================================================================ helpers
def _per_layer(name: str, value: Any, L: int) -> Array:
    """A scalar or length-L sequence of variances as a float array of shape (L,)."""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.full(L, float(arr[0]))
    if arr.shape != (L,):
        raise NNFTInputError(name, f"must be a scalar or a sequence of length {L} (one per layer), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise NNFTInputError(name, "variances must be finite and >= 0")
    return jnp.asarray(arr)


def _act(activation: str | Activation) -> Activation:
    act = get_activation(activation)
    if act.needs_variance:
        raise NNFTInputError(
            "activation", f"{act.name!r} depends on the ensemble variance; the lattice energies need a fixed phi"
        )
    return act


def _is_linear(act: Activation) -> bool:
    p = act.params
    return p.get("neg_slope") == 1.0 and p.get("pos_slope") == 1.0


def _is_relu(act: Activation) -> bool:
    p = act.params
    return p.get("neg_slope") == 0.0 and p.get("pos_slope") == 1.0


# ============================================================================ exact energies
def energy_multi_input(
    zs: Sequence[Array],
    x: Array,
    *,
    activation: str | Activation,
    sw2: Any,
    sb2: Any,
    loss: Callable[[Array, Array], Array] | None = None,
    targets: Array | None = None,
    jd: float = 0.0,
    output_activation: Callable[[Array], Array] | None = None,
) -> Array:
    r"""SPS17 eq. 9: the exact energy of the pre-activations of a depth-L network on M inputs.

    ``zs[l-1]`` is :math:`z^l` with shape (N_l, M) (units × inputs), ``x`` the inputs with shape (M, d).
    With :math:`\Sigma^1 = \sigma_w^2XX^T/d + \sigma_b^2\mathbf{11}^T` and
    :math:`\Sigma^l = \sigma_w^2\phi(z^{l-1})^T\phi(z^{l-1})/N_{l-1}+\sigma_b^2\mathbf{11}^T`,

    .. math:: E = \frac{J_D}{2}\sum_i\ell(\phi_{out}(z^L_i),t_i)
              + \sum_{l=1}^L\Big[\tfrac12\sum_\alpha z^{l\,T}_\alpha(\Sigma^l)^{-1}z^l_\alpha
              + \tfrac{N_l}2\ln\det(2\pi\Sigma^l)\Big].

    exp(−E) is the normalised density for J_D = 0. **Erratum**: the printed eq. 9 has ln|Σ^l| once per
    layer; integrating out each of the N_l units' auxiliary field gives it N_l times (eq. 10 does have
    the factor N_l). Σ^l must be invertible (N_{l-1} ≥ M, or σb² > 0 with N_{l-1} ≥ M − 1).
    """
    act = _act(activation)
    L = len(zs)
    if L < 1:
        raise NNFTInputError("zs", "need at least one layer")
    x = jnp.asarray(x, dtype=float)
    if x.ndim != 2:
        raise NNFTInputError("x", f"inputs must have shape (M, d), got {x.shape}")
    M = x.shape[0]
    sw = _per_layer("sw2", sw2, L)
    sb = _per_layer("sb2", sb2, L)
    total = jnp.asarray(0.0)
    prev = x.T  # (d, M): "activations" feeding layer 1 (the input enters linearly)
    for l, z in enumerate(zs):
        z = jnp.asarray(z, dtype=float)
        if z.ndim != 2 or z.shape[1] != M:
            raise NNFTInputError("zs", f"layer {l + 1} must have shape (N_l, {M}), got {z.shape}")
        fan = prev.shape[0]
        sig = sw[l] * (prev.T @ prev) / fan + sb[l] * jnp.ones((M, M))
        sign, logdet = jnp.linalg.slogdet(sig)
        quad = jnp.sum(z * jnp.linalg.solve(sig, z.T).T)
        n_l = z.shape[0]
        total = total + 0.5 * quad + 0.5 * n_l * (logdet + M * _LOG_2PI)
        prev = act(z)
    if jd:
        if loss is None or targets is None:
            raise NNFTInputError("loss", "jd > 0 needs a loss(output, target) and targets")
        out = zs[-1] if output_activation is None else output_activation(jnp.asarray(zs[-1]))
        total = total + 0.5 * jd * jnp.sum(jax.vmap(loss, in_axes=(1, 0))(jnp.asarray(out), jnp.asarray(targets)))
    return total


def energy_single_input(
    zs: Sequence[Array] | Array,
    x: Array,
    *,
    activation: str | Activation,
    sw2: Any,
    sb2: Any,
    loss: Callable[[Array, Array], Array] | None = None,
    target: Array | None = None,
    jd: float = 0.0,
    output_activation: Callable[[Array], Array] | None = None,
) -> Array:
    r"""SPS17 eq. 10: the exact energy of a single input's pre-activations on the open chain.

    ``zs`` is a sequence of vectors :math:`z^l\in\mathbb R^{N_l}` (or an (L, N) array), ``x`` the input (d,).

    .. math:: E = \frac{J_D}{2}\ell(\phi_{out}(z^L), t) + \sum_{l=1}^L\Big[\frac{|z^l|^2}{2D^{l-1}}
              + \frac{N_l}{2}\ln(2\pi D^{l-1})\Big],\quad D^0=\frac{\sigma_w^2|x|^2}{d}+\sigma_b^2,\
              D^{l-1}=\frac{\sigma_w^2|\phi(z^{l-1})|^2}{N_{l-1}}+\sigma_b^2 .

    **Erratum** (boundary): the printed eq. 10 has :math:`N_l\log(\sigma_w^2N_l^{-1}|\phi(z^l)|^2+\sigma_b^2)`,
    the variance of layer *l+1*, summed over l = 1..L: on the open chain it drops the input's term and adds a
    spurious one for a layer L+1 that does not exist (harmless only on the ring, eq. 11). ``loss`` is any JAX
    function ``loss(output, target) -> scalar`` (J_D > 0: the paper's data term).
    """
    act = _act(activation)
    seq = [jnp.asarray(z, dtype=float) for z in zs]
    L = len(seq)
    if L < 1:
        raise NNFTInputError("zs", "need at least one layer")
    x = jnp.ravel(jnp.asarray(x, dtype=float))
    sw = _per_layer("sw2", sw2, L)
    sb = _per_layer("sb2", sb2, L)
    total = jnp.asarray(0.0)
    d_prev = sw[0] * jnp.sum(x * x) / x.shape[0] + sb[0]
    for l, z in enumerate(seq):
        n_l = z.shape[-1]
        total = total + 0.5 * jnp.sum(z * z) / d_prev + 0.5 * n_l * (jnp.log(d_prev) + _LOG_2PI)
        if l + 1 < L:
            d_prev = sw[l + 1] * jnp.sum(act(z) ** 2) / n_l + sb[l + 1]
    if jd:
        if loss is None or target is None:
            raise NNFTInputError("loss", "jd > 0 needs a loss(output, target) and a target")
        out = seq[-1] if output_activation is None else output_activation(seq[-1])
        total = total + 0.5 * jd * loss(out, jnp.asarray(target))
    return total


def energy_ring(zs: Array, *, activation: str | Activation, sw2: float, sb2: float) -> Array:
    r"""SPS17 eq. 11: the network on a ring, ``zs`` of shape (L, N), layer l fed by layer l−1 mod L.

    .. math:: E = \sum_{l=0}^{L-1}\Big[\frac{|z^l|^2}{2D(z^{l-1})} + \frac N2\ln(2\pi D(z^{l-1}))\Big],
              \quad D(z)=\sigma_w^2|\phi(z)|^2/N+\sigma_b^2 ,

    the normalised negative log density of the periodic chain's transition kernels (the paper's N log D(z^l)
    summed over the ring is the same sum re-indexed; J_D = 0 on the ring).
    """
    act = _act(activation)
    z = jnp.asarray(zs, dtype=float)
    if z.ndim != 2:
        raise NNFTInputError("zs", f"must have shape (L, N), got {z.shape}")
    N = z.shape[1]
    d = sw2 * jnp.sum(act(z) ** 2, axis=1) / N + sb2
    d_prev = jnp.roll(d, 1)
    return jnp.sum(0.5 * jnp.sum(z * z, axis=1) / d_prev + 0.5 * N * (jnp.log(d_prev) + _LOG_2PI))


def energy_linear_radial(r: Array, *, sw2: float, sb2: float, width: int, exact_jacobian: bool = False) -> Array:
    r"""SPS17 eq. 12: the linear network on a ring in the radial variables :math:`r^l = |z^l|` (shape (L,)).

    .. math:: E = \frac12\sum_l\Big[\frac{(r^l)^2}{\sigma_w^2(r^{l-1})^2/N+\sigma_b^2}
              - N\ln\frac{(r^l)^2}{\sigma_w^2(r^l)^2/N+\sigma_b^2}\Big]

    (angles integrated out; constants dropped). The exact radial Jacobian is :math:`(r^l)^{N-1}`; the paper
    replaces N − 1 by N (``exact_jacobian=True`` keeps N − 1).
    """
    r = jnp.asarray(r, dtype=float)
    N = width
    d = sw2 * r**2 / N + sb2
    jac = (N - 1) if exact_jacobian else N
    return jnp.sum(0.5 * r**2 / jnp.roll(d, 1) + 0.5 * N * jnp.log(d) - jac * jnp.log(r))


def energy_relu_orthant(r_plus: Array, r_minus: Array, k: Array, *, sw2: float, sb2: float, width: int) -> Array:
    r"""SPS17 eq. 18/19: the ReLU ring after the orthant decomposition, exact at finite N (shape (L,) each).

    With k the number of **positive** units (this module's convention), given :math:`D^{l-1}` the law of
    layer l is :math:`k\sim\mathrm{Bin}(N,\tfrac12)`, :math:`r_+^2 = D\chi^2_k`, :math:`r_-^2 = D\chi^2_{N-k}`, so

    .. math:: E = \sum_l\Big[\frac{r_+^2+r_-^2}{2D^{l-1}} + \frac N2\ln(2D^{l-1}) - (k-1)\ln r_+ - (N-k-1)\ln r_-
              - \ln\binom Nk + \ln\Gamma(\tfrac k2) + \ln\Gamma(\tfrac{N-k}2) + (N-2)\ln 2\Big],

    :math:`D^{l-1}=\sigma_w^2(r_+^{l-1})^2/N+\sigma_b^2`; exp(−E) is normalised (sum over k, integral over
    r±). Eq. 19 prints the same factors with k ↔ N − k (its k counts negative units). k is treated as a
    continuous variable (Γ functions), so the energy is differentiable; 0 < k < N.
    """
    rp, rm, k = (jnp.asarray(a, dtype=float) for a in (r_plus, r_minus, k))
    N = float(width)
    d_prev = jnp.roll(sw2 * rp**2 / N + sb2, 1)
    log_binom = jgammaln(N + 1) - jgammaln(k + 1) - jgammaln(N - k + 1)
    e = (
        (rp**2 + rm**2) / (2 * d_prev)
        + 0.5 * N * jnp.log(2 * d_prev)
        - (k - 1) * jnp.log(rp)
        - (N - k - 1) * jnp.log(rm)
        - log_binom
        + jgammaln(k / 2)
        + jgammaln((N - k) / 2)
        + (N - 2) * math.log(2.0)
    )
    return jnp.sum(e)


def energy_relu_large_n(
    r_plus: Array, r_minus: Array, k: Array, *, sw2: float, sb2: float, width: int, k_convention: str = "positive"
) -> Array:
    r"""SPS17 eq. 79: the large-N ReLU ring energy (Stirling), fields r₊, r₋, k continuous (shape (L,) each).

    .. math:: E = \frac12\sum_l\Big[\frac{r_+^2+r_-^2}{D^{l-1}} + N\ln D^{l} + 3k_+\ln k_+ - 2k_+\ln r_+
              + 3k_-\ln k_- - 2k_-\ln r_-\Big]

    with :math:`k_+` / :math:`k_-` the positive / negative counts (k = k₊ for ``k_convention="positive"``,
    k = k₋ for ``"negative"``, the printed form). Constants are dropped; the −1's of the exact radial
    exponents are dropped as in the paper. Its Hessian at the saddle gives the correct large-N Gaussian
    theory (e.g. Var k = N/4 at σw² = 0), which eq. 21–22 do not (see :func:`paper_relu_inverse_covariance`).
    """
    rp, rm, k = (jnp.asarray(a, dtype=float) for a in (r_plus, r_minus, k))
    N = float(width)
    if k_convention not in ("positive", "negative"):
        raise NNFTInputError("k_convention", f"must be 'positive' or 'negative', got {k_convention!r}")
    kp = k if k_convention == "positive" else N - k
    km = N - kp
    d = sw2 * rp**2 / N + sb2
    e = (
        (rp**2 + rm**2) / jnp.roll(d, 1)
        + N * jnp.log(d)
        + 3 * kp * jnp.log(kp)
        - 2 * kp * jnp.log(rp)
        + 3 * km * jnp.log(km)
        - 2 * km * jnp.log(rm)
    )
    return 0.5 * jnp.sum(e)


# ---------------------------------------------------------------------------- collective entropy
def _tilted_moments(act: Activation, theta: Array, order: int):
    r"""Moments of T(z) = (z², φ(z)²) under the density ∝ exp(−a z² − b φ(z)²), θ = (a, b).

    Quadrature is against the reference N(0, 1/(2a)), which absorbs the z² tilt exactly; returns
    (Λ(θ), E[T], Cov[T]) with Λ(θ) = log ∫ exp(−θ·T) dz.
    """
    a, b = theta[0], theta[1]
    v = 0.5 / a

    def f(u):
        p2 = act(u) ** 2
        w = jnp.exp(-b * p2)
        t = jnp.stack([u * u, p2])
        return jnp.concatenate([w[None], w * t, w * t[0:1] * t, w * t[1:2] * t[1:2]])

    m = _expect_vec(f, v, order)
    Z = m[0]
    mean = m[1:3] / Z
    e2 = jnp.array([[m[3], m[4]], [m[4], m[5]]]) / Z
    cov = e2 - jnp.outer(mean, mean)
    lam = 0.5 * jnp.log(jnp.pi / a) + jnp.log(Z)
    return lam, mean, cov


def _expect_vec(f: Callable[[Array], Array], v: Array, order: int) -> Array:
    """E[f(u)] for a vector-valued f, u ~ N(0, v), split Gauss–Legendre rule (kink at 0 on a node boundary)."""
    x, w = split_rule(order)
    vals = f(jnp.sqrt(v) * jnp.asarray(x))  # (K, nodes)
    return jnp.sum(vals * jnp.asarray(w), axis=-1)


def collective_entropy(activation: str | Activation, *, order: int = 96) -> Callable[[Array], Array]:
    r"""The per-unit entropy s(q, p) of the collective fields q = |z|²/N, p = |φ(z)|²/N (a JAX function).

    The number of z ∈ ℝ^N with (|z|²/N, |φ(z)|²/N) ≈ (q, p) grows like :math:`e^{N s(q,p)}` (Cramér), with

    .. math:: s(x) = \min_\theta\big[\theta\cdot x + \Lambda(\theta)\big],\qquad
              \Lambda(\theta) = \ln\int dz\, e^{-a z^2 - b\phi(z)^2},\quad\theta=(a,b).

    The minimiser θ*(x) is found by Newton's method; derivatives use the envelope theorem
    (∇s = θ*) and the implicit function theorem (∇²s = −Cov_θ*[T]^{-1}), via ``jax.custom_jvp``, so
    ``jax.hessian`` of any energy built from s works. For linear φ (p ≡ q) use the closed form
    s(q) = ½ ln(2πe q) instead (see :func:`energy_collective`).
    """
    act = _act(activation)

    def solve(x):
        th0 = jnp.array([0.5 / x[0], 0.0])

        def body(_, th):
            _, mean, cov = _tilted_moments(act, th, order)
            step = jnp.linalg.solve(cov, x - mean)
            new = th - step
            # keep a > 0 (and the tilted density normalisable): shrink a step that leaves the domain
            bad = (new[0] <= 0.25 * th[0]) | ~jnp.all(jnp.isfinite(new))
            return jnp.where(bad, th - 0.5 * step * (0.75 * th[0] / jnp.maximum(jnp.abs(step[0]), 1e-300)), new)

        return jax.lax.fori_loop(0, 30, body, th0)

    @jax.custom_jvp
    def theta_star(x):
        return solve(x)

    @theta_star.defjvp
    def _theta_jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        th = theta_star(x)
        _, _, cov = _tilted_moments(act, th, order)
        return th, -jnp.linalg.solve(cov, dx)

    @jax.custom_jvp
    def s(x):
        th = theta_star(x)
        lam, _, _ = _tilted_moments(act, th, order)
        return jnp.dot(th, x) + lam

    @s.defjvp
    def _s_jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        th = theta_star(x)
        lam, _, _ = _tilted_moments(act, th, order)
        return jnp.dot(th, x) + lam, jnp.dot(th, dx)

    return s


def energy_collective(
    x: Array, *, activation: str | Activation, sw2: float, sb2: float, width: int, order: int = 96
) -> Array:
    r"""Large-N ring energy of the collective fields, ``x`` of shape (L, 2) = (q^l, p^l) (or (L, 1) = q^l for linear).

    .. math:: E = N\sum_l\Big[\frac{q^l}{2D^{l-1}} + \frac12\ln D^{l-1} - s(q^l,p^l)\Big],\qquad
              D^{l-1}=\sigma_w^2p^{l-1}+\sigma_b^2 ,

    the exponent of the exact chain's density of (q^l, p^l) given D^{l-1} (z^l iid N(0, D^{l-1})), with
    s from :func:`collective_entropy`. Linear φ: p ≡ q and s = ½ ln q, which is eq. 12 in q = r²/N.
    """
    act = _act(activation)
    x = jnp.asarray(x, dtype=float)
    pair = _collective_pair(act, sw2, sb2, width, order)
    return jnp.sum(jax.vmap(pair)(jnp.roll(x, 1, axis=0), x))


def _collective_pair(act: Activation, sw2: float, sb2: float, N: int, order: int):
    if _is_linear(act):

        def pair(xp, x):
            d = sw2 * xp[0] + sb2
            return N * (0.5 * x[0] / d + 0.5 * jnp.log(d) - 0.5 * jnp.log(x[0]))

        return pair
    s = collective_entropy(act, order=order)

    def pair(xp, x):
        d = sw2 * xp[1] + sb2
        return N * (0.5 * x[0] / d + 0.5 * jnp.log(d) - s(x))

    return pair


# ============================================================================ lattice models
@dataclass(frozen=True, eq=False)
class LatticeModel:
    r"""A nearest-neighbour lattice model on a ring: :math:`E=\sum_l` ``pair(x^{l-1}, x^l)``.

    ``fields`` names the components of x (order of every matrix returned), ``saddle`` the uniform saddle
    point (closed form where known, else numerical), ``scales`` the factors of the rescaled fields
    ε̃ = scales · ε, ``width`` N. ``info`` holds model-specific numbers (q*, D*, ...).
    """

    name: str
    fields: tuple[str, ...]
    pair: Callable[[Array, Array], Array]
    saddle: np.ndarray
    scales: np.ndarray
    width: int
    sw2: float
    sb2: float
    activation: str
    info: dict[str, Any] = field(default_factory=dict)

    def uniform_energy(self, x: Array) -> Array:
        """Energy per layer of the uniform configuration x^l = x."""
        return self.pair(x, x)

    def ring_energy(self, xs: Array) -> Array:
        """E of a ring configuration ``xs`` with shape (L, F)."""
        xs = jnp.asarray(xs, dtype=float)
        return jnp.sum(jax.vmap(self.pair)(jnp.roll(xs, 1, axis=0), xs))


def _check_common(sw2: float, sb2: float, width: int) -> tuple[float, float, int]:
    return check_variance("sw2", sw2), check_variance("sb2", sb2, allow_zero=False), check_positive_int("width", width, minimum=2)


def linear_saddle(sw2: float, sb2: float, width: int) -> float:
    r"""SPS17 eq. 13: :math:`r^* = \sqrt{N\sigma_b^2/\Delta_w}`, :math:`\Delta_w = 1-\sigma_w^2` (needs σw² < 1)."""
    sw2, sb2, N = _check_common(sw2, sb2, width)
    if sw2 >= 1:
        raise NNFTInputError("sw2", f"the linear ring has a saddle point only for sw2 < 1, got {sw2}")
    return math.sqrt(N * sb2 / (1 - sw2))


def relu_saddle(sw2: float, sb2: float, width: int) -> dict[str, float]:
    r"""SPS17 eq. 20: :math:`r_\pm^* = \sqrt{N\sigma_b^2/(2(1-\sigma_w^2/2))}`, :math:`k^* = N/2` (σw² < 2)."""
    sw2, sb2, N = _check_common(sw2, sb2, width)
    if sw2 >= 2:
        raise NNFTInputError("sw2", f"the ReLU ring has a saddle point only for sw2 < 2, got {sw2}")
    r = math.sqrt(N * sb2 / (2 * (1 - sw2 / 2)))
    return {"r+": r, "r-": r, "k": N / 2}


def linear_radial_model(sw2: float, sb2: float, width: int, *, exact_jacobian: bool = False) -> LatticeModel:
    """Eq. 12 as a :class:`LatticeModel` (field ``"r"``), saddle eq. 13."""
    r_star = linear_saddle(sw2, sb2, width)
    N = width
    jac = (N - 1) if exact_jacobian else N

    def pair(xp, x):
        d_prev = sw2 * xp[0] ** 2 / N + sb2
        d = sw2 * x[0] ** 2 / N + sb2
        return 0.5 * x[0] ** 2 / d_prev + 0.5 * N * jnp.log(d) - jac * jnp.log(x[0])

    q_star = sb2 / (1 - sw2)
    return LatticeModel(
        name="linear-radial (eq. 12)",
        fields=("r",),
        pair=pair,
        saddle=np.array([r_star]),
        scales=np.array([1.0]),
        width=N,
        sw2=float(sw2),
        sb2=float(sb2),
        activation="linear",
        info={"q_star": q_star, "delta_w": 1 - sw2, "chi_par": sw2},
    )


def relu_model(sw2: float, sb2: float, width: int) -> LatticeModel:
    """Eq. 79 (k = positive count) as a :class:`LatticeModel`, fields ``("r+", "r-", "k")``, saddle eq. 20."""
    sad = relu_saddle(sw2, sb2, width)
    N = float(width)

    def pair(xp, x):
        rp, rm, k = x[0], x[1], x[2]
        d_prev = sw2 * xp[0] ** 2 / N + sb2
        d = sw2 * rp**2 / N + sb2
        km = N - k
        return 0.5 * (
            (rp**2 + rm**2) / d_prev
            + N * jnp.log(d)
            + 3 * k * jnp.log(k)
            - 2 * k * jnp.log(rp)
            + 3 * km * jnp.log(km)
            - 2 * km * jnp.log(rm)
        )

    d_star = sb2 / (1 - sw2 / 2)
    return LatticeModel(
        name="relu-large-N (eq. 79)",
        fields=RELU_FIELDS,
        pair=pair,
        saddle=np.array([sad["r+"], sad["r-"], sad["k"]]),
        scales=np.array([math.sqrt(2 / d_star), math.sqrt(2 / d_star), 1 / math.sqrt(N)]),
        width=int(width),
        sw2=float(sw2),
        sb2=float(sb2),
        activation="relu",
        info={"q_star": d_star, "D_star": d_star, "chi_par": sw2 / 2},
    )


def collective_model(
    activation: str | Activation, sw2: float, sb2: float, width: int, *, order: int = 96, saddle: str = "numerical"
) -> LatticeModel:
    r"""The collective-field model (:func:`energy_collective`) for any activation.

    Fields ``("q", "p")`` (``("q",)`` for linear φ). ``saddle="numerical"`` (default) finds the uniform
    saddle by Newton's method from (q, p) = (1, E φ(z)², z ~ N(0, 1)); ``"mean_field"`` uses q* from
    :func:`nnft.meanfield.fixed_point_q` and p* = E φ² at q*. Both agree (tested).
    """
    from ..meanfield import chi_par as _chi_par
    from ..meanfield import fixed_point_q

    act = _act(activation)
    sw2, sb2, N = _check_common(sw2, sb2, width)
    pair = _collective_pair(act, sw2, sb2, N, order)
    lin = _is_linear(act)
    fields = ("q",) if lin else ("q", "p")
    q_mf = float(fixed_point_q(act, sw2, sb2))
    if not math.isfinite(q_mf):
        raise NNFTInputError("sw2", f"no finite mean-field fixed point for {act.name} at sw2={sw2}, sb2={sb2}")
    chi = float(_chi_par(act, sw2, sb2, q_star=q_mf))
    mf = np.array([q_mf]) if lin else np.array([q_mf, float(act.second_moment(q_mf))])
    model = LatticeModel(
        name=f"collective ({act.name})",
        fields=fields,
        pair=pair,
        saddle=mf,
        scales=math.sqrt(N) / mf,
        width=N,
        sw2=sw2,
        sb2=sb2,
        activation=act.name,
        info={"q_star": q_mf, "chi_par": chi, "saddle_method": "mean_field"},
    )
    if saddle == "mean_field":
        return model
    if saddle != "numerical":
        raise NNFTInputError("saddle", f"must be 'numerical' or 'mean_field', got {saddle!r}")
    x0 = np.array([1.0]) if lin else np.array([1.0, float(act.second_moment(1.0))])
    xs = uniform_saddle(model, x0=x0)
    info = dict(model.info, saddle_method="numerical", mean_field_saddle=mf)
    return LatticeModel(
        name=model.name, fields=fields, pair=pair, saddle=xs, scales=math.sqrt(N) / xs, width=N,
        sw2=sw2, sb2=sb2, activation=act.name, info=info,
    )


def lattice_model(
    activation: str | Activation,
    sw2: float,
    sb2: float,
    *,
    width: int = 200,
    fields: Sequence[str] | str | None = None,
    saddle: str = "mean_field",
) -> LatticeModel:
    r"""The lattice model for an activation and a choice of fields (see the module docstring for the list).

    linear: ``"r"`` (default, eq. 12) or ``"q"``; ReLU: ``("r+", "r-", "k")`` (default, eq. 79) or
    ``("q", "p")``; others: ``("q", "p")`` (:func:`collective_model`, whose saddle is taken from mean field
    by default — the numerical saddle, ``saddle="numerical"``, is the same point, tested).
    """
    act = _act(activation)
    if isinstance(fields, str):
        fields = (fields,)
    fields = None if fields is None else tuple(fields)
    if _is_linear(act):
        if fields in (None, ("r",)):
            return linear_radial_model(sw2, sb2, width)
        if fields == ("q",):
            return collective_model(act, sw2, sb2, width, saddle=saddle)
        raise NNFTInputError("fields", f"linear: fields must be ('r',) or ('q',), got {fields!r}")
    if _is_relu(act):
        if fields in (None, RELU_FIELDS):
            return relu_model(sw2, sb2, width)
        if fields == ("q", "p"):
            return collective_model(act, sw2, sb2, width, saddle=saddle)
        raise NNFTInputError("fields", f"relu: fields must be {RELU_FIELDS!r} or ('q', 'p'), got {fields!r}")
    if fields not in (None, ("q", "p")):
        raise NNFTInputError("fields", f"{act.name}: only the collective fields ('q', 'p') are available, got {fields!r}")
    return collective_model(act, sw2, sb2, width, saddle=saddle)


def uniform_saddle(model: LatticeModel, x0: Any = None, *, iterations: int = 200, tol: float = 1e-12) -> np.ndarray:
    r"""The uniform saddle point of a ring model, found numerically: x* with ∇_x e(x, x) = 0.

    A uniform configuration is stationary for the whole ring iff the gradient of its energy per layer
    e(x, x) vanishes (∂₁e + ∂₂e at (x, x)). All fields are positive, so the search runs in u = ln x:
    Newton steps (``jax.grad``/``jax.hessian``) with the Hessian's eigenvalues replaced by their moduli
    (plain Newton where it is positive definite, "saddle-free" Newton where it is not), each capped at |Δu| ≤ 1 and accepted by an Armijo backtracking line search.
    The log coordinates matter for scale-invariant φ (ReLU, linear): there e(λx, λx) tends to a constant
    as λ → ∞, so the energy is flat far from the saddle and Newton in x stalls. Default start: the
    model's closed-form / mean-field saddle times 1.3.
    """
    f_u = jax.jit(lambda u: model.uniform_energy(jnp.exp(u)))
    g_u = jax.jit(jax.grad(lambda u: model.uniform_energy(jnp.exp(u))))
    h_u = jax.jit(jax.hessian(lambda u: model.uniform_energy(jnp.exp(u))))
    x = np.asarray(model.saddle * 1.3 if x0 is None else x0, dtype=float)
    if np.any(x <= 0):
        raise NNFTInputError("x0", "the lattice fields are positive; the starting point must be > 0")
    u = np.log(x)
    fu = float(f_u(u))
    for _ in range(iterations):
        g = np.asarray(g_u(u))
        h = np.asarray(h_u(u))
        step = None
        if np.all(np.isfinite(h)):
            lam, vec = np.linalg.eigh(0.5 * (h + h.T))
            lam = np.maximum(np.abs(lam), 1e-10 * np.abs(lam).max())  # |H|: Newton, or saddle-free Newton
            step = -vec @ ((vec.T @ g) / lam)
        if step is None or not np.all(np.isfinite(step)):
            step = -g / (np.linalg.norm(g) + 1e-300)
        step = step / max(1.0, float(np.max(np.abs(step))))
        slope = float(g @ step)
        t, accepted = 1.0, False
        while t > 1e-12:
            un = u + t * step
            fn = float(f_u(un))
            if np.isfinite(fn) and fn <= fu + 1e-4 * t * slope + 1e-15 * abs(fu):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        u, fu = un, fn
        if np.max(np.abs(t * step)) < tol:
            break
    return np.exp(u)


# ============================================================================ Gaussian fluctuations
def hessian_blocks(model: LatticeModel, x: Any = None) -> tuple[np.ndarray, np.ndarray]:
    r"""(A₀, A₁): on-site and layer-to-layer blocks of the ring Hessian at the uniform point x (default: saddle).

    With :math:`H=\nabla^2 e(x_{prev}, x)` (``jax.hessian``) split into prev/this blocks,
    :math:`A_0 = H_{xx} + H_{pp}` (x^l enters e(l) as "this" and e(l+1) as "prev") and
    :math:`A_1 = H_{x p}` (row: layer l, column: layer l−1). Units: the model's natural fields.
    """
    xs = np.asarray(model.saddle if x is None else x, dtype=float)
    F = xs.size
    H = np.asarray(jax.jit(jax.hessian(lambda y: model.pair(y[:F], y[F:])))(jnp.concatenate([xs, xs])))
    hpp, hxx, hxp = H[:F, :F], H[F:, F:], H[F:, :F]
    return hpp + hxx, hxp


def ring_hessian(model: LatticeModel, length: int, x: Any = None) -> np.ndarray:
    """Full Hessian (L·F × L·F) of the ring energy at the uniform configuration, by ``jax.hessian`` (tests)."""
    xs = np.asarray(model.saddle if x is None else x, dtype=float)
    conf = jnp.tile(jnp.asarray(xs), (length, 1))
    F = xs.size
    H = jax.jit(jax.hessian(lambda v: model.ring_energy(v.reshape(length, F))))(conf.ravel())
    return np.asarray(H)


def _symbol(a0: np.ndarray, a1: np.ndarray, qs: np.ndarray) -> np.ndarray:
    e = np.exp(-1j * np.asarray(qs, dtype=float))[:, None, None]
    return a0[None] + a1[None] * e + a1.T[None] * np.conj(e)


def inverse_covariance(model: LatticeModel, qs: Any, *, rescaled: bool = False) -> np.ndarray:
    r""":math:`\Sigma^{-1}(q) = A_0 + A_1e^{-iq} + A_1^Te^{iq}`, shape (len(qs), F, F), complex Hermitian."""
    a0, a1 = hessian_blocks(model)
    out = _symbol(a0, a1, np.atleast_1d(qs))
    if rescaled:
        s = 1.0 / model.scales
        out = out * s[None, :, None] * s[None, None, :]
    return out


@dataclass(frozen=True)
class FluctuationSpectrum:
    r"""Gaussian fluctuation spectrum of a lattice model.

    ``covariance[i]`` is Σ(qs[i]) (F × F, complex Hermitian), ``inverse_covariance[i]`` its inverse, in the
    order of ``fields``; ``normalisation`` states the Fourier convention (module docstring); ``scales`` are
    the factors of the rescaled fields ε̃ = ``scales`` · ε and ``rescaled`` says whether the matrices are in
    ε̃ (True) or in the natural fields ε (False). ``blocks`` = (A₀, A₁) in natural units.
    """

    qs: np.ndarray
    covariance: np.ndarray
    inverse_covariance: np.ndarray
    fields: tuple[str, ...]
    normalisation: str
    rescaled: bool
    scales: np.ndarray
    saddle: dict[str, float]
    model: str
    width: int
    blocks: tuple[np.ndarray, np.ndarray]

    def component(self, a: str, b: str) -> np.ndarray:
        """Σ_ab(q) for two field names."""
        return self.covariance[:, self.fields.index(a), self.fields.index(b)]


def fluctuation_spectrum(
    activation: str | Activation,
    sw2: float,
    sb2: float,
    qs: Any,
    *,
    width: int = 200,
    fields: Sequence[str] | str | None = None,
    rescaled: bool = False,
) -> FluctuationSpectrum:
    r"""Gaussian (Laplace) theory of the fluctuations about the uniform saddle, for each wave number q.

    Builds the lattice model (:func:`lattice_model`), takes the Hessian of its energy at the saddle by
    ``jax.hessian`` and returns Σ(q) = [A₀ + A₁e^{−iq} + A₁ᵀe^{iq}]⁻¹, shape (len(qs), F, F).
    Fields (order of the matrices): linear ``("r",)`` (default) or ``("q",)``; ReLU ``("r+", "r-", "k")``
    (default; k = number of positive units) or ``("q", "p")``; others ``("q", "p")``. Normalisation:
    :data:`FOURIER_NORMALISATION` (per-layer spectral density; variance of a mode of
    ``numpy.fft.fft(eps, norm="ortho")``). Leading order in 1/N (see :func:`relative_collective_variance`
    for the size of the corrections).
    """
    model = lattice_model(activation, sw2, sb2, width=width, fields=fields)
    qs = np.atleast_1d(np.asarray(qs, dtype=float))
    a0, a1 = hessian_blocks(model)
    inv = _symbol(a0, a1, qs)
    scales = np.asarray(model.scales, dtype=float)
    if rescaled:
        s = 1.0 / scales
        inv = inv * s[None, :, None] * s[None, None, :]
    cov = np.linalg.inv(inv)
    return FluctuationSpectrum(
        qs=qs,
        covariance=cov,
        inverse_covariance=inv,
        fields=model.fields,
        normalisation=FOURIER_NORMALISATION,
        rescaled=rescaled,
        scales=scales,
        saddle=dict(zip(model.fields, map(float, model.saddle))),
        model=model.name,
        width=model.width,
        blocks=(a0, a1),
    )


def autocovariance(blocks: tuple[np.ndarray, np.ndarray], lags: int, *, grid: int | None = None) -> np.ndarray:
    r"""C(k) = Cov(ε^{l+k}, ε^l) = (1/2π)∫Σ(q)e^{iqk}dq for k = 0..lags−1, shape (lags, F, F).

    Computed by an FFT of Σ(q) on ``grid`` points (default: 8·lags + 16·ξ, rounded to a power of two),
    which is exact up to the aliasing C(k + grid) ~ e^{−grid/ξ}.
    """
    a0, a1 = (np.asarray(b, dtype=float) for b in blocks)
    xi = _lattice_xi(a0, a1)
    if grid is None:
        need = 8 * lags + 16 * (xi if np.isfinite(xi) else 1e5)
        grid = int(2 ** math.ceil(math.log2(max(need, 64))))
    qg = 2 * np.pi * np.arange(grid) / grid
    sig = np.linalg.inv(_symbol(a0, a1, qg))
    c = np.fft.ifft(sig, axis=0)[:lags]  # (1/grid) Σ_q Σ(q) e^{+iqk}
    return c.real if np.allclose(c.imag, 0, atol=1e-12 * np.abs(c).max()) else c


def windowed_spectrum(blocks: tuple[np.ndarray, np.ndarray], window: int, qs: Any = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Expected spectrum of a finite window of L = ``window`` layers of the stationary (open-chain bulk) process.

    :math:`\mathbb E|\hat\epsilon(q)|^2/L = \sum_{|k|<L}(1-|k|/L)C(k)e^{-iqk}` (Fejér smoothing of Σ(q)), with
    C(−k) = C(k)ᵀ. Returns (qs, S) with default qs = 2πn/L, n = 0..L−1, S of shape (len(qs), F, F).
    """
    L = check_positive_int("window", window)
    c = np.asarray(autocovariance(blocks, L), dtype=complex)
    qs = 2 * np.pi * np.arange(L) / L if qs is None else np.atleast_1d(np.asarray(qs, dtype=float))
    k = np.arange(1, L)
    w = (1 - k / L)[:, None, None, None]
    ph = np.exp(-1j * np.outer(k, qs))[:, :, None, None]  # (k, q)
    ck = c[1:, None]  # (k, 1, F, F)
    s = c[0][None] + np.sum(w * (ck * ph + np.swapaxes(ck, -1, -2) * np.conj(ph)), axis=0)
    return qs, s


def collective_closed_form(activation: str | Activation, sw2: float, sb2: float, qs: Any, *, width: int) -> dict[str, np.ndarray]:
    r"""Closed-form leading-order spectra of the collective fields, derived from the exact chain (check of the autodiff theory).

    Given layer l−1, z^l is iid N(0, D^{l-1}); with :math:`D^l = \sigma_b^2 + \sigma_w^2p^l` and the variance
    map V, linearising about q*:

    .. math:: \delta D^l = \chi_\parallel\,\delta D^{l-1} + \eta^l,\qquad \delta q^l = \delta D^{l-1} + e^l,

    with :math:`\mathrm{Var}\,\eta = \sigma_w^4\mathrm{Var}[\phi^2]/N`, :math:`\mathrm{Var}\,e = 2q^{*2}/N`,
    :math:`\mathrm{Cov}(\eta,e) = \sigma_w^2\mathrm{Cov}[z^2,\phi^2]/N` (all under N(0, q*), same layer).
    So D is an AR(1) with coefficient χ∥ (the slope of the variance map) and noise Var η, and q an ARMA(1,1):

    .. math:: S_{DD} = \frac{\mathrm{Var}\,\eta}{1+\chi^2-2\chi\cos q},\qquad
              S_{qq} = \frac{\mathrm{Var}\,\eta + \mathrm{Var}\,e\,(1+\chi^2-2\chi\cos q) + 2\,\mathrm{Cov}(\eta,e)(\cos q-\chi)}{1+\chi^2-2\chi\cos q}.

    For linear φ (η = σw²e) S_qq reduces to the AR(1) :math:`(2q^{*2}/N)/(1+\sigma_w^4-2\sigma_w^2\cos q)`.
    Returns {"qq", "DD", "pp", "chi_par", "var_eta", "var_e", "cov_eta_e"}.
    """
    from ..meanfield import chi_par as _chi_par
    from ..meanfield import fixed_point_q

    act = _act(activation)
    N = check_positive_int("width", width)
    q = float(fixed_point_q(act, sw2, sb2))
    chi = float(_chi_par(act, sw2, sb2, q_star=q))
    m = np.asarray(_expect_vec(lambda u: jnp.stack([u**2, act(u) ** 2, act(u) ** 4, u**2 * act(u) ** 2]), q, 128))
    var_phi2 = m[2] - m[1] ** 2
    cov_z2_phi2 = m[3] - q * m[1]
    var_eta = sw2**2 * var_phi2 / N
    var_e = 2 * q**2 / N
    cov = sw2 * cov_z2_phi2 / N
    qs = np.atleast_1d(np.asarray(qs, dtype=float))
    den = 1 + chi**2 - 2 * chi * np.cos(qs)
    s_dd = var_eta / den
    s_qq = (var_eta + var_e * den + 2 * cov * (np.cos(qs) - chi)) / den
    return {"qq": s_qq, "DD": s_dd, "pp": s_dd / sw2**2 if sw2 > 0 else np.zeros_like(qs), "chi_par": chi,
            "var_eta": var_eta, "var_e": var_e, "cov_eta_e": cov}


def relative_collective_variance(activation: str | Activation, sw2: float, sb2: float, *, width: int) -> float:
    r"""v = Var(D)/D*², the stationary relative variance of the layer variance D^l at leading order.

    :math:`v = \sigma_w^4\mathrm{Var}_{q^*}[\phi^2]/(N q^{*2}(1-\chi_\parallel^2))`. It is the expansion parameter of
    the Gaussian theory: its O(1/N) corrections are O(v) relative (it grows like ξ/N near criticality). For the
    linear chain the exact spectrum of q = |z|²/N is the Gaussian one times 1/(1 − σw⁴·2/(N(1−σw⁴))) = 1 + O(v).
    """
    cf = collective_closed_form(activation, sw2, sb2, [0.0], width=width)
    from ..meanfield import fixed_point_q

    q = float(fixed_point_q(_act(activation), sw2, sb2))
    return float(cf["var_eta"] / (1 - cf["chi_par"] ** 2) / q**2)


def gaussian_theory_error(activation: str | Activation, sw2: float, sb2: float, *, width: int) -> float:
    r"""Documented size of the O(1/N) corrections to the Gaussian spectra: 1/N + v (:func:`relative_collective_variance`).

    Stated as a bound on |S_exact − S_Gauss|_ab relative to √(S_aa S_bb) for every mode. The 1/N part is
    the generic width correction (e.g. N vs N − 1 in the radial Jacobian, E r ≠ r*), the v part its
    enhancement near criticality (v ∝ ξ/N). Checked against the exact finite-N spectra of the linear and
    ReLU chains (:func:`linear_exact_spectrum`, :func:`relu_exact_spectrum`) in the tests.
    """
    return 1.0 / check_positive_int("width", width) + relative_collective_variance(activation, sw2, sb2, width=width)


# ---------------------------------------------------------------------------- exact linear chain
def linear_exact_spectrum(
    sw2: float,
    sb2: float,
    width: int,
    qs: Any = None,
    *,
    observable: str = "r",
    window: int | None = None,
    grid: int = 900,
) -> dict[str, Any]:
    r"""Exact finite-N spectrum of the linear chain's bulk, for ε = r − r* (``"r"``) or q − q* (``"q"``).

    The linear chain is exactly Markov in :math:`s^l=|z^l|^2/N`: :math:`s^l = (\sigma_w^2s^{l-1}+\sigma_b^2)\chi^2_N/N`.
    ``"q"`` without a window uses the exact AR(1) (Grosvenor–Jefferson note §5.3):
    :math:`S(q) = \mathrm{Var}(u)/(1+\sigma_w^4-2\sigma_w^2\cos q)`,
    :math:`\mathrm{Var}(u) = (2m^2/N)/(1-2\sigma_w^4/(N(1-\sigma_w^4)))`, m = q*. Otherwise the transition kernel is
    discretised on ``grid`` points in log s (exact up to discretisation, checked against the closed form),
    the stationary law π found, and :math:`C(k) = \sum_i\pi_i\tilde f_i(P^k\tilde f)_i`, f̃ = f − E f;
    then S(q) = Σ_k C(k)e^{−iqk} (or its Fejér-windowed form for ``window`` = L).
    Returns {"qs", "spectrum", "variance", "mean"} (mean: E f, e.g. E r − r*).
    """
    from scipy.stats import chi2

    sw2, sb2, N = _check_common(sw2, sb2, width)
    if sw2**2 * (1 + 2 / N) >= 1:
        raise NNFTInputError("sw2", f"the stationary variance of |z|^2 diverges for sw2^2 (1 + 2/N) >= 1 (sw2={sw2}, N={N})")
    if observable not in ("r", "q"):
        raise NNFTInputError("observable", f"must be 'r' or 'q', got {observable!r}")
    m = sb2 / (1 - sw2)
    var_u = (2 * m**2 / N) / (1 - 2 * sw2**2 / (N * (1 - sw2**2)))
    var_s = var_u / (1 - sw2**2)
    if qs is None:
        L = window or 512
        qs = 2 * np.pi * np.arange(L) / L
    qs = np.atleast_1d(np.asarray(qs, dtype=float))
    if observable == "q" and window is None:
        return {"qs": qs, "spectrum": var_u / (1 + sw2**2 - 2 * sw2 * np.cos(qs)), "variance": var_s, "mean": 0.0}
    # discretised Markov kernel in u = log s
    sd = math.sqrt(math.log1p(var_s / m**2))
    lo, hi = math.log(m) - 9 * sd - 6 * math.sqrt(2 / N), math.log(m) + 14 * sd + 6 * math.sqrt(2 / N)
    u = np.linspace(lo, hi, grid)
    du = u[1] - u[0]
    s = np.exp(u)
    d = sw2 * s + sb2
    y = u[None, :] - np.log(d)[:, None]  # log(X/N) for each (i -> j)
    logp = chi2.logpdf(N * np.exp(y), N) + np.log(N) + y
    P = np.exp(logp - logp.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    A = P.T - np.eye(grid)
    A[-1] = 1.0
    rhs = np.zeros(grid)
    rhs[-1] = 1.0
    pi = np.linalg.solve(A, rhs)
    pi = np.clip(pi, 0, None)
    pi /= pi.sum()
    f = np.sqrt(N * s) - math.sqrt(N * m) if observable == "r" else s - m
    mean = float(pi @ f)
    ft = f - mean
    xi = -1 / math.log(sw2) if sw2 > 0 else 1.0
    K = window if window is not None else int(40 * xi + 60)
    c = np.empty(K)
    w = ft.copy()
    for k in range(K):
        c[k] = pi @ (ft * w)
        w = P @ w
    kk = np.arange(1, K)
    wts = (1 - kk / window) if window is not None else np.ones(K - 1)
    spec = c[0] + 2 * np.sum((wts * c[1:])[:, None] * np.cos(np.outer(kk, qs)), axis=0)
    return {"qs": qs, "spectrum": spec, "variance": float(c[0]), "mean": mean}


def relu_exact_spectrum(
    sw2: float,
    sb2: float,
    width: int,
    qs: Any = None,
    *,
    window: int | None = None,
    grid: int = 600,
    rescaled: bool = False,
) -> dict[str, Any]:
    r"""Exact finite-N spectral matrix of the ReLU chain's bulk, fields (r₊, r₋, k), k = positive count.

    The chain is exactly Markov in the layer variance :math:`D^l=\sigma_b^2+\sigma_w^2(r_+^l)^2/N`: given
    :math:`D^{l-1}`, :math:`k\sim\mathrm{Bin}(N,\frac12)`, :math:`(r_+^l)^2 = D^{l-1}\chi^2_k`,
    :math:`(r_-^l)^2=D^{l-1}\chi^2_{N-k}`. The kernel of :math:`y=\ln(D-\sigma_b^2)` is discretised on ``grid``
    points (a mixture over k of log-χ² densities), its stationary law π found, and

    .. math:: \mathbb E[f_a^{l+d}f_b^l] = \sum_i\pi_i\,[T_b\,P^{d-1}\mu_a]_i\ (d\ge1),\qquad
              \mu_a(D)=\mathbb E[f_a^{l+1}\mid D^l=D],

    with :math:`T_b[i,j]` the transition weighted by :math:`\mathbb E[f_b^l\mid D^{l-1}_i, D^l_j]`; lag 0 from the
    conditional second moments (E χ_n = √2 Γ((n+1)/2)/Γ(n/2)). Exact up to discretisation (checked: E D = q*
    exactly). Returns {"qs", "covariance" (len(qs), 3, 3), "mean" (E f − saddle), "fields"}; ``rescaled``
    gives the ε̃ units of :func:`relu_model`. Spectrum as in :data:`FOURIER_NORMALISATION`, Fejér-windowed
    when ``window`` is given (else summed to 40ξ).
    """
    from scipy.special import gammaln as _gl
    from scipy.stats import binom as _binom_dist
    from scipy.stats import chi2

    sw2, sb2, N = _check_common(sw2, sb2, width)
    if not 0 < sw2 < 2:
        raise NNFTInputError("sw2", f"the ReLU chain is stationary for 0 < sw2 < 2, got {sw2}")
    chi = sw2 / 2
    d_star = sb2 / (1 - chi)
    ks = np.arange(N + 1)
    pk = _binom_dist.pmf(ks, N, 0.5)
    keep = pk > 1e-14 * pk.max()
    ks, pk = ks[keep & (ks > 0) & (ks < N)], pk[keep & (ks > 0) & (ks < N)]
    stride = max(1, int(math.sqrt(N) / 50))  # large N: lump the (smooth) binomial onto every stride-th k
    if stride > 1:
        groups = (ks - ks[0]) // stride
        pk = np.bincount(groups, weights=pk)
        ks = np.round(np.bincount(groups, weights=(ks * 1.0)) / np.bincount(groups)).astype(int)
    pk = pk / pk.sum()

    def chi_mean(n):
        n = np.asarray(n, dtype=float)
        return np.sqrt(2.0) * np.exp(_gl((n + 1) / 2) - _gl(n / 2))

    cp, cm = chi_mean(ks), chi_mean(N - ks)
    # grid in y = log(D - sb2); centre at log(chi D*), width from the relative variance of D
    v_rel = (sw2**2 * 5 / (4 * N)) / (1 - chi**2)
    sd = math.sqrt(math.log1p(v_rel * (d_star / (d_star - sb2)) ** 2))
    kern = math.sqrt(5 / N)
    y0 = math.log(chi * d_star)
    y = np.linspace(y0 - 10 * sd - 8 * kern, y0 + 16 * sd + 8 * kern, grid)
    dy = y[1] - y[0]
    D = sb2 + np.exp(y)
    # X_ij = N e^{y_j}/(sw2 D_i); density of y_j: p_X(X) X dy
    logx = np.log(N / sw2) + y[None, :] - np.log(D)[:, None]  # (i, j)
    X = np.exp(logx)
    dens = np.zeros((grid, grid))
    w_plus = np.zeros((grid, grid))
    w_minus = np.zeros((grid, grid))
    w_k = np.zeros((grid, grid))
    for k_, p_, cm_ in zip(ks, pk, cm):
        pdf = p_ * np.exp(chi2.logpdf(X, k_) + logx) * dy
        dens += pdf
        w_plus += pdf * np.sqrt(D[:, None] * X)
        w_minus += pdf * np.sqrt(D)[:, None] * cm_
        w_k += pdf * k_
    norm = dens.sum(axis=1, keepdims=True)
    P = dens / norm
    T = [w_plus / norm, w_minus / norm, w_k / norm]
    A = P.T - np.eye(grid)
    A[-1] = 1.0
    rhs = np.zeros(grid)
    rhs[-1] = 1.0
    pi = np.clip(np.linalg.solve(A, rhs), 0, None)
    pi /= pi.sum()
    sq = np.sqrt(D)
    mu = np.stack([sq * np.sum(pk * cp), sq * np.sum(pk * cm), np.full(grid, float(np.sum(pk * ks)))])  # (3, G)
    mean = mu @ pi
    # lag-0 second moments
    m2 = np.empty((3, 3))
    m2[1, 1] = float(pi @ D) * float(np.sum(pk * (N - ks)))
    m2[0, 0] = float(pi @ D) * float(np.sum(pk * ks))
    m2[2, 2] = float(np.sum(pk * ks**2))
    m2[0, 1] = m2[1, 0] = float(pi @ D) * float(np.sum(pk * cp * cm))
    m2[0, 2] = m2[2, 0] = float(pi @ sq) * float(np.sum(pk * ks * cp))
    m2[1, 2] = m2[2, 1] = float(pi @ sq) * float(np.sum(pk * ks * cm))
    xi = -1 / math.log(chi)
    K = window if window is not None else int(40 * xi + 60)
    C = np.zeros((K, 3, 3))
    C[0] = m2 - np.outer(mean, mean)
    prop = mu.copy()  # P^{d-1} mu_a, shape (3, G)
    for d in range(1, K):
        for b in range(3):
            C[d, :, b] = (T[b] @ prop.T).T @ pi - mean * mean[b]
        prop = prop @ P.T
    qs = (2 * np.pi * np.arange(window or 512) / (window or 512)) if qs is None else np.atleast_1d(np.asarray(qs, dtype=float))
    d = np.arange(1, K)
    wts = (1 - d / window) if window is not None else np.ones(K - 1)
    ph = np.exp(-1j * np.outer(d, qs))[:, :, None, None]
    Cd = (wts[:, None, None] * C[1:])[:, None]
    S = C[0][None] + np.sum(Cd * ph + np.swapaxes(Cd, -1, -2) * np.conj(ph), axis=0)
    saddle = np.array([math.sqrt(N * d_star / 2)] * 2 + [N / 2])
    if rescaled:
        sc = np.array([math.sqrt(2 / d_star)] * 2 + [1 / math.sqrt(N)])
        S = S * sc[None, :, None] * sc[None, None, :]
    return {"qs": qs, "covariance": S, "mean": mean - saddle, "mean_D": float(pi @ D), "fields": RELU_FIELDS}


# ============================================================================ EFT and correlation lengths
@dataclass(frozen=True)
class EFT:
    r"""Long-wavelength (gradient) expansion of the Gaussian lattice theory.

    :math:`\Sigma^{-1}(q) = M_0 + qM_1 + q^2M_2 + O(q^3)` (Taylor coefficients by autodiff), equivalently the
    continuum energy

    .. math:: U = \frac12\int dx\,\big[\epsilon^TM_0\epsilon + \epsilon^TG\,\partial_x\epsilon
              + \partial_x\epsilon^T M_2\,\partial_x\epsilon\big],\qquad G = -iM_1\ (\text{real antisymmetric}).

    ``xi`` is the EFT correlation length 1/|Im q| of the root of det(M₀ + qM₁ + q²M₂) nearest 0 (off the real axis).
    """

    fields: tuple[str, ...]
    mass: np.ndarray
    drift: np.ndarray
    stiffness: np.ndarray
    xi: float

    def inverse_covariance(self, qs: Any) -> np.ndarray:
        q = np.atleast_1d(np.asarray(qs, dtype=float))[:, None, None]
        return self.mass[None] + 1j * q * self.drift[None] + q**2 * self.stiffness[None]


def _taylor_symbol(a0: np.ndarray, a1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M₀, M₁, M₂) of Σ⁻¹(q) at q = 0 by forward-mode autodiff of the real and imaginary parts."""
    A0, A1 = jnp.asarray(a0), jnp.asarray(a1)

    def re(q):
        return A0 + (A1 + A1.T) * jnp.cos(q)

    def im(q):
        return -(A1 - A1.T) * jnp.sin(q)

    m0 = np.asarray(re(0.0)) + 1j * np.asarray(im(0.0))
    m1 = np.asarray(jax.jacfwd(re)(0.0)) + 1j * np.asarray(jax.jacfwd(im)(0.0))
    m2 = 0.5 * (np.asarray(jax.jacfwd(jax.jacfwd(re))(0.0)) + 1j * np.asarray(jax.jacfwd(jax.jacfwd(im))(0.0)))
    return m0, m1, m2


def _quadratic_roots(m0: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Finite roots q of det(M₀ + qM₁ + q²M₂) (companion linearisation, generalized eigenproblem)."""
    F = m0.shape[0]
    Z, I = np.zeros((F, F)), np.eye(F)
    A = np.block([[Z, I], [-m0, -m1]])
    B = np.block([[I, Z], [Z, m2]])
    w = scipy.linalg.eig(A, B, right=False)
    return w[np.isfinite(w)]


def _lattice_xi(a0: np.ndarray, a1: np.ndarray) -> float:
    r"""Exact correlation length of the Gaussian lattice theory: −1/ln max|z| over the roots |z| < 1 of det Σ⁻¹(z).

    Σ⁻¹ as a Laurent polynomial in z = e^{−iq}: z·Σ⁻¹ = A₁ᵀ + A₀z + A₁z²; C(k) decays like |z|^k for the
    root of largest modulus inside the unit circle.
    """
    F = a0.shape[0]
    Z, I = np.zeros((F, F)), np.eye(F)
    A = np.block([[Z, I], [-a1.T, -a0]])
    B = np.block([[I, Z], [Z, a1]])
    w = scipy.linalg.eig(A, B, right=False)
    w = np.abs(w[np.isfinite(w)])
    inside = w[(w < 1 - 1e-12) & (w > 1e-14)]
    if inside.size == 0:
        return 0.0
    return float(-1 / np.log(inside.max()))


def eft_expansion(source: LatticeModel | FluctuationSpectrum | tuple[np.ndarray, np.ndarray], fields: Sequence[str] | None = None) -> EFT:
    """The EFT (gradient expansion to O(q²)) of a Gaussian lattice theory, in natural units (eq. 16, 23).

    ``source``: a model, a :class:`FluctuationSpectrum` or the Hessian blocks (A₀, A₁).
    """
    if isinstance(source, FluctuationSpectrum):
        (a0, a1), fields = source.blocks, source.fields
    elif isinstance(source, LatticeModel):
        (a0, a1), fields = hessian_blocks(source), source.fields
    else:
        a0, a1 = (np.asarray(b, dtype=float) for b in source)
        fields = tuple(fields) if fields is not None else tuple(f"x{i}" for i in range(a0.shape[0]))
    m0, m1, m2 = _taylor_symbol(a0, a1)
    xi = _eft_xi(_quadratic_roots(m0, m1, m2))
    return EFT(fields=tuple(fields), mass=m0.real, drift=(-1j * m1).real, stiffness=m2.real, xi=xi)


def _eft_xi(roots: np.ndarray) -> float:
    """1/|Im q| of the root nearest q = 0 off the real axis (the long-wavelength pole q ≈ ±i/ξ).

    A truncated gradient expansion can have spurious real roots at |q| = O(1) (an indefinite stiffness
    matrix, as for ReLU), outside its range of validity; they are ignored.
    """
    off = roots[np.abs(roots.imag) > 1e-12 * max(1.0, float(np.abs(roots).max(initial=0.0)))]
    if off.size == 0:
        return math.inf
    return float(1 / abs(off[np.argmin(np.abs(off))].imag))


def correlation_lengths(activation: str | Activation, sw2: float, sb2: float, *, width: int = 200, fields: Any = None) -> dict[str, float]:
    r"""Correlation lengths side by side (layers).

    * ``lattice``: the exact decay length of C(k) of the Gaussian lattice theory (roots of det Σ⁻¹);
    * ``eft``: 1/|Im q| of the EFT pole nearest q = 0 (roots of det(M₀ + qM₁ + q²M₂));
    * ``mean_field``: :math:`\xi_q=-1/\ln\chi_\parallel` (Schoenholz et al. 2017);
    * ``paper`` (linear only): SPS17's :math:`\xi = \sigma_w/\Delta_w` read off eq. 17.

    For linear φ, lattice = mean_field = −1/ln σw², and eft = σw/Δw exactly (the same number to O(Δw)).
    """
    model = lattice_model(activation, sw2, sb2, width=width, fields=fields)
    a0, a1 = hessian_blocks(model)
    chi = model.info.get("chi_par")
    out = {
        "lattice": _lattice_xi(a0, a1),
        "eft": eft_expansion((a0, a1)).xi,
        "mean_field": float(-1 / math.log(chi)) if chi and 0 < chi < 1 else math.inf,
    }
    if model.activation == "linear":
        out["paper"] = paper_linear_xi(sw2)
    return out


# ============================================================================ printed formulas (SPS17)
def paper_linear_saddle(sw2: float, sb2: float, width: int) -> float:
    """Eq. 13 as printed (identical to :func:`linear_saddle`)."""
    return math.sqrt(width * sb2 / (1 - sw2))


def paper_linear_inverse_covariance(qs: Any, sw2: float, sb2: float, window: int) -> np.ndarray:
    r"""Eq. 15 as printed: :math:`U=\frac{L\Delta_w}{\sigma_b^2}\sum_q\{(1+\sigma_w^4)-2\sigma_w^2\cos q\}|\epsilon_q|^2`,
    i.e. :math:`\Sigma^{-1}_{paper}(q) = (2L\Delta_w/\sigma_b^2)(1+\sigma_w^4-2\sigma_w^2\cos q)` for the paper's
    coefficients :math:`\epsilon_q` (:math:`\epsilon^l=\sum_q\epsilon_qe^{-iql}`, so E|ε_q|² = S(q)/L)."""
    q = np.atleast_1d(np.asarray(qs, dtype=float))
    return 2 * window * (1 - sw2) / sb2 * (1 + sw2**2 - 2 * sw2 * np.cos(q))


def paper_linear_spectrum(qs: Any, sw2: float, sb2: float) -> np.ndarray:
    r"""Eq. 15 in this module's normalisation: :math:`S(q)=\sigma_b^2/(2\Delta_w(1+\sigma_w^4-2\sigma_w^2\cos q))` for ε = r − r*."""
    q = np.atleast_1d(np.asarray(qs, dtype=float))
    return sb2 / (2 * (1 - sw2) * (1 + sw2**2 - 2 * sw2 * np.cos(q)))


def paper_relu_saddle(sw2: float, sb2: float, width: int) -> dict[str, float]:
    """Eq. 20 as printed (identical to :func:`relu_saddle`)."""
    r = math.sqrt(width * sb2 / (2 * (1 - sw2 / 2)))
    return {"r+": r, "r-": r, "k": width / 2}


def paper_relu_inverse_covariance(qs: Any, sw2: float) -> np.ndarray:
    r"""Eq. 22 as printed, shape (len(qs), 3, 3), fields (ε̃₊, ε̃₋, ε̃_k), k = **negative** count, the paper's
    Fourier sign (:math:`\epsilon^l=\sum_q\epsilon^q e^{-iql}`):

    .. math:: \begin{pmatrix}1+\sigma_w^4/2-\sigma_w^2\cos q & -\tfrac12\sigma_w^2e^{-iq} & \tfrac12\\
              -\tfrac12\sigma_w^2e^{iq} & 1 & -\tfrac12\\ \tfrac12 & -\tfrac12 & 3\end{pmatrix}.

    **Erratum**: the Hessian of eq. 79 — which is eq. 94 of the appendix, correct — in the fields ε̃ has the
    k row (1, −1, 6) (k = negatives; (−1, 1, 6) for k = positives), twice the printed (½, −½, 3): going from
    eq. 94 to eq. 95 the substitution ε_k → √N ε̃_k turns 6/N ε_k² into 6 ε̃_k² and 2√(2/(N D*)) ε_k ε± into
    2 ε̃_k ε̃±, but eq. 95/21 print 3 and 1. The printed matrix gives Var ε̃_k = 0.40 at σw² → 0 instead of
    the binomial 1/4, and Var ε̃± 12% too small; simulation agrees with the corrected matrix.
    """
    q = np.atleast_1d(np.asarray(qs, dtype=float))
    out = np.zeros((q.size, 3, 3), dtype=complex)
    out[:, 0, 0] = 1 + sw2**2 / 2 - sw2 * np.cos(q)
    out[:, 0, 1] = -0.5 * sw2 * np.exp(-1j * q)
    out[:, 1, 0] = -0.5 * sw2 * np.exp(1j * q)
    out[:, 1, 1] = 1.0
    out[:, 0, 2] = out[:, 2, 0] = 0.5
    out[:, 1, 2] = out[:, 2, 1] = -0.5
    out[:, 2, 2] = 3.0
    return out


def paper_relu_spectrum(qs: Any, sw2: float, *, convention: str = "nnft") -> np.ndarray:
    r"""The covariance implied by eq. 22 (its inverse), in rescaled fields ε̃, shape (len(qs), 3, 3).

    ``convention="paper"``: as printed (k = negative count, the paper's Fourier sign).
    ``convention="nnft"`` (default): converted to this module's conventions — evaluated at −q (Fourier sign)
    and with the k row/column negated (k = positive count) — so it compares directly with
    ``fluctuation_spectrum("relu", ..., rescaled=True).covariance``.
    """
    q = np.atleast_1d(np.asarray(qs, dtype=float))
    if convention == "paper":
        return np.linalg.inv(paper_relu_inverse_covariance(q, sw2))
    if convention != "nnft":
        raise NNFTInputError("convention", f"must be 'nnft' or 'paper', got {convention!r}")
    cov = np.linalg.inv(paper_relu_inverse_covariance(-q, sw2))
    flip = np.array([1.0, 1.0, -1.0])
    return cov * flip[None, :, None] * flip[None, None, :]


def paper_linear_eft(sw2: float, sb2: float) -> dict[str, float]:
    r"""Eq. 16 as printed, :math:`U=\frac{\Delta_w}{\sigma_b^2}\int[\Delta_w^2\epsilon^2+\sigma_w^2(\partial\epsilon)^2]`,
    as coefficients of :math:`\frac12\int[m\epsilon^2+\kappa(\partial\epsilon)^2]`: m = 2Δw³/σb², κ = 2Δwσw²/σb²."""
    dw = 1 - sw2
    return {"mass": 2 * dw**3 / sb2, "stiffness": 2 * dw * sw2 / sb2}


def paper_relu_eft(sw2: float) -> EFT:
    r"""Eq. 23 as printed, in the form of :class:`EFT` (fields ε̃₊, ε̃₋, ε̃_k; k = negative count):

    .. math:: U=\frac12\int\big[(1-\sigma_w^2+\sigma_w^4/2)\epsilon_+^2+\epsilon_-^2+3\epsilon_k^2
              +\sigma_w^2\epsilon_+\epsilon_- + \epsilon_k(\epsilon_+-\epsilon_-)
              +\sigma_w^2(\partial\epsilon_+)^2+\sigma_w^2\,\partial\epsilon_+\,\epsilon_-\big].

    Errata (against :func:`eft_expansion` of eq. 79): the on-site ε₊ε₋ coupling has the wrong sign
    (−σw² from expanding ε₊^{l−1} = ε₊ − ∂ε₊), the gradient term is σw²/2 (not σw²), the O(q²) cross term
    (σw²/2)∂ε₊∂ε₋ is missing, and the k couplings inherit the factor-2 error of eq. 21.
    """
    m = np.array([[1 - sw2 + sw2**2 / 2, sw2 / 2, 0.5], [sw2 / 2, 1, -0.5], [0.5, -0.5, 3]])
    g = np.array([[0.0, -sw2 / 2, 0], [sw2 / 2, 0, 0], [0, 0, 0]])  # ε₋ ∂ε₊ coefficient σw² -> antisymmetric part
    k = np.array([[sw2, 0, 0], [0, 0, 0], [0, 0, 0]])
    roots = _quadratic_roots(m.astype(complex), 1j * g, k.astype(complex))
    return EFT(fields=RELU_FIELDS, mass=m, drift=g, stiffness=k, xi=_eft_xi(roots))


def paper_linear_xi(sw2: float) -> float:
    r"""SPS17's fluctuation length scale :math:`\xi = \sigma_w/\Delta_w` (read off eq. 17)."""
    return math.sqrt(sw2) / (1 - sw2)
