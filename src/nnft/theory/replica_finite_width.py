r"""Replica theory of a one-hidden-layer random MLP Hamiltonian at **finite width ratio** α = N1/N0.

**Derived here, not taken from the paper.** Winer & Hanin 2025 ("Deep Neural Nets as Hamiltonians",
abstract only) report full RSB for sin and RS for shallow tanh/ReLU; nnft's infinite-width (GP) solver
(:mod:`nnft.theory.replica`) finds otherwise (``docs/errata.md``). ``shared/notes/hamiltonians.md`` §1.3
names the alternative convention tested here: hidden width :math:`N_1 = \alpha N_0`, :math:`N_0\to\infty` at
fixed α (one hidden layer, L = 1).

Model (identical to :func:`nnft.hamiltonian_mc.sample_mlp` with ``depth=1``)
-----------------------------------------------------------------------------
:math:`h_i(x) = g_i\cdot x/\sqrt{N_0} + b_i`, :math:`g_i\sim\mathcal N(0, C_W I)`, :math:`b_i\sim\mathcal N(0, C_b)`,
read-out :math:`w_i\sim\mathcal N(0, C_W/N_1)`, :math:`H(x) = \sqrt{N_0}\sum_{i\le N_1} w_i\,\sigma(h_i(x))`
(the read-out bias is sub-extensive and dropped). Input conventions as in :mod:`nnft.theory.replica`:
**A** Gaussian reference measure (self-overlap d free), **B** sphere :math:`|x|^2 = N_0` (d = 1).

Replicated partition function
-----------------------------
Averaging over w (Gaussian), then over each hidden unit's (g_i, b_i) — the pre-activations
:math:`h^a` of the n replicas are jointly Gaussian with covariance :math:`C_WQ_{ab} + C_b` —

.. math::
   \mathbb E Z^n = \int dQ\,\exp N_0\Big[S(Q) + \alpha\log\mathbb E_h
   \exp\Big(\frac{\beta^2C_W}{2\alpha}\Big(\sum_a\sigma(h^a)\Big)^2\Big)\Big],

with the entropic term S(Q) of :mod:`nnft.theory.replica` (A: :math:`\tfrac12(\log\det Q - \mathrm{tr}\,Q + n)`;
B: :math:`\tfrac12\log\det Q`, :math:`Q_{aa} = 1`). Hubbard–Stratonovich,
:math:`e^{\kappa^2S^2/2} = \mathbb E_y e^{\kappa yS}` with :math:`\kappa = \beta\sqrt{C_W/\alpha}` and one
y ~ N(0, 1) common to all replicas (the quenched read-out weight of the unit, :math:`\sqrt{N_0}w_i = \sqrt{C_W/\alpha}\,y_i`).

k-RSB (k = 0 is RS): breakpoints :math:`q_0\le\dots\le q_k < d`, Parisi :math:`m_1\le\dots\le m_k`,

.. math::
   u_0 = \sqrt{C_b + C_Wq_0}\,z_0,\quad u_i = u_{i-1} + \sqrt{C_W(q_i - q_{i-1})}\,z_i,\quad
   s = \sqrt{C_W(d - q_k)},

.. math::
   f_k(u) = \log\mathbb E_z e^{\kappa y\,\sigma(u + sz)},\qquad
   f_{i-1}(u) = \frac1{m_i}\log\mathbb E_{z_i}e^{m_if_i(u + \sqrt{C_W(q_i - q_{i-1})}\,z_i)},

.. math::
   \Phi_k = \tfrac12\Big[\log\Lambda_k + \sum_{i=1}^k\frac1{m_i}\log\frac{\Lambda_{i-1}}{\Lambda_i}
   + \frac{q_0}{\Lambda_0}\Big] + [\tfrac12(1 - d)]_{A} + \alpha\,\mathbb E_{y,z_0}f_0(u_0),

:math:`\Lambda_k = d - q_k`, :math:`\Lambda_{i-1} = \Lambda_i + m_i(q_i - q_{i-1})`. The entropic part is
:mod:`nnft.theory.replica`'s CS functional without its G terms (its ``_shell(d)`` + :math:`\log(\Lambda_k/d)`
give the same total; RS in A: :math:`\tfrac12[\log(d-q) + q/(d-q) - d + 1]`). The free entropy is
:math:`\phi_k = \sup_d\inf_{q,m}\Phi_k` (inf over (q, m): the prescription of :mod:`nnft.theory.replica`,
so :math:`\phi_{k}\le\phi_{k-1}`; in B, d = 1).

Checks (all numerically verified in ``tests/test_replica_finite_width.py``)
----------------------------------------------------------------------------
* α → ∞: :math:`\alpha\,\mathbb E f_0\to\tfrac{\beta^2}2[\dots]` — expanding
  :math:`\log\mathbb E_ze^{\kappa y\sigma}` to second order in κ gives the GP functional
  :math:`\tfrac12\beta^2(G(d) - G(q_k) + \sum_im_i(G(q_i) - G(q_{i-1})))` with
  :math:`G(q) = C_W\,\mathbb E[\sigma(h)\sigma(h')] (+C_b)`; corrections are O(1/α).
* linear σ: :math:`f_k = \kappa yu + \kappa^2y^2s^2/2`, the energetic term is
  :math:`\tfrac12\beta^2C_W^2(d - q_k + \sum_im_i(q_i - q_{i-1}))` for every α (exact: H = v·x depends on
  the network only through :math:`|v|^2/N_0\to C_W^2`).
* replicon of RS (Gardner–Derrida type): :math:`\lambda_R = 1 - \alpha C_W^2(d-q)^2\,\mathbb E_{y,z_0}[(\partial_u^2f_0)^2]`
  (RS stable iff > 0); as α → ∞, :math:`\alpha C_W^2\mathbb E(\partial^2_uf)^2\to\beta^2G_{qq}`, i.e.
  :mod:`nnft.theory.replica`'s :math:`1 - \beta^2G_{qq}(d-q)^2`. By Gaussian integration by parts, with
  :math:`g = e^{\kappa y\sigma(u+sz)}`: :math:`\partial_uf = \mathbb E[zg]/(s\,\mathbb Eg)`,
  :math:`\partial^2_uf = \mathbb E[(z^2-1)g]/(s^2\,\mathbb Eg) - (\partial_uf)^2` (no σ'' needed). For k ≥ 1,
  ``replicon`` is the top-block analogue, with :math:`\mathbb E` the Parisi-weighted average over the tree.
* energy :math:`e = -\partial_\beta\phi` by ``jax.grad`` of :math:`\Phi_k` in β at the saddle (envelope
  theorem), entropy :math:`s = \phi + \beta e`.

Numerics
--------
y: Gauss–Legendre on the half-lines [0, 9] (dense near y = 0; for odd σ, :math:`f(u; -y) = f(-u; y)`, so only
y > 0). Levels: the grid method of perceptron Parisi equations. For every y node, :math:`f_i` lives on one
uniform grid :math:`u_j = h(j - c)` of n_u nodes and half-width width·√(C_b + C_Wd) + 0.5; each level
:math:`f_{i-1} = \frac1{m_i}\log(\mathcal N_{s_i} * e^{m_if_i})` is a dense midpoint-rule Gaussian convolution
in log space (row-wise log-sum-exp, normalised by the same rule applied to 1, analytic tails with f
extrapolated linearly: exact for ReLU's right asymptote, so the tilt :math:`e^{m\kappa yu}` may push mass
beyond the grid), with a local Gaussian (Laplace) formula for level widths s ≤ h and a C¹ blend for
h < s < 1.5h (``_level_fns``). The innermost f_k is closed-form for linear/ReLU, else the same convolution of
κyσ; the z_0 average is a normalised discrete Gaussian at u = 0. Replicon: (∂²f_k)² (Stein on the grid;
ReLU: closed form, cell-averaged over 16 sub-points because it is a spike of width 1/(κ|y|)) propagated
with the tilted weights. Everything is jax-differentiable in (q, m, d, β). Grid convergence at hard points
(sin C_W = 4, α = 2, β = 2.5; ReLU C_W = 2, α = 2, β = 8) is a test. k-RSB optima with a degenerate step are
reported as collapsed onto k−1 steps.
RS: all roots of :math:`\partial_q\Phi_0` bracketed on a grid, Brent's method, the minimum kept; in A
the sup over d is a root of :math:`\partial_d\Phi` at the inner optimum (envelope), Brent's method.
k-RSB: L-BFGS-B on nested fractions (as in :mod:`nnft.theory.replica`) from several starts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, logsumexp
from scipy.optimize import brentq, minimize, minimize_scalar

from ..activations import get_activation
from ..errors import NNFTInputError, check_positive_int, check_variance
from ..gaussian import gauss_hermite
from .replica import _beta, _blas1, _bracket_decreasing_root, _convention, _unpack_nested
from .replica import _bounds as _bounds_nested
from .replica import _to_z as _to_z_nested

__all__ = [
    "FiniteWidthSolution",
    "FiniteWidthATPoint",
    "FiniteWidthClassification",
    "solve_rs_finite_width",
    "solve_1rsb_finite_width",
    "solve_krsb_finite_width",
    "replicon_finite_width",
    "at_point_finite_width",
    "classify_finite_width",
    "free_entropy_functional",
    "DEFAULT_RULE",
]

#: (n_y, n_u, width): Gauss–Legendre order for y on the two half-lines (halved for odd σ), number of
#: u-grid nodes (odd: u = 0 is a node), and the grid half-width in units of the total standard deviation
#: :math:`\sqrt{C_b + C_Wd}` (plus 0.5)
DEFAULT_RULE = (48, 201, 8.0)
_CLOSED = ("linear", "relu")
_ODD = ("linear", "tanh", "sin", "erf")
_S_TOP = 1.0 - 1e-12
_TINY = 1e-20  # floor inside square roots: finite gradients at q_i = q_{i-1} (Stein: → ½C_W E f'')


# ============================================================================ validation
def _activation(activation: Any) -> str:
    if not isinstance(activation, str):
        raise NNFTInputError("activation", f"must be an activation name, got {type(activation).__name__}")
    act = get_activation(activation)  # raises NNFTInputError for unknown names
    name = act.name
    if name in ("shaped_tanh", "shaped_relu"):
        raise NNFTInputError("activation", "shaped activations need a depth; only one hidden layer is modelled here")
    return name


def _alpha(alpha: Any) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise NNFTInputError("alpha", f"must be a real number, got {alpha!r}") from None
    if not math.isfinite(a) or a <= 0:
        raise NNFTInputError("alpha", f"width ratio N1/N0 must be finite and > 0, got {a!r} "
                                      "(alpha = inf is the GP limit: use nnft.theory.replica)")
    return a


def _rule(rule: Any) -> tuple[int, int, float]:
    if rule is None:
        return DEFAULT_RULE
    try:
        r = tuple(rule)
        if len(r) != 3:
            raise ValueError
        r = (int(r[0]), int(r[1]), float(r[2]))
    except (TypeError, ValueError):
        raise NNFTInputError("rule", f"must be (n_y, n_u, width): y-rule order, u-grid size, grid half-width in "
                                     f"total standard deviations; got {rule!r}") from None
    if not (2 <= r[0] <= 300 and r[0] % 2 == 0 and 21 <= r[1] <= 4001 and r[1] % 2 == 1 and 3.0 <= r[2] <= 20.0):
        raise NNFTInputError("rule", f"needs n_y even in [2, 300], n_u odd in [21, 4001], width in [3, 20]; got {rule!r}")
    return r  # type: ignore[return-value]


def _params(activation, alpha, beta, convention, sw2, sb2):
    act = _activation(activation)
    a = _alpha(alpha)
    b = _beta(beta)
    conv = _convention(convention)
    cw = check_variance("sw2", sw2, allow_zero=False)
    cb = check_variance("sb2", sb2)
    return act, a, b, conv, cw, cb


# ============================================================================ results
@dataclass(frozen=True)
class FiniteWidthSolution:
    r"""A k-RSB saddle (k = 0: RS) of the finite-α functional (module docstring).

    ``q``: breakpoints :math:`q_0\le\dots\le q_k`; ``m``: Parisi parameters; ``replicon``: RS:
    :math:`1 - \alpha C_W^2(d-q)^2\mathbb E(\partial_u^2f)^2` (RS stable iff > 0); k ≥ 1: its top-block analogue.
    """

    activation: str
    alpha: float
    sw2: float
    sb2: float
    convention: str
    beta: float
    k: int
    phi: float
    energy: float
    entropy: float
    d: float
    q: np.ndarray
    m: np.ndarray
    replicon: float

    @property
    def temperature(self) -> float:
        return 1.0 / self.beta

    def distinct_steps(self, q_tol: float = 1e-4, m_tol: float = 1e-5) -> int:
        """RSB steps that are not degenerate (breakpoints apart by > q_tol·d, Parisi parameters by > m_tol)."""
        n = 0
        for i in range(1, self.k + 1):
            dq = (self.q[i] - self.q[i - 1]) / self.d
            dm = (self.m[i] if i < self.k else 1.0) - self.m[i - 1]
            dm0 = self.m[i - 1] - (self.m[i - 2] if i > 1 else 0.0)  # m_1 → 0: the level q_0 has no weight
            if dq > q_tol and dm > m_tol and dm0 > m_tol:
                n += 1
        return n


@dataclass(frozen=True)
class FiniteWidthATPoint:
    """First β along the RS branch where the finite-α replicon vanishes (None from the solver: RS-stable)."""

    activation: str
    alpha: float
    sw2: float
    convention: str
    beta: float
    d: float
    q: float
    energy: float
    entropy: float

    @property
    def temperature(self) -> float:
        return 1.0 / self.beta


@dataclass(frozen=True)
class FiniteWidthClassification:
    """RS / 1RSB / FRSB at one (α, β); ``gains[k-1]`` = φ_{k-1} − φ_k ≥ 0."""

    activation: str
    alpha: float
    sw2: float
    convention: str
    beta: float
    phase: str
    replicon: float
    gains: tuple[float, ...]
    solutions: tuple[FiniteWidthSolution, ...]
    reason: str


# ============================================================================ compiled functional
_SUB = jnp.asarray((np.arange(16) + 0.5) / 16 - 0.5)  # sub-cell midpoints (units of h)
_CUTOFF = 9.0  # Gaussian weight beyond |z| = 9 is 2e-19


@functools.lru_cache(maxsize=64)
def _half_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre with n nodes on [0, 9] against the N(0, 1) density: ∫_0^∞ Dz g(z)."""
    x, w = np.polynomial.legendre.leggauss(n)
    z = 0.5 * _CUTOFF * (x + 1.0)
    return z, 0.5 * _CUTOFF * w * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)


def _split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-line rule with n nodes (n/2 per half-line, split at 0: kinks and steep regions at u = 0)."""
    z, w = _half_rule(n // 2)
    return np.concatenate([-z[::-1], z]), np.concatenate([w[::-1], w])


def _half_or_full_y(n: int, odd: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rule for y ~ N(0, 1): Gauss–Legendre on the half-lines (dense near y = 0, where E_{z0} f_0 behaves like
    |κy| smoothed on the scale 1/κ: Gauss–Hermite converges slowly there). For odd σ, f(u; -y) = f(-u; y)
    and z0 -> -z0 make the y-integrand even: y > 0 only, weights doubled."""
    if odd:
        y, w = _half_rule(n // 2)
        return y, 2.0 * w
    return _split(n)


def _sigma(act: str):
    if act == "linear":
        return lambda x: x
    return get_activation(act).fn


def _fd1(F, h):
    """Central first difference along the last axis (one-sided copies at the two edges)."""
    c = (F[..., 2:] - F[..., :-2]) / (2.0 * h)
    return jnp.concatenate([c[..., :1], c, c[..., -1:]], axis=-1)


def _fd2(F, h):
    """Fourth-order central second difference along the last axis (edges: copies of the nearest value)."""
    c = (-F[..., 4:] + 16.0 * F[..., 3:-1] - 30.0 * F[..., 2:-2] + 16.0 * F[..., 1:-3] - F[..., :-4]) / (12.0 * h * h)
    return jnp.concatenate([c[..., :1], c[..., :1], c, c[..., -1:], c[..., -1:]], axis=-1)


def _blend_weight(s, h):
    """0 for s ≤ h, 1 for s ≥ 1.5 h, C¹ smoothstep in between."""
    t = jnp.clip((s / h - 1.0) / 0.5, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _level_fns(N: int):
    r"""Grid operators on the uniform grid :math:`u_j = h(j - c)`, j < N, c = (N−1)/2 (u = 0 is a node).

    ``level(F, X, s, m, h, u, bL, bR)``: :math:`\frac1m\log\int\mathcal N(v; u, s^2)e^{mF(v)}dv` at every node,
    and the tilted average of X (replicon), by

    * s ≥ 1.5h: the dense midpoint rule :math:`\sum_j h\,\mathcal N(u_j; u_i, s^2)e^{mF_j}` (spectrally accurate:
      Poisson-summation error :math:`\sim e^{-2\pi^2s^2/h^2}`), row-wise log-sum-exp (dynamic range ~e^{±1000}
      is harmless), plus analytic tails beyond the grid with F extrapolated linearly (slopes bL, bR: ReLU's
      right asymptote :math:`F\simeq\kappa yu + c` is exact, so the tilt :math:`e^{m\kappa yu}` may shift
      mass far beyond the grid), divided by the same rule applied to F = 0 (exact normalisation: m → 0 and
      constant F are exact);
    * s ≤ h: the local Gaussian (Laplace) formula, exact for quadratic F with finite-difference F', F'':
      :math:`F + \frac1m[-\frac12\log(1 - mF''s^2) + \frac{m^2F'^2s^2}{2(1 - mF''s^2)}]` — exact as s → 0
      (identity, with the right O(s²) term: the Stein limit ½C_W E f'' of the gradient at q_i = q_{i−1});
    * h < s < 1.5h: a C¹ blend of the two.
    """
    off = np.arange(N)
    D2 = jnp.asarray((off[:, None] - off[None, :]) ** 2, dtype=float)

    def dense(F, X, s, m, h, u, bL, bR, want_rep):
        logK = jnp.log(h) - 0.5 * jnp.log(2.0 * jnp.pi * s * s) - D2 * (h * h / (2.0 * s * s))
        G = m * F
        L, U = u[0] - 0.5 * h, u[-1] + 0.5 * h
        A = logK[None] + G[..., None, :]  # (ny, N, N)
        main = logsumexp(A, axis=-1)
        right = G[..., -1:] + m * bR * (u - u[-1]) + 0.5 * (m * bR * s) ** 2 + log_ndtr((u + m * bR * s * s - U) / s)
        left = G[..., :1] + m * bL * (u - u[0]) + 0.5 * (m * bL * s) ** 2 + log_ndtr((L - u - m * bL * s * s) / s)
        tot = jnp.logaddexp(main, jnp.logaddexp(right, left))
        norm = jnp.logaddexp(logsumexp(logK, axis=-1), jnp.logaddexp(log_ndtr((u - U) / s), log_ndtr((L - u) / s)))
        Fn = (tot - norm) / m
        if not want_rep:
            return Fn, X
        P = jnp.exp(A - tot[..., None])
        Xn = (jnp.einsum("...ij,...j->...i", P, X) + jnp.exp(right - tot) * X[..., -1:]
              + jnp.exp(left - tot) * X[..., :1])
        return Fn, Xn

    def inner_d2(G, s, h, u):
        """F = log ∫N(v; u, s²)e^{G(v)}dv and ∂²_uF = Var_P(v − u)/s⁴ − 1/s² (Gaussian integration by parts on the
        discrete rule: spectrally accurate like F itself; bounded σ, so no tails). s ≥ h only."""
        logK = -D2 * (h * h / (2.0 * s * s))
        A = logK[None] + G[..., None, :]
        tot = logsumexp(A, axis=-1)
        P = jnp.exp(A - tot[..., None])
        dlt = (u[None, :] - u[:, None]) / s  # (u_j − u_i)/s
        m1 = jnp.einsum("...ij,ij->...i", P, dlt)
        m2 = jnp.einsum("...ij,ij->...i", P, dlt * dlt)
        return (m2 - m1 * m1 - 1.0) / (s * s)

    def inner_x(G, F, s, h, u):
        """(∂²_uF)² for the innermost level (bounded σ): Stein on the grid for s ≥ 1.5h, finite differences
        for s ≤ h, blended between."""
        idx = (s >= h).astype(jnp.int32) + (s >= 1.5 * h).astype(jnp.int32)

        def b0(_):
            return _fd2(F, h) ** 2

        def b1(_):
            w = _blend_weight(s, h)
            return w * inner_d2(G, s, h, u) ** 2 + (1 - w) * _fd2(F, h) ** 2

        def b2(_):
            return inner_d2(G, s, h, u) ** 2

        return jax.lax.switch(idx, [b0, b1, b2], None)

    def laplace(F, X, s, m, h):
        c, b = _fd1(F, h), _fd2(F, h)
        x = jnp.minimum(m * b * s * s, 0.5)
        return F + (-0.5 * jnp.log1p(-x) / m + 0.5 * m * (c * s) ** 2 / (1.0 - x)), X

    def level(F, X, s, m, h, u, bL, bR, want_rep):
        idx = (s >= h).astype(jnp.int32) + (s >= 1.5 * h).astype(jnp.int32)

        def b0(_):
            return laplace(F, X, s, m, h)

        def b1(_):
            w = _blend_weight(s, h)
            F1, X1 = dense(F, X, s, m, h, u, bL, bR, want_rep)
            F0, X0 = laplace(F, X, s, m, h)
            return w * F1 + (1 - w) * F0, (w * X1 + (1 - w) * X0 if want_rep else None)

        def b2(_):
            return dense(F, X, s, m, h, u, bL, bR, want_rep)

        return jax.lax.switch(idx, [b0, b1, b2], None)

    def average0(F, s, h, u):
        """E_z F(s z) (linear Gaussian average at u = 0) along the last axis."""
        c = (N - 1) // 2

        def lap(_):
            return F[..., c] + 0.5 * s * s * _fd2(F, h)[..., c]

        def den(_):
            w = jax.nn.softmax(-0.5 * (u / s) ** 2)
            return jnp.sum(F * w, axis=-1)

        def mix(_):
            wt = _blend_weight(s, h)
            return wt * den(None) + (1 - wt) * lap(None)

        idx = (s >= h).astype(jnp.int32) + (s >= 1.5 * h).astype(jnp.int32)
        return jax.lax.switch(idx, [lap, mix, den], None)

    return level, average0, inner_x


def _inner_fn(act: str):
    r"""Closed forms of :math:`f(u; a, s) = \log\mathbb E_ze^{a\sigma(u+sz)}` and :math:`(\partial_u^2f)^2`
    (linear, ReLU; else None: computed on the grid)."""
    if act == "linear":
        return (lambda u, a, s: a * u + 0.5 * a**2 * s**2), (lambda u, a, s: 0.0 * (a + u))
    if act == "relu":

        def f(u, a, s):
            return jnp.logaddexp(log_ndtr(-u / s), a * u + 0.5 * (a * s) ** 2 + log_ndtr(u / s + a * s))

        def x(u, a, s):
            one = jnp.ones_like(u + a)
            uu = u + 0.0 * a
            d1f = lambda v: jax.jvp(lambda w: f(w, a, s), (v,), (one,))[1]  # noqa: E731
            return jax.jvp(d1f, (uu,), (one,))[1] ** 2

        return f, x
    return None, None


@functools.lru_cache(maxsize=None)
def _core(act: str, k: int, rule: tuple[int, int, float]) -> dict[str, Any]:
    r"""The k-RSB functional :math:`\Phi_k(q, m; d, \beta, \alpha, C_W, C_b, A?)` and friends, jitted once per
    (activation, k, rule); rule = (n_y, n_u, width) (see DEFAULT_RULE)."""
    ny, nu, width = rule
    odd = act in _ODD
    y, wy = _half_or_full_y(ny, odd)
    Y = jnp.asarray(y)[:, None]
    WY = jnp.asarray(wy)
    level, average0, inner_x = _level_fns(nu)
    f_cl, x_cl = _inner_fn(act)
    sig = None if f_cl is not None else _sigma(act)
    J = jnp.arange(nu) - (nu - 1) // 2

    def ssqrt(x):
        return jnp.sqrt(jnp.maximum(x, 0.0) + _TINY)

    def tree(q, m, d, beta, alpha, sw2, sb2, want_rep):
        kappa = beta * jnp.sqrt(sw2 / alpha)
        a = kappa * Y  # (ny, 1)
        R = width * jnp.sqrt(sb2 + sw2 * d) + 0.5
        h = 2.0 * R / (nu - 1)
        u = h * J
        sk = ssqrt(sw2 * (d - q[k]))
        zero = 0.0 * a
        bL, bR = {"relu": (zero, a), "linear": (a, a)}.get(act, (zero, zero))
        if f_cl is not None:
            F = f_cl(u[None, :], a, sk)
            # (∂²f)² of ReLU is a spike of width ~1/(κ|y|) at the kink: cell averages (16 midpoints per cell)
            X = jnp.mean(x_cl(u[None, :, None] + h * _SUB, a[..., None], sk), axis=-1) if want_rep else None
        else:
            G = a * sig(u)[None, :]
            F, _ = level(G, None, sk, 1.0, h, u, bL, bR, False)
            X = inner_x(G, F, sk, h, u) if want_rep else None
        for i in range(k, 0, -1):
            F, X = level(F, X, ssqrt(sw2 * (q[i] - q[i - 1])), m[i - 1], h, u, bL, bR, want_rep)
        s0 = ssqrt(sb2 + sw2 * q[0])
        E = jnp.sum(WY * average0(F, s0, h, u))
        rep = 1.0 - alpha * sw2**2 * (d - q[k]) ** 2 * jnp.sum(WY * average0(X, s0, h, u)) if want_rep else 0.0
        return alpha * E, rep

    def entropic(q, m, d, conv_a):
        lam = d - q[k]
        out = jnp.log(lam)
        for i in range(k, 0, -1):
            dq = q[i] - q[i - 1]
            out = out + jnp.log1p(m[i - 1] * dq / lam) / m[i - 1]
            lam = lam + m[i - 1] * dq
        out = out + q[0] / lam
        return 0.5 * out + conv_a * 0.5 * (1.0 - d)

    def Phi(q, m, d, beta, alpha, sw2, sb2, conv_a):
        return entropic(q, m, d, conv_a) + tree(q, m, d, beta, alpha, sw2, sb2, False)[0]

    def unpack(z, d):
        return _unpack_nested(z, d, k)

    def Phi_z(z, d, beta, alpha, sw2, sb2, conv_a):
        q, m = unpack(z, d)
        return Phi(q, m, d, beta, alpha, sw2, sb2, conv_a)

    out = {
        "Phi": jax.jit(Phi),
        "dPhi": jax.jit(jax.grad(Phi, argnums=(0, 1, 2, 3))),  # (q, m, d, beta)
        "vg_z": jax.jit(jax.value_and_grad(Phi_z)),
        "unpack": jax.jit(unpack),
        "replicon": jax.jit(lambda q, m, d, beta, alpha, sw2, sb2: tree(q, m, d, beta, alpha, sw2, sb2, True)[1]),
        "energetic": jax.jit(lambda q, m, d, beta, alpha, sw2, sb2: tree(q, m, d, beta, alpha, sw2, sb2, False)[0]),
    }
    if k == 0:
        def phi_q(q, d, beta, alpha, sw2, sb2, conv_a):
            return Phi(q[None], jnp.zeros(0), d, beta, alpha, sw2, sb2, conv_a)

        gq = jax.grad(phi_q)
        out["dq"] = jax.jit(gq)
        # lax.map, not vmap: vmap would turn the s-branch switches into selects (all branches evaluated)
        out["dq_grid"] = jax.jit(lambda qs, *a: jax.lax.map(lambda x: gq(x, *a), qs))
        out["phi_grid"] = jax.jit(lambda qs, *a: jax.lax.map(lambda x: phi_q(x, *a), qs))
        out["dd"] = jax.jit(jax.grad(phi_q, argnums=1))
    return out


def free_entropy_functional(activation: str, alpha: float, beta: float, q, m=(), d: float = 1.0,
                            convention: str = "B", sw2: float = 1.0, sb2: float = 0.0, rule=None) -> float:
    r"""The k-RSB functional :math:`\Phi_k(q, m; d)` itself (k = len(m)), without any optimisation."""
    act, alpha, beta, conv, sw2, sb2 = _params(activation, alpha, beta, convention, sw2, sb2)
    q, m = np.atleast_1d(np.asarray(q, float)), np.atleast_1d(np.asarray(m, float))
    if len(q) != len(m) + 1:
        raise NNFTInputError("q", f"k-RSB needs len(q) = len(m) + 1, got {len(q)} and {len(m)}")
    if conv == "B":
        d = 1.0
    core = _core(act, len(m), _rule(rule))
    return float(core["Phi"](jnp.asarray(q), jnp.asarray(m), float(d), beta, alpha, sw2, sb2, float(conv == "A")))


# ============================================================================ solution object
def _make(act, alpha, sw2, sb2, conv, beta, q, m, d, rule) -> FiniteWidthSolution:
    q, m = np.asarray(q, float), np.asarray(m, float)
    k = len(m)
    core = _core(act, k, rule)
    ca = float(conv == "A")
    args = (jnp.asarray(q), jnp.asarray(m), float(d), float(beta))
    phi = float(core["Phi"](*args, alpha, sw2, sb2, ca))
    dbeta = float(core["dPhi"](*args, alpha, sw2, sb2, ca)[3])
    rep = float(core["replicon"](*args, alpha, sw2, sb2))
    e = -dbeta
    return FiniteWidthSolution(activation=act, alpha=alpha, sw2=sw2, sb2=sb2, convention=conv, beta=beta, k=k,
                               phi=phi, energy=e, entropy=phi + beta * e, d=float(d), q=q, m=m, replicon=rep)


# ============================================================================ RS
_RS_GRID = np.concatenate([np.linspace(0.0, 0.98, 50), 1.0 - np.logspace(-1.7, -10, 26)])


def _rs_inner(core, d, beta, alpha, sw2, sb2, ca) -> tuple[float, float]:
    r"""RS at fixed d: the q ∈ [0, d) minimising :math:`\Phi_0` among the roots of :math:`\partial_q\Phi_0`."""
    qg = d * _RS_GRID
    args = (d, beta, alpha, sw2, sb2, ca)
    v = np.asarray(core["phi_grid"](jnp.asarray(qg), *args))  # values only: 3x cheaper than gradients
    dq = lambda x: float(core["dq"](jnp.asarray(x), *args))  # noqa: E731
    n = len(qg)
    cands = []
    for j in range(n):  # local minima of the scan, each refined by Brent on ∂_qΦ_0 in its neighbourhood
        if not np.isfinite(v[j]) or (j > 0 and v[j - 1] < v[j]) or (j < n - 1 and v[j + 1] < v[j]):
            continue
        lo, hi = qg[max(j - 1, 0)], qg[min(j + 1, n - 1)]
        glo, ghi = dq(lo), dq(hi)
        if j == 0 and glo >= 0:
            cands.append(0.0)
        elif glo < 0 <= ghi:
            cands.append(brentq(dq, lo, hi, xtol=1e-15 * d, rtol=1e-15))
        else:
            cands.append(float(qg[j]))
    if not cands:
        cands.append(float(qg[int(np.nanargmin(v))]))
    cands = np.asarray(cands)
    vals = np.asarray(core["phi_grid"](jnp.asarray(cands), *args))
    i = int(np.argmin(vals))
    return float(cands[i]), float(vals[i])


def _rs_A(core, beta, alpha, sw2, sb2, d0: float = 1.0) -> tuple[float, float]:
    r"""sup over d (A): the sign change (+ to −) of :math:`\partial_d\Phi_0` at the inner optimum nearest
    to ``d0`` (geometric bracket expansion), Brent's method. A second, distant root would be missed
    (replica.py scans a grid instead); none was seen for the activations used here."""

    state = {"t": None}

    def inner(d):
        t = state["t"]
        if t is not None and 0.0 < t < 0.999:  # warm start: the root of ∂_qΦ_0 near the previous q/d
            dq = lambda x: float(core["dq"](jnp.asarray(d * x), d, beta, alpha, sw2, sb2, 1.0))  # noqa: E731
            lo, hi = max(t - 0.02, 0.0), min(t + 0.02, 0.9999)
            if dq(lo) < 0 < dq(hi):
                x = brentq(dq, lo, hi, xtol=1e-15, rtol=1e-15)
                return d * x, None
        q, _ = _rs_inner(core, d, beta, alpha, sw2, sb2, 1.0)
        return q, None

    def g(ld):
        d = math.exp(ld)
        q, _ = inner(d)
        state["t"] = q / d
        return d * float(core["dd"](jnp.asarray(q), d, beta, alpha, sw2, sb2, 1.0)), q, None

    # expand a bracket of the sign change (+ -> -) geometrically from d0, then Brent's method
    a, b = _bracket_decreasing_root(lambda x: g(x)[0], math.log(d0), 0.1, 1.6, 60,
                                    f"RS saddle in d (alpha={alpha}, beta={beta})")
    ld = brentq(lambda x: g(x)[0], a, b, xtol=1e-13, rtol=1e-15)
    d = math.exp(ld)
    q, _ = _rs_inner(core, d, beta, alpha, sw2, sb2, 1.0)  # final: full scan (global minimum in q)
    return q, d


def solve_rs_finite_width(activation: str, alpha: float, beta: float, convention: str = "B", sw2: float = 1.0,
                          sb2: float = 0.0, *, rule=None) -> FiniteWidthSolution:
    r"""Replica-symmetric saddle at width ratio α (module docstring; derived here, not from the paper):
    :math:`\phi_0 = \sup_d\min_q\{\tfrac12[\log(d-q) + q/(d-q)] + [\tfrac12(1-d)]_A
    + \alpha\,\mathbb E_{y,z_0}\log\mathbb E_ze^{\kappa y\sigma(u_0 + sz)}\}`, κ = β√(C_W/α),
    :math:`u_0 = \sqrt{C_b + C_Wq}\,z_0`, s = √(C_W(d−q)). ``rule``: Gauss–Hermite orders (see DEFAULT_RULE)."""
    act, alpha, beta, conv, sw2, sb2 = _params(activation, alpha, beta, convention, sw2, sb2)
    rule = _rule(rule)
    return _solve_rs(act, alpha, beta, conv, sw2, sb2, rule)


@_blas1
def _solve_rs(act, alpha, beta, conv, sw2, sb2, rule, d0: float = 1.0):
    core = _core(act, 0, rule)
    if conv == "B":
        q, _ = _rs_inner(core, 1.0, beta, alpha, sw2, sb2, 0.0)
        d = 1.0
    else:
        q, d = _rs_A(core, beta, alpha, sw2, sb2, d0)
    return _make(act, alpha, sw2, sb2, conv, beta, np.array([q]), np.zeros(0), d, rule)


def replicon_finite_width(activation: str, alpha: float, beta: float, convention: str = "B", sw2: float = 1.0,
                          sb2: float = 0.0, *, rule=None) -> float:
    r"""RS replicon :math:`1 - \alpha C_W^2(d-q)^2\,\mathbb E_{y,z_0}[(\partial_u^2f_0)^2]` at the RS saddle; < 0:
    RS is unstable (finite-α de Almeida–Thouless condition; → :math:`1 - \beta^2G_{qq}(d-q)^2` as α → ∞)."""
    return solve_rs_finite_width(activation, alpha, beta, convention, sw2, sb2, rule=rule).replicon


# ============================================================================ k-RSB
def _bounds(k):
    return _bounds_nested(k, _S_TOP)


def _to_z(q, m, d):
    return _to_z_nested(q, m, d, _S_TOP)


def _starts(k, d, q_rs, beta, prev):
    q_rs = min(q_rs, 0.999 * d)
    gap = d - q_rs
    starts = []
    mscale = min(1.0, 2.0 / beta)
    for lo, hi, mlo, mhi in [(0.98, 0.7, 0.4, 0.9), (0.6, 0.9, 0.1, 0.7), (0.2, 0.97, 0.05, 0.5)]:
        q = np.concatenate([[lo * q_rs], q_rs + gap * np.linspace(hi / (k + 1), hi, k)])
        m = np.linspace(mlo, mhi, k) * (mscale if mlo < 0.2 else 1.0)
        starts.append(_to_z(np.sort(q), m, d))
    if prev is not None and prev.k == k - 1:
        pq = prev.q * (d / prev.d)
        pm = np.concatenate([[0.0], prev.m, [1.0]])
        for j in range(k):
            lo_q = pq[j - 1] if j > 0 else 0.5 * pq[0]
            q = np.sort(np.insert(pq, j, 0.5 * (lo_q + pq[j]) if j > 0 else lo_q))
            m = np.sort(np.insert(prev.m, j, 0.5 * (pm[j] + pm[j + 1])))
            starts.append(_to_z(q, m, d))
        q = np.append(pq, pq[-1] + 0.5 * (d - pq[-1]))
        m = np.append(prev.m, 0.5 * (pm[-2] + 1.0))
        starts.append(_to_z(q, m, d))
    return starts


def _minimise_z(core, k, z0, d, beta, alpha, sw2, sb2, ca, maxiter=2000):
    def f(z):
        val, g = core["vg_z"](jnp.asarray(z), d, beta, alpha, sw2, sb2, ca)
        val, g = float(val), np.asarray(g, float)
        if not np.isfinite(val) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(z)
        return val, g

    res = minimize(f, z0, jac=True, method="L-BFGS-B", bounds=_bounds(k),
                   options={"maxiter": maxiter, "ftol": 1e-16, "gtol": 1e-12, "maxcor": 12})
    return float(res.fun), np.asarray(res.x)


def _inner_krsb(core, k, d, beta, alpha, sw2, sb2, ca, starts):
    best = None
    for z0 in starts:
        val, z = _minimise_z(core, k, z0, d, beta, alpha, sw2, sb2, ca)
        if best is None or val < best[0]:
            best = (val, z)
    return best


@_blas1
def _solve_krsb(act, alpha, beta, conv, sw2, sb2, rule, k, rs, previous):
    core = _core(act, k, rule)
    ca = float(conv == "A")
    d0 = previous.d if (previous is not None and previous.k == k - 1) else rs.d
    starts = _starts(k, d0, float(rs.q[0]) * d0 / rs.d, beta, previous)
    if conv == "B":
        _, z = _inner_krsb(core, k, 1.0, beta, alpha, sw2, sb2, 0.0, starts)
        q, m = (np.asarray(x) for x in core["unpack"](jnp.asarray(z), 1.0))
        return _make(act, alpha, sw2, sb2, "B", beta, q, m, 1.0, rule)
    # A: sup over d of the inner minimum, warm-started inner solves; root of the envelope derivative
    _, z0 = _inner_krsb(core, k, d0, beta, alpha, sw2, sb2, 1.0, starts)
    state = {"z": z0}
    memo: dict[float, tuple[float, float, np.ndarray]] = {}

    def inner(ld):
        if ld not in memo:
            d = math.exp(ld)
            val, z = _minimise_z(core, k, state["z"], d, beta, alpha, sw2, sb2, 1.0)
            state["z"] = z
            q, m = core["unpack"](jnp.asarray(z), d)
            gd = float(core["dPhi"](q, m, d, beta, alpha, sw2, sb2, 1.0)[2])
            memo[ld] = (d * gd, val, z)
        return memo[ld]

    a, b = _bracket_decreasing_root(lambda x: inner(x)[0], math.log(d0), 0.02, 2.0, 40,
                                    f"{k}-RSB saddle in d (alpha={alpha}, beta={beta})")
    ld = brentq(lambda x: inner(x)[0], a, b, xtol=1e-13, rtol=1e-15)
    if abs(inner(ld)[0]) > 1e-7 * max(1.0, beta**2):
        res = minimize_scalar(lambda x: -inner(x)[1], bounds=(a, b), method="bounded", options={"xatol": 1e-10})
        ld = float(res.x)
    d = math.exp(ld)
    q, m = (np.asarray(x) for x in core["unpack"](jnp.asarray(inner(ld)[2]), d))
    return _make(act, alpha, sw2, sb2, "A", beta, q, m, d, rule)


def solve_krsb_finite_width(activation: str, alpha: float, beta: float, k: int, convention: str = "B",
                            sw2: float = 1.0, sb2: float = 0.0, *, rule=None,
                            rs: FiniteWidthSolution | None = None,
                            previous: FiniteWidthSolution | None = None) -> FiniteWidthSolution:
    r"""k-step RSB saddle of the finite-α functional (module docstring; k = 0 is RS): minimum over
    :math:`0\le q_0\le\dots\le q_k<d`, :math:`0<m_1\le\dots\le m_k\le1` (L-BFGS-B from several starts,
    including every way of adding a step to ``previous``, the (k−1)-RSB solution, computed if not given);
    in A the sup over d is the root of the envelope derivative. φ_k ≤ φ_{k−1} up to optimiser precision."""
    act, alpha, beta, conv, sw2, sb2 = _params(activation, alpha, beta, convention, sw2, sb2)
    rule = _rule(rule)
    k = check_positive_int("k", k, minimum=0)
    if rs is None:
        rs = _solve_rs(act, alpha, beta, conv, sw2, sb2, rule)
    if k == 0:
        return rs
    if previous is None or previous.k != k - 1:
        previous = rs
        for j in range(1, k):
            previous = _solve_krsb(act, alpha, beta, conv, sw2, sb2, rule, j, rs, previous)
    sol = _solve_krsb(act, alpha, beta, conv, sw2, sb2, rule, k, rs, previous)
    # Boundary guard: a k-RSB optimum with a degenerate step (q_i = q_{i-1}; m_i = m_{i+1} or m_k = 1, where
    # Φ_k no longer depends on q_k; m_1 = 0, where q_0 has no weight) IS a (k-1)-step solution, whatever small
    # numerical gain it shows: it is reported as collapsed onto ``previous``, never as an RSB gain.
    if sol.phi > previous.phi or sol.distinct_steps() < k:
        q = np.concatenate([previous.q, [previous.q[-1]]])
        m = np.concatenate([previous.m, [1.0]]) if k > 1 else np.array([1.0])
        sol = _make(act, alpha, sw2, sb2, conv, beta, q, m, previous.d, rule)
    return sol


def solve_1rsb_finite_width(activation: str, alpha: float, beta: float, convention: str = "B", sw2: float = 1.0,
                            sb2: float = 0.0, *, rule=None, rs: FiniteWidthSolution | None = None) -> FiniteWidthSolution:
    """1RSB saddle (k = 1) of the finite-α functional; see :func:`solve_krsb_finite_width`."""
    return solve_krsb_finite_width(activation, alpha, beta, 1, convention, sw2, sb2, rule=rule, rs=rs)


# ============================================================================ AT point
def at_point_finite_width(activation: str, alpha: float, convention: str = "B", sw2: float = 1.0, sb2: float = 0.0,
                          *, beta_min: float = 0.05, beta_max: float = 30.0, n_grid: int = 24,
                          rule=None) -> FiniteWidthATPoint | None:
    r"""First β on a geometric grid in [beta_min, beta_max] where the RS replicon
    :math:`1 - \alpha C_W^2(d-q)^2\mathbb E(\partial_u^2f)^2` turns negative, refined by Brent's method.
    None if RS stays replicon-stable up to beta_max."""
    act, alpha, _, conv, sw2, sb2 = _params(activation, alpha, 1.0, convention, sw2, sb2)
    rule = _rule(rule)
    n_grid = check_positive_int("n_grid", n_grid, minimum=2)
    betas = np.geomspace(_beta(beta_min), _beta(beta_max), n_grid)
    prev = None
    for b in betas:
        if _solve_rs(act, alpha, float(b), conv, sw2, sb2, rule).replicon < 0:
            break
        prev = b
    else:
        return None
    if prev is None:
        raise NNFTInputError("beta_min", f"RS is already unstable at beta_min={beta_min}; lower it")
    bat = brentq(lambda x: _solve_rs(act, alpha, x, conv, sw2, sb2, rule).replicon, prev, b, xtol=1e-10, rtol=1e-10)
    sol = _solve_rs(act, alpha, bat, conv, sw2, sb2, rule)
    return FiniteWidthATPoint(activation=act, alpha=alpha, sw2=sw2, convention=conv, beta=float(bat), d=sol.d,
                              q=float(sol.q[0]), energy=sol.energy, entropy=sol.entropy)


# ============================================================================ classification
def classify_finite_width(activation: str, alpha: float, beta: float, convention: str = "B", sw2: float = 1.0,
                          sb2: float = 0.0, *, kmax: int = 2, tol: float = 1e-9, rule=None) -> FiniteWidthClassification:
    r"""RS / 1RSB / FRSB at (α, β) from the RS replicon and the k-RSB gains :math:`\Delta_k = \phi_{k-1} - \phi_k`.

    * **RS** — replicon ≥ 0 and :math:`\Delta_1\le` ``tol``·max(1, |φ|).
    * **FRSB** — (kmax ≥ 2) :math:`\Delta_2 >` tol with 2 distinct steps (the 2-RSB optimum does not collapse
      onto one step: by uniqueness of the Parisi measure a true 1RSB optimum would make it collapse).
    * **1RSB** — :math:`\Delta_1 >` tol and the 2-RSB solution collapses onto one step (or kmax = 1).
    * **RSB (gains below tol)** — replicon < 0 but no k-RSB gain above ``tol`` (a narrow continuous band
      just past the AT point, where gains are tiny): reported as "FRSB?" with that reason.
    """
    act, alpha, beta, conv, sw2, sb2 = _params(activation, alpha, beta, convention, sw2, sb2)
    rule = _rule(rule)
    kmax = check_positive_int("kmax", kmax, minimum=1)
    rs = _solve_rs(act, alpha, beta, conv, sw2, sb2, rule)
    sols = [rs]
    for k in range(1, kmax + 1):
        sols.append(solve_krsb_finite_width(act, alpha, beta, k, conv, sw2, sb2, rule=rule, rs=rs, previous=sols[-1]))
    phis = np.array([s.phi for s in sols])
    best = np.minimum.accumulate(phis)
    gains = tuple(float(x) for x in np.maximum(best[:-1] - best[1:], 0.0))
    eps = tol * max(1.0, abs(float(phis[0])))
    gtxt = ", ".join(f"{g:.2e}" for g in gains)
    if gains[0] <= eps:
        if rs.replicon >= 0:
            phase, reason = "RS", f"replicon {rs.replicon:.3g} >= 0 and no 1RSB gain ({gtxt})"
        else:
            phase, reason = "FRSB?", f"replicon {rs.replicon:.3g} < 0 but k-RSB gains below tol ({gtxt}): continuous onset"
    else:
        j = max([1] + [k for k in range(2, kmax + 1) if gains[k - 1] > eps and sols[k].distinct_steps() == k])
        if kmax >= 2 and j == kmax:
            phase, reason = "FRSB", f"the {kmax}-RSB solution keeps {kmax} distinct steps; gains {gtxt}"
        elif j == 1:
            phase, reason = "1RSB", f"gains {gtxt}; higher k collapse onto one step" if kmax >= 2 else f"gain {gtxt}"
        else:
            phase, reason = f"{j}RSB", f"k-RSB solutions collapse onto {j} steps; gains {gtxt}"
    return FiniteWidthClassification(activation=act, alpha=alpha, sw2=sw2, convention=conv, beta=beta, phase=phase,
                                     replicon=rs.replicon, gains=gains, solutions=tuple(sols), reason=reason)
