r"""Collective-coordinate samplers: exact Markov chains of a few sufficient statistics, O(1) in N per layer.

Starting point (lattice paper eq. 9–10): given layer l−1, the N_l units of z^l are iid Gaussian. With one
input each unit is :math:`\mathcal N(0, v_l)`,

.. math:: v_l = \frac{\sigma_{w,l}^2}{N_{l-1}}\,|\phi_l(z^{l-1})|^2 + \sigma_{b,l}^2
          \qquad(\text{layer 1: } \sigma_{w,1}^2|x|^2/d + \sigma_{b,1}^2).

Whenever :math:`|\phi(z^{l-1})|^2` is a function of a few statistics of z^{l-1} that are themselves
generated in closed form from v_l, those statistics form an exact Markov chain in l.

**Piecewise-linear φ, one input** (linear, ReLU, leaky/shaped ReLU: φ(x) = b·x for x ≥ 0, a·x for x < 0).
:math:`|\phi(z)|^2 = b^2 r_+^2 + a^2 r_-^2` with :math:`r_\pm^2` the squared norms of the positive/negative
units. Given v_l, the signs of the N_l iid centred units are fair coins and the squares of the positive
(negative) ones are :math:`v_l\chi^2_1` variables, all independent, so exactly

.. math:: k_l \sim \mathrm{Binomial}(N_l, \tfrac12),\quad
          (r^l_+)^2 = v_l\,\chi^2_{k_l},\quad (r^l_-)^2 = v_l\,\chi^2_{N_l - k_l}\ \ (\text{independent given } k_l),

with :math:`k_l` the number of **positive** units. This is the chain behind the paper's ReLU lattice
model, eq. (18)–(20): eq. (18) is the energy, eq. (19) the partition function after the orthant
decomposition, whose radial measure :math:`(r_+)^{\cdot-1}(r_-)^{\cdot-1}` and Γ factors are exactly the
χ densities above, and eq. (20) its saddle point :math:`r^*_\pm = \sqrt{N\sigma_b^2/(2(1-\sigma_w^2/2))}`,
:math:`k^* = N/2`.

*k convention.* The paper's text (§6 and appendix 8.4, Result 7) says k_l counts the **positive**
components, but its formulas eq. (19)/(74)–(83) give :math:`r_+` the exponent N − k_l − 1 and
Γ((N − k_l)/2), i.e. N − k_l positive components (k_l counts the **negative** ones), and eq. (75)
integrates z_+ over :math:`\mathbb R^{N-k_l}`. We follow the text: ``k`` = number of positive units,
:math:`r_+^2 \sim v\chi^2_k`. The paper's formulas are recovered with :math:`k_\text{paper} = N - k`; at
the saddle point (k* = N/2) the two agree, but the sign of the :math:`\epsilon_k(\epsilon_+ - \epsilon_-)`
coupling of eq. (21)–(23) flips between them.

For linear φ (a = b) the split is not needed: :math:`|z^l|^2 = v_l\chi^2_{N_l}` — the radial part of
eq. (10) that eq. (12) writes as an energy of :math:`r^l = |z^l|`, whose saddle point is eq. (13)
:math:`r^* = \sqrt{N\sigma_b^2/(1-\sigma_w^2)}`. Cost: one (linear) or one binomial plus two χ² draws
(piecewise-linear) per layer, independent of N.

**Linear φ, M inputs: a Wishart chain.** The Gram matrix :math:`G^l = (z^l)^T z^l` (M×M) given layer l−1
is :math:`\mathrm{Wishart}_M(N_l, \Sigma^l)`, :math:`\Sigma^l = \sigma_w^2 a^2 G^{l-1}/N_{l-1} + \sigma_b^2\mathbf{11}^T`
(eq. 9's Σ with φφᵀ = a²G). We carry an upper-triangular factor :math:`G^l = R_l^T R_l` and use the
Bartlett decomposition: if X is N×M standard normal, X = QT with T upper triangular,
:math:`T_{ii}^2 \sim \chi^2_{N-i}` (i = 0..min(N, M)−1), :math:`T_{ij} \sim \mathcal N(0,1)` (i < j), rows
i ≥ N zero — this also holds for N < M (the singular Wishart: the last M − N columns of X are rotated by
an independent Q into iid normals). With :math:`F^T F = \Sigma^l` (thin QR of
:math:`[\sigma_w a N_{l-1}^{-1/2} R_{l-1};\ \sigma_b\mathbf 1^T]`, exact for singular Σ) the next factor is
:math:`R_l = T F`. Cost O(M³) per layer, independent of N (also for N < M).

:func:`stationary_theory` gives the exact stationary moments of these chains (bulk of a deep network with
constant width and variances).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import binom as _binom
from scipy.special import gammaln
from scipy.stats import binom as _binom_dist

from ..activations import Activation, get_activation
from ..errors import NNFTInputError, check_positive_int, check_variance
from ._plan import Plan, is_linear, is_piecewise_linear, layer_key
from .record import from_gram_factor, from_squared_norms

Array = jnp.ndarray

__all__ = ["collective_network_fn", "bartlett_factor", "stationary_theory", "StationaryTheory"]


def _slopes(act: Activation) -> tuple[float, float]:
    return float(act.params["neg_slope"]), float(act.params["pos_slope"])


def bartlett_factor(key: Array, n, m: int, dtype) -> Array:
    r"""Upper-triangular T (m×m) with TᵀT ~ Wishart_m(n, I): T_ii = √χ²_{n−i}, T_ij ~ N(0,1) for i<j, rows i ≥ n zero."""
    k1, k2 = jax.random.split(key)
    i = jnp.arange(m)
    df = jnp.maximum(jnp.asarray(n, dtype) - i.astype(dtype), 0)
    diag = jnp.sqrt(jax.random.chisquare(k1, df, dtype=dtype))
    live = (i[:, None] < i[None, :]) & (i[:, None].astype(dtype) < jnp.asarray(n, dtype))
    off = jnp.where(live, jax.random.normal(k2, (m, m), dtype), 0)
    return off + jnp.diag(diag)


def collective_network_fn(plan: Plan):
    """f(net_key, x (M, d), sw (L,), sb (L,), qs) -> records of one network (M = 1: (r₊², r₋², k) chain; M > 1: Wishart)."""
    dt = plan.jdtype
    L = plan.depth
    rec = plan.record
    n = np.asarray(plan.widths, dtype=float)
    fan = np.asarray((plan.input_dim,) + plan.widths[:-1], dtype=float)
    slopes = [(1.0, 1.0)] + [_slopes(a) for a in plan.acts[1:]]
    a2 = np.asarray([s[0] ** 2 for s in slopes])
    b2 = np.asarray([s[1] ** 2 for s in slopes])
    ls = np.arange(1, L + 1, dtype=np.uint32)
    consts = tuple(jnp.asarray(c, dt) for c in (n, fan, a2, b2))

    if plan.m == 1:
        split = any(r in rec for r in ("r_plus", "r_minus", "k")) or not all(is_linear(a) for a in plan.acts[1:])

        def f(net_key, x, sw, sb, qs):
            def body(carry, xs):
                rp2, rm2 = carry
                l, sw_l, sb_l, n_l, fan_l, a2_l, b2_l = xs
                v = sw_l * (b2_l * rp2 + a2_l * rm2) / fan_l + sb_l
                key = layer_key(net_key, l)
                if split:
                    k1, k2 = jax.random.split(key)
                    k = jax.random.binomial(k1, n_l, jnp.asarray(0.5, dt), dtype=dt)
                    chi = jax.random.chisquare(k2, jnp.stack([k, n_l - k]), dtype=dt)  # independent given k
                    rp2n, rm2n = v * chi[0], v * chi[1]
                else:
                    k = jnp.zeros((), dt)
                    rp2n = v * jax.random.chisquare(key, n_l, dtype=dt)
                    rm2n = jnp.zeros((), dt)
                return (rp2n, rm2n), from_squared_norms(rp2n, rm2n, k, n_l, rec)

            x2 = jnp.sum(x * x).astype(dt)
            _, out = jax.lax.scan(body, (x2, jnp.zeros((), dt)), (ls, sw, sb) + consts)
            return out

        return f

    m = plan.m

    def f(net_key, x, sw, sb, qs):
        xt = x.T.astype(dt)  # (d, M)
        if xt.shape[0] < m:
            xt = jnp.concatenate([xt, jnp.zeros((m - xt.shape[0], m), dt)], axis=0)
        r0 = jnp.linalg.qr(xt, mode="r")  # R0ᵀR0 = x xᵀ

        def body(r, xs):
            l, sw_l, sb_l, n_l, fan_l, a2_l, _ = xs
            bmat = jnp.concatenate([jnp.sqrt(sw_l * a2_l / fan_l) * r, jnp.sqrt(sb_l) * jnp.ones((1, m), dt)], axis=0)
            fsig = jnp.linalg.qr(bmat, mode="r")  # FᵀF = Σ^l
            rn = bartlett_factor(layer_key(net_key, l), n_l, m, dt) @ fsig
            return rn, from_gram_factor(rn, n_l, rec)

        _, out = jax.lax.scan(body, r0, (ls, sw, sb) + consts)
        return out

    return f


# ============================================================================ exact stationary theory
@dataclass(frozen=True)
class StationaryTheory:
    r"""Exact stationary (bulk) moments of the single-input chain at constant width N and variances.

    ``mean_sq_norm`` = E|z|² = N q* exactly at every N (q* the mean-field fixed point); ``mean_norm`` =
    E|z| = E√v · E χ_N, with E√v from the central-moment expansion of √v to ``order`` (the exact moments
    of v), ``mean_norm_error`` bounding the truncation (sum of the last two terms' magnitudes). ``mean_r_plus``
    and ``mean_r_minus`` likewise (E χ_K averaged over K ~ Bin(N, ½)); ``mean_k`` = N/2. ``v_moments[j]``
    = E v^j (j = 0..order), v the per-unit variance of a layer.
    """

    activation: str
    sw2: float
    sb2: float
    width: int
    q_star: float
    mean_sq_norm: float
    var_sq_norm: float
    mean_norm: float
    mean_norm_error: float
    mean_r_plus: float
    mean_r_minus: float
    mean_r_error: float
    mean_k: float
    mean_field_norm: float
    v_moments: tuple[float, ...]


def _chi2_raw_moments(df: np.ndarray, order: int) -> np.ndarray:
    """E[(χ²_df)^j] = Π_{i<j}(df + 2i), shape (order+1,) + df.shape."""
    out = np.ones((order + 1,) + np.shape(df))
    for j in range(1, order + 1):
        out[j] = out[j - 1] * (df + 2 * (j - 1))
    return out


def _chi_mean(df: np.ndarray) -> np.ndarray:
    """E χ_df = √2 Γ((df+1)/2)/Γ(df/2) (0 for df = 0)."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        val = np.sqrt(2.0) * np.exp(gammaln((df + 1) / 2) - gammaln(np.where(df > 0, df / 2, 1.0)))
    return np.where(df > 0, val, 0.0)


def stationary_theory(activation: str | Activation, sw2: float, sb2: float, width: int, *, order: int = 6) -> StationaryTheory:
    r"""Exact bulk moments of the piecewise-linear single-input chain (see the module docstring).

    With :math:`u = |\phi(z)|^2 = v\,Y`, :math:`Y = b^2\chi^2_K + a^2\chi^2_{N-K}`, K ~ Bin(N, ½) independent
    of v, the stationary law of the per-unit variance solves :math:`v \overset d= c\,v'Y + \sigma_b^2`
    (c = σw²/N, v' ⟂ Y an independent copy), so its raw moments follow exactly from

    .. math:: \mathbb E v^j\,(1 - c^j\mathbb E Y^j) = \sum_{i<j}\binom ji c^i\,\mathbb E v^i\,\mathbb E Y^i\,\sigma_b^{2(j-i)}.

    In particular E v = σb²/(1 − σw² E Y/N) = q* (E Y = N for linear, N/2 for ReLU), so E|z|² = N q* holds
    exactly at finite N, while E|z| = E√v · E χ_N is below √(N q*) by O(1/N) (relative). Moments exist
    while c^j E Y^j < 1; a NNFTInputError says when σw² is too large for the requested order.
    """
    act = get_activation(activation)
    if not is_piecewise_linear(act):
        raise NNFTInputError("activation", f"stationary_theory needs a piecewise-linear activation, got {act.name!r}")
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    N = check_positive_int("width", width)
    order = check_positive_int("order", order, minimum=2)
    a, b = _slopes(act)
    c = sw2 / N
    ks = np.arange(N + 1)
    pk = _binom_dist.pmf(ks, N, 0.5)
    mp = _chi2_raw_moments(ks.astype(float), order)  # (order+1, N+1)
    mm = _chi2_raw_moments((N - ks).astype(float), order)
    EY = np.zeros(order + 1)
    for j in range(order + 1):
        tot = np.zeros(N + 1)
        for i in range(j + 1):
            tot += _binom(j, i) * b ** (2 * i) * a ** (2 * (j - i)) * mp[i] * mm[j - i]
        EY[j] = float(np.sum(pk * tot))
    Ev = np.zeros(order + 1)
    Ev[0] = 1.0
    for j in range(1, order + 1):
        denom = 1.0 - c**j * EY[j]
        if denom <= 0:
            raise NNFTInputError(
                "sw2", f"the stationary moment E v^{j} diverges for {act.name} at sw2={sw2}, width={N}; lower `order` or sw2"
            )
        rhs = sum(_binom(j, i) * c**i * Ev[i] * EY[i] * sb2 ** (j - i) for i in range(j))
        Ev[j] = rhs / denom
    mu = Ev[1]
    # central moments of v
    cm = np.array([sum(_binom(j, i) * Ev[i] * (-mu) ** (j - i) for i in range(j + 1)) for j in range(order + 1)])
    terms = np.array([_binom(0.5, j) * cm[j] / mu**j for j in range(order + 1)])
    e_sqrt_v = math.sqrt(mu) * float(np.sum(terms))
    err_rel = float(abs(terms[-1]) + abs(terms[-2]))
    chiN = float(_chi_mean(np.asarray(float(N))))
    chiK = float(np.sum(pk * _chi_mean(ks.astype(float))))
    # E|z|^4 = E v² · N(N+2)
    var_s = Ev[2] * N * (N + 2) - (N * mu) ** 2
    return StationaryTheory(
        activation=act.name,
        sw2=sw2,
        sb2=sb2,
        width=N,
        q_star=mu,
        mean_sq_norm=N * mu,
        var_sq_norm=float(var_s),
        mean_norm=e_sqrt_v * chiN,
        mean_norm_error=math.sqrt(mu) * err_rel * chiN,
        mean_r_plus=e_sqrt_v * chiK,
        mean_r_minus=e_sqrt_v * chiK,
        mean_r_error=math.sqrt(mu) * err_rel * chiK,
        mean_k=N / 2,
        mean_field_norm=math.sqrt(N * mu),
        v_moments=tuple(float(e) for e in Ev),
    )
