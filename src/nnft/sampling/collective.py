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
from scipy.special import gammaln
from scipy.stats import binom as _binom_dist

from ..activations import Activation, get_activation
from ..errors import NNFTInputError, check_positive_int, check_variance
from ._plan import Plan, is_linear, is_piecewise_linear, layer_key
from .record import from_gram_factor, from_squared_norms

Array = jnp.ndarray

__all__ = ["collective_network_fn", "collective_aux", "needs_split", "bartlett_factor", "stationary_theory", "StationaryTheory"]


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


def collective_aux(network_widths, input_dim: int, acts, dtype) -> tuple[Array, Array, Array, Array]:
    """Per-layer arrays (N_l, N_{l-1}, a_l², b_l²) of the chain, layer 1 first (fan-in d, slopes 1).

    They are *arguments* of the compiled chain, not constants: one compilation serves every width and
    every piecewise-linear activation of the same depth."""
    n = np.asarray(network_widths, dtype=float)
    fan = np.asarray((input_dim,) + tuple(network_widths[:-1]), dtype=float)
    slopes = [(1.0, 1.0)] + [_slopes(a) for a in acts[1:]]
    a2 = np.asarray([s[0] ** 2 for s in slopes])
    b2 = np.asarray([s[1] ** 2 for s in slopes])
    return tuple(jnp.asarray(c, dtype) for c in (n, fan, a2, b2))


def needs_split(acts, record) -> bool:
    """Whether the single-input chain must track (r₊², r₋², k) rather than |z|² alone."""
    return any(r in record for r in ("r_plus", "r_minus", "k")) or not all(is_linear(a) for a in acts[1:])


def collective_network_fn(plan: Plan):
    """f(net_key, x (M, d), sw, sb, qs, aux) -> records of one network (M = 1: (r₊², r₋², k) chain; M > 1: Wishart).

    ``aux`` = :func:`collective_aux` (widths, fan-ins, squared slopes per layer); ``plan.split`` says whether
    the single-input chain tracks the sign split."""
    dt = plan.jdtype
    L = plan.depth
    rec = plan.record
    ls = np.arange(1, L + 1, dtype=np.uint32)

    if plan.m == 1:
        split = plan.split

        def f(net_key, x, sw, sb, qs, aux):
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
            _, out = jax.lax.scan(body, (x2, jnp.zeros((), dt)), (ls, sw, sb) + tuple(aux))
            return out

        return f

    m = plan.m

    def f(net_key, x, sw, sb, qs, aux):
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

        _, out = jax.lax.scan(body, r0, (ls, sw, sb) + tuple(aux))
        return out

    return f


# ============================================================================ exact stationary theory
@dataclass(frozen=True)
class StationaryTheory:
    r"""Stationary (bulk) statistics of the single-input chain at constant width N and variances.

    ``mean_sq_norm`` = E|z|² = N q* exactly at every N (q* the mean-field fixed point) and ``var_sq_norm``
    = Var|z|² (``inf`` where the 2nd moment diverges) — from the exact moment recursion. ``mean_norm`` =
    E|z| = E√v · E χ_N with E√v from the numerically exact stationary density of v (transfer operator,
    see :func:`stationary_theory`); ``mean_norm_error`` bounds its numerical error. ``mean_r_plus`` =
    ``mean_r_minus`` = E√v · E χ_K (K ~ Bin(N, ½)) for ReLU-type chains; ``mean_k`` = N/2;
    ``mean_field_norm`` = √(N q*) (lattice paper eq. 13 / 20). ``v_moments[j]`` = E v^j, j = 0, 1, 2.
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
    mean_sqrt_v: float
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


def _log_y_density(N: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Density of log Y on a fine table (grid, density) and the atom P(Y = 0).

    Linear (a = b): Y = a²χ²_N. ReLU-type (a = 0): Y = b²χ²_K, K ~ Bin(N, ½), with an atom at 0 (K = 0).
    The density of log χ²_k at x is exp[(k/2)x − eˣ/2 − (k/2)ln 2 − lnΓ(k/2)]."""
    if a == b:
        ks, logw, shift, atom = np.array([N]), np.array([0.0]), math.log(a * a), 0.0
    else:
        kk = np.arange(1, N + 1)
        lp = _binom_dist.logpmf(kk, N, 0.5)
        keep = lp > lp.max() - 60
        ks, logw, shift, atom = kk[keep], lp[keep], math.log(b * b), float(_binom_dist.pmf(0, N, 0.5))
    # support: ±12 sd of log χ²_k around its mode for the extreme k
    lo = min(math.log(max(k - 2, 1e-3)) - 60 / math.sqrt(k) - 12 for k in (ks.min(), ks.max()))
    hi = max(math.log(k) + 12 / math.sqrt(k) + 2 for k in (ks.min(), ks.max()))
    x = np.linspace(lo, hi, 40001)
    half = ks[:, None] / 2
    logf = half * x[None, :] - np.exp(x)[None, :] / 2 - half * math.log(2) - gammaln(half) + logw[:, None]
    m = logf.max(axis=0)
    dens = np.exp(m) * np.sum(np.exp(logf - m), axis=0)
    return x + shift, dens, atom


def _stationary_sqrt_mean(sw2: float, sb2: float, N: int, a: float, b: float, mu: float, points: int) -> tuple[float, float]:
    r"""(E√v, E v) under the stationary law of v = σb² + c v' Y, c = σw²/N, by power iteration of the
    discretised transfer operator on s = ln(v − σb²) (midpoint rule on a uniform grid of ``points``)."""
    gx, gd, atom = _log_y_density(N, a, b)
    mean_g = np.sum(gx * gd) / np.sum(gd)
    sd_g = math.sqrt(np.sum((gx - mean_g) ** 2 * gd) / np.sum(gd))
    centre = math.log(mu - sb2) if mu > sb2 else math.log(mu)
    s = np.linspace(centre - 16 * sd_g - 6, centre + 16 * sd_g + 4, points)
    h = s[1] - s[0]
    c = sw2 / N
    vj = sb2 + np.exp(s)
    src = math.log(c) + np.log(vj)  # ln(c v') for each grid point v'
    T = np.interp(s[:, None] - src[None, :], gx, gd, left=0.0, right=0.0) * h
    g0 = np.interp(s - math.log(c * sb2), gx, gd, left=0.0, right=0.0) if sb2 > 0 else np.zeros_like(s)
    q = np.interp(s, gx + math.log(sw2 * mu), gd, left=0.0, right=0.0)  # start: one step from v = mu
    q *= (1 - atom) / max(np.sum(q) * h, 1e-300)
    for _ in range(20000):
        qn = T @ q + atom * g0
        qn *= (1 - atom) / np.sum(qn * h)
        done = np.max(np.abs(qn - q)) <= 1e-14 * np.max(qn)
        q = qn
        if done:
            break
    e_sqrt = float(np.sum(q * np.sqrt(vj)) * h + atom * math.sqrt(sb2))
    e_v = float(np.sum(q * vj) * h + atom * sb2)
    return e_sqrt, e_v


def stationary_theory(activation: str | Activation, sw2: float, sb2: float, width: int, *, points: int = 1000) -> StationaryTheory:
    r"""Stationary (bulk) statistics of the single-input chain of a deep linear or ReLU-type network.

    With :math:`u = |\phi(z)|^2 = v\,Y` (:math:`Y = a^2\chi^2_N` for linear φ(x) = a x, :math:`Y = b^2\chi^2_K`,
    K ~ Bin(N, ½), for φ = b·relu) independent of v, the per-unit variance of a layer has the stationary law
    :math:`v \overset d= \sigma_b^2 + c\,v'Y` (c = σw²/N, v' an independent copy). Its moments follow
    exactly from :math:`\mathbb E v^j(1 - c^j\mathbb E Y^j) = \sum_{i<j}\binom ji c^i\mathbb E v^i\,\mathbb E Y^i\sigma_b^{2(j-i)}`:
    E v = σb²/(1 − σw² E Y/N) = q* (E Y = a²N, resp. b²N/2), so **E|z|² = N q* exactly at finite N**.

    E|z| = E√v · E χ_N (the χ_N of the layer is independent of v) needs the whole law of v, which is heavy
    tailed (Kesten): its standardised moments grow super-factorially, so a moment expansion of √v
    diverges (ReLU, σw² = 1.8, N = 200). We therefore compute the stationary density of ln(v − σb²)
    numerically: the transfer operator of the chain, discretised on a uniform grid (``points``), iterated
    to its fixed point. ``mean_norm_error`` = |E√v(points) − E√v(points/2)| + |E v(grid) − q*|·E√v/q*
    (the grid's own error on the exactly known mean), times E χ_N. E|z| is below the mean-field
    :math:`r^* = \sqrt{Nq^*}` by O(1/N) (relative).
    """
    act = get_activation(activation)
    if not is_piecewise_linear(act):
        raise NNFTInputError("activation", f"stationary_theory needs a linear or ReLU-type activation, got {act.name!r}")
    sw2 = check_variance("sw2", sw2, allow_zero=False)
    sb2 = check_variance("sb2", sb2, allow_zero=False)
    N = check_positive_int("width", width)
    points = check_positive_int("points", points, minimum=100)
    a, b = _slopes(act)
    if not (a == b or a == 0) or b == 0:
        raise NNFTInputError("activation", f"stationary_theory covers linear (a = b) and ReLU-type (a = 0) chains, got slopes ({a}, {b})")
    c = sw2 / N
    ks = np.arange(N + 1)
    pk = _binom_dist.pmf(ks, N, 0.5)
    if a == b:
        EY = a ** np.arange(0, 5, 2) * _chi2_raw_moments(np.asarray(float(N)), 2)
    else:
        EY = b ** np.arange(0, 5, 2) * np.sum(pk * _chi2_raw_moments(ks.astype(float), 2), axis=1)
    if c * EY[1] >= 1:
        raise NNFTInputError("sw2", f"no stationary state: sw2 = {sw2} makes the mean of |z|^2 grow without bound ({act.name})")
    Ev = [1.0, sb2 / (1 - c * EY[1])]
    if c**2 * EY[2] < 1:
        Ev.append((sb2**2 + 2 * c * Ev[1] * EY[1] * sb2) / (1 - c**2 * EY[2]))
    else:
        Ev.append(math.inf)
    mu = Ev[1]
    fine_sqrt, fine_v = _stationary_sqrt_mean(sw2, sb2, N, a, b, mu, points)
    coarse_sqrt, _ = _stationary_sqrt_mean(sw2, sb2, N, a, b, mu, points // 2)
    err = abs(fine_sqrt - coarse_sqrt) + abs(fine_v - mu) / mu * fine_sqrt
    chiN = float(_chi_mean(np.asarray(float(N))))
    chiK = float(np.sum(pk * _chi_mean(ks.astype(float))))
    var_s = Ev[2] * N * (N + 2) - (N * mu) ** 2
    return StationaryTheory(
        activation=act.name,
        sw2=sw2,
        sb2=sb2,
        width=N,
        q_star=mu,
        mean_sq_norm=N * mu,
        var_sq_norm=float(var_s),
        mean_norm=fine_sqrt * chiN,
        mean_norm_error=err * chiN,
        mean_r_plus=fine_sqrt * chiK,
        mean_r_minus=fine_sqrt * chiK,
        mean_r_error=err * chiK,
        mean_k=N / 2,
        mean_field_norm=math.sqrt(N * mu),
        mean_sqrt_v=fine_sqrt,
        v_moments=tuple(float(e) for e in Ev),
    )
