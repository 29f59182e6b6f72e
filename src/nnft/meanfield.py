r"""Mean-field signal propagation: fixed points, susceptibilities, depth scales, phase diagram.

For a deep network with one activation φ and variances (σw², σb²) in every layer (Poole et al. 2016;
Schoenholz et al. 2017, "Deep information propagation"; Grosvenor–Jefferson note §3–4):

* length fixed point :math:`q^* = \sigma_w^2\mathbb E[\phi(\sqrt{q^*}z)^2] + \sigma_b^2` — the stable fixed
  point reached by iterating the variance map from q = 1;
* :math:`\chi_1 = \sigma_w^2\mathbb E[\phi'(\sqrt{q^*}z)^2]` (Poole eq. 7) and the largest Lyapunov exponent
  :math:`\lambda = \tfrac12\ln\chi_1` per layer (growth of the norm of an infinitesimal perturbation);
* :math:`\chi_{\parallel} = \partial q^{l+1}/\partial q^l|_{q^*} = \chi_1 + \sigma_w^2\mathbb E[\phi''\phi]`
  (computed by autodiff of the variance map), :math:`\xi_q = -1/\ln\chi_\parallel` (Schoenholz eq. 9);
* correlation fixed point c*: c* = 1 in the ordered phase (χ₁ < 1); in the chaotic phase (χ₁ > 1) the
  stable root c* < 1 of the correlation map; :math:`\xi_c = -1/\ln[\sigma_w^2\mathbb E\phi'(u_1)\phi'(u_2)]`
  at (q*, c*) (Schoenholz eq. 13), which is :math:`-1/\ln\chi_1` in the ordered phase;
* the critical line χ₁(σw², σb²) = 1, found by root finding in σw² at fixed σb².

Phases: ``"ordered"`` (χ₁ < 1), ``"chaotic"`` (χ₁ > 1), ``"critical"`` (|χ₁ − 1| < 1e-10),
``"unbounded"`` (no finite q*: the variance map has no stable fixed point, e.g. linear with σw² ≥ 1).

Everything is vectorised over arrays of (σw², σb²): a 200×200 phase diagram is one batched solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from .activations import Activation, get_activation
from .errors import NNFTInputError, check_grid, check_variance

Array = jnp.ndarray

__all__ = [
    "MeanField",
    "fixed_point_q",
    "fixed_point_c",
    "chi1",
    "chi_par",
    "mean_field",
    "critical_sw2",
    "critical_line",
    "phase_diagram",
    "PhaseDiagram",
]

_ITER = 40
_NEWTON = 12
_Q_MAX = 1e12
CRITICAL_TOL = 1e-10


def _as_grid(sw2, sb2) -> tuple[Array, Array]:
    sw = jnp.asarray(sw2, dtype=float)
    sb = jnp.asarray(sb2, dtype=float)
    return jnp.broadcast_arrays(sw, sb)


def _validate(sw2, sb2) -> None:
    for name, v in (("sw2", sw2), ("sb2", sb2)):
        arr = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(arr)):
            raise NNFTInputError(name, "must be finite; allowed range: [0, inf)")
        if np.any(arr < 0):
            raise NNFTInputError(name, f"must be a variance in [0, inf), got {arr.min()!r}")


def fixed_point_q(activation: str | Activation, sw2, sb2, *, q0: float = 1.0) -> Array:
    r"""Stable fixed point q* of the variance map, vectorised over (sw2, sb2); ``inf`` where none is finite.

    Iterates :math:`q \mapsto \sigma_w^2\mathbb E\phi^2(q) + \sigma_b^2` from ``q0`` (40 steps), then polishes with
    Newton steps on :math:`h(q) = \text{map}(q) - q` (accepted only where they reduce |h|), so slow
    convergence near χ∥ = 1 (e.g. linear σw² → 1) still ends at machine precision.
    """
    _validate(sw2, sb2)
    act = get_activation(activation)
    sw, sb = _as_grid(sw2, sb2)
    return _fixed_point_q(act, sw, sb, float(q0))


@partial(jax.jit, static_argnums=0)
def _fixed_point_q(act: Activation, sw: Array, sb: Array, q0: float) -> Array:
    def vmap_(q):
        return sw * act.second_moment(q) + sb

    def step(_, q):
        qn = vmap_(q)
        return jnp.where(jnp.isfinite(qn) & (qn < _Q_MAX), qn, jnp.inf)

    q = jax.lax.fori_loop(0, _ITER, step, jnp.full(sw.shape, q0, dtype=float))
    dmap = jnp.vectorize(jax.grad(lambda qq, w: w * act.second_moment(qq)))

    def newton(_, q):
        qs = jnp.where(jnp.isfinite(q), q, 1.0)
        h = vmap_(qs) - qs
        dh = dmap(qs, sw) - 1.0
        qn = qs - h / jnp.where(dh != 0, dh, 1.0)
        qn = jnp.clip(qn, 0.0, None)
        better = jnp.abs(vmap_(qn) - qn) < jnp.abs(h)
        return jnp.where(jnp.isfinite(q) & better & jnp.isfinite(qn), qn, q)

    q = jax.lax.fori_loop(0, _NEWTON, newton, q)
    # a finite q that is not a fixed point (still diverging) is unbounded
    resid = jnp.abs(vmap_(jnp.where(jnp.isfinite(q), q, 1.0)) - q)
    return jnp.where(jnp.isfinite(q) & (resid <= 1e-8 * (1 + q)), q, jnp.inf)


def chi1(activation: str | Activation, sw2, sb2, q_star=None) -> Array:
    r""":math:`\chi_1 = \sigma_w^2\mathbb E[\phi'(\sqrt{q^*}z)^2]` (Poole et al. 2016 eq. 7)."""
    act = get_activation(activation)
    sw, sb = _as_grid(sw2, sb2)
    q = fixed_point_q(act, sw, sb) if q_star is None else jnp.asarray(q_star, dtype=float)
    return sw * act.derivative_second_moment(q)


def chi_par(activation: str | Activation, sw2, sb2, q_star=None) -> Array:
    r""":math:`\chi_\parallel = \partial_q[\sigma_w^2\mathbb E\phi(\sqrt q z)^2]_{q^*}` (= χ₁ + σw²E[φ''φ])."""
    act = get_activation(activation)
    sw, sb = _as_grid(sw2, sb2)
    q = fixed_point_q(act, sw, sb) if q_star is None else jnp.asarray(q_star, dtype=float)
    dmap = jnp.vectorize(jax.grad(lambda qq: act.second_moment(qq)))
    return sw * dmap(q)


def fixed_point_c(activation: str | Activation, sw2, sb2, q_star=None, *, chi=None, order: int = 48) -> Array:
    r"""Stable correlation fixed point c*: 1 where χ₁ ≤ 1, else the root of the correlation map in [−1, 1).

    In the chaotic phase the map m(c) satisfies m(−1) ≥ −1 and m(c) < c just below 1 (slope χ₁ > 1 at c = 1),
    so 80 bisection steps on [−1, 1 − 1e-9] followed by Newton polishing find c*. ``order`` is the 2-D
    quadrature order for activations without a closed-form 2-point function.
    """
    act = get_activation(activation)
    sw, sb = _as_grid(sw2, sb2)
    q = fixed_point_q(act, sw, sb) if q_star is None else jnp.asarray(q_star, dtype=float)
    x1 = sw * act.derivative_second_moment(q) if chi is None else jnp.asarray(chi, dtype=float)
    return _fixed_point_c(act, sw, sb, q, x1, order)


@partial(jax.jit, static_argnums=(0, 5))
def _fixed_point_c(act: Activation, sw: Array, sb: Array, q: Array, x1: Array, order: int) -> Array:
    chaotic = jnp.isfinite(q) & (x1 > 1 + CRITICAL_TOL)
    qs = jnp.where(jnp.isfinite(q), q, 1.0)

    def m(c):
        return (sw * act.two_point(qs, c * qs, qs, order=order) + sb) / qs

    def bisect(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        pos = m(mid) - mid >= 0
        return jnp.where(pos, mid, lo), jnp.where(pos, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 80, bisect, (jnp.full(sw.shape, -1.0), jnp.full(sw.shape, 1.0 - 1e-9)))
    c = 0.5 * (lo + hi)
    dm = jnp.vectorize(jax.grad(lambda cc, qq, w, b: (w * act.two_point(qq, cc * qq, qq, order=order) + b) / qq))

    def newton(_, c):
        h = m(c) - c
        d = dm(c, qs, sw, sb) - 1.0
        cn = jnp.clip(c - h / jnp.where(d != 0, d, 1.0), -1.0, 1.0 - 1e-12)
        return jnp.where(jnp.abs(m(cn) - cn) < jnp.abs(h), cn, c)

    c = jax.lax.fori_loop(0, 5, newton, c)
    return jnp.where(chaotic, c, jnp.where(jnp.isfinite(q), 1.0, jnp.nan))


@dataclass(frozen=True)
class MeanField:
    """Mean-field summary of one (activation, σw², σb²); ``as_dict`` gives the CLI's ``--json`` keys."""

    activation: str
    sw2: float
    sb2: float
    q_star: float
    c_star: float
    chi1: float
    chi_par: float
    lyapunov: float
    xi_q: float
    xi_c: float
    phase: str

    def as_dict(self) -> dict:
        return asdict(self)


def _phase(q: float, x1: float) -> str:
    if not np.isfinite(q):
        return "unbounded"
    if abs(x1 - 1) < CRITICAL_TOL:
        return "critical"
    return "chaotic" if x1 > 1 else "ordered"


def _depth_scale(chi: float) -> float:
    """−1/ln χ for 0 < χ < 1; inf at χ = 1; nan where undefined (χ ≤ 0 or > 1)."""
    if not np.isfinite(chi) or chi <= 0:
        return float("nan")
    if abs(chi - 1) < CRITICAL_TOL:
        return float("inf")
    return float(-1.0 / np.log(chi)) if chi < 1 else float("nan")


def mean_field(activation: str | Activation, sw2: float, sb2: float) -> MeanField:
    r"""All mean-field quantities at one point (σw², σb²).

    >>> mf = mean_field("tanh", 1.5, 0.05)
    >>> round(mf.q_star, 5), round(mf.chi1, 5), mf.phase
    (0.41804, 0.93864, 'ordered')
    """
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    act = get_activation(activation)
    q = float(fixed_point_q(act, sw2, sb2))
    if np.isfinite(q):
        x1 = float(chi1(act, sw2, sb2, q))
        xp = float(chi_par(act, sw2, sb2, q))
        # the correlation solver is only needed (and only compiled) in the chaotic phase
        c = float(fixed_point_c(act, sw2, sb2, q, chi=x1)) if x1 > 1 + CRITICAL_TOL else 1.0
        if c < 1:
            xc = float(sw2 * act.derivative_two_point(q, c * q, q))
        else:
            xc = x1
        lyap = 0.5 * np.log(x1) if x1 > 0 else -np.inf
    else:
        x1 = xp = c = xc = lyap = float("nan")
    return MeanField(
        activation=act.name,
        sw2=sw2,
        sb2=sb2,
        q_star=q,
        c_star=c,
        chi1=x1,
        chi_par=xp,
        lyapunov=float(lyap),
        xi_q=_depth_scale(xp),
        xi_c=_depth_scale(xc),
        phase=_phase(q, x1),
    )


def critical_sw2(activation: str | Activation, sb2: float, *, bracket: tuple[float, float] | None = None, xtol: float = 1e-12) -> float:
    r"""σw² on the critical line χ₁(σw², σb²) = 1 at fixed σb², by Brent's method (not a grid search).

    The default bracket is [1e-3, 100]; a ``NNFTInputError`` names the problem if χ₁ − 1 does not change
    sign on it (e.g. ReLU with σb² > 0, whose q* diverges before χ₁ reaches 1).
    """
    sb2 = check_variance("sb2", sb2)
    act = get_activation(activation)

    def f(w: float) -> float:
        q = fixed_point_q(act, w, sb2)
        return float(w * act.derivative_second_moment(q)) - 1.0 if np.isfinite(q) else np.inf

    lo, hi = bracket or (1e-3, 100.0)
    flo, fhi = f(lo), f(hi)
    if not np.isfinite(fhi):
        # shrink the upper end until q* is finite
        for _ in range(200):
            hi = 0.5 * (lo + hi) if hi - lo > 1e-9 else hi
            fhi = f(hi)
            if np.isfinite(fhi):
                break
    if not (np.isfinite(flo) and np.isfinite(fhi)) or flo * fhi > 0:
        raise NNFTInputError(
            "sb2", f"no critical point chi1 = 1 for {act.name} at sb2={sb2} with sw2 in [{lo:g}, {hi:g}]"
        )
    return float(brentq(f, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))


def critical_line(activation: str | Activation, sb2_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """σw²_crit for each σb² in ``sb2_values`` (one Brent solve each)."""
    sb = check_grid("sb2_values", sb2_values)
    return np.array([critical_sw2(activation, float(s)) for s in sb])


@partial(jax.jit, static_argnums=0)
def _bisect_critical(act: Activation, lo: Array, hi: Array, sb: Array) -> Array:
    """Batched bisection of χ₁(σw²) − 1 on brackets [lo, hi] (60 halvings: width/2⁶⁰)."""

    def g(w):
        q = _fixed_point_q(act, w, sb, 1.0)
        return w * act.derivative_second_moment(jnp.where(jnp.isfinite(q), q, 1.0)) - 1.0

    glo = g(lo)

    def body(_, b):
        a, c = b
        mid = 0.5 * (a + c)
        same = jnp.sign(g(mid)) == jnp.sign(glo)
        return jnp.where(same, mid, a), jnp.where(same, c, mid)

    a, c = jax.lax.fori_loop(0, 60, body, (lo, hi))
    return 0.5 * (a + c)


@dataclass(frozen=True)
class PhaseDiagram:
    """Mean-field maps over a (σw², σb²) grid; arrays have shape (len(sb2), len(sw2))."""

    activation: str
    sw2: np.ndarray
    sb2: np.ndarray
    q_star: np.ndarray
    chi1: np.ndarray
    lyapunov: np.ndarray
    critical_sw2: np.ndarray  # one per sb2 (nan where none)

    def plot(self, ax=None):
        """Lyapunov exponent ½ ln χ₁ over the grid with the critical line; returns the matplotlib Figure."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
        else:
            fig = ax.figure
        lam = np.ma.masked_invalid(self.lyapunov)
        finite = self.lyapunov[np.isfinite(self.lyapunov)]  # λ = −inf at σw² = 0 must not set the scale
        vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
        im = ax.pcolormesh(self.sw2, self.sb2, lam, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto")
        fig.colorbar(im, ax=ax, label=r"Lyapunov exponent $\frac{1}{2}\ln\chi_1$")
        ok = np.isfinite(self.critical_sw2)
        ax.plot(self.critical_sw2[ok], self.sb2[ok], "k-", lw=2, label=r"critical line $\chi_1=1$")
        ax.set_xlabel(r"$\sigma_w^2$")
        ax.set_ylabel(r"$\sigma_b^2$")
        ax.set_title(f"{self.activation}: ordered (blue) vs chaotic (red)")
        ax.legend(loc="upper left")
        return fig


def phase_diagram(
    activation: str | Activation,
    sw2_values: Sequence[float] | np.ndarray,
    sb2_values: Sequence[float] | np.ndarray,
) -> PhaseDiagram:
    """Vectorised mean-field phase diagram: q*, χ₁, ½ln χ₁ on the grid, and the critical line.

    The critical σw² per σb² is interpolated from the sign change of χ₁ − 1 along each grid row and
    then polished by Brent's method; rows with no sign change get nan.
    """
    sw = check_grid("sw2_values", sw2_values)
    sb = check_grid("sb2_values", sb2_values)
    act = get_activation(activation)
    SW, SB = np.meshgrid(sw, sb)
    q = _fixed_point_q(act, jnp.asarray(SW), jnp.asarray(SB), 1.0)
    x1 = jnp.where(jnp.isfinite(q), jnp.asarray(SW) * act.derivative_second_moment(jnp.where(jnp.isfinite(q), q, 1.0)), jnp.nan)
    q, x1 = np.asarray(q), np.asarray(x1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lyap = 0.5 * np.log(x1)
    crit = np.full(sb.shape, np.nan)
    lo = np.full(sb.shape, np.nan)
    for i in range(sb.size):
        row = x1[i] - 1.0
        idx = np.flatnonzero(np.isfinite(row[:-1]) & np.isfinite(row[1:]) & (np.sign(row[:-1]) != np.sign(row[1:])))
        if idx.size:
            lo[i] = idx[0]
    has = np.isfinite(lo)
    if has.any():
        j = lo[has].astype(int)
        crit[has] = np.asarray(_bisect_critical(act, jnp.asarray(sw[j]), jnp.asarray(sw[j + 1]), jnp.asarray(sb[has])))
    return PhaseDiagram(act.name, sw, sb, q, x1, lyap, crit)
