r"""Replica theory of a random MLP viewed as a Hamiltonian over its inputs (Winer & Hanin 2025).

The energy :math:`H(x) = \sqrt{N_0}\,z^{(L+1)}(x)` of a wide random MLP is a centred Gaussian field with
:math:`\mathbb E[H(x)H(y)] = N_0\,G(q; d)` (:mod:`nnft.hamiltonian`). Its quenched free entropy
:math:`\phi(\beta) = \lim N_0^{-1}\mathbb E\log Z_\beta` is computed here with the Crisanti–Sommers (CS)
functional (Crisanti & Sommers, Z. Phys. B 87, 341 (1992); Talagrand, Ann. Math. 163 (2006) and PTRF 134
(2006); Chen, ECP 2013), following ``shared/notes/hamiltonians.md`` (cited as "note §…").

Conventions (note §1.3)
-----------------------
* **A** — Gaussian reference measure: :math:`Z_\beta = \int\gamma(dx)\,e^{-\beta H(x)}`,
  :math:`\gamma = \mathcal N(0, I_{N_0})`; the self-overlap :math:`d = \|x\|^2/N_0` is an order parameter.
* **B** — uniform measure on the sphere :math:`\|x\|^2 = N_0` (d = 1): a spherical mixed p-spin model
  with :math:`\xi(q) = G(q; 1)`.

Free entropy (note §3.1–3.2)
----------------------------
.. math::
   \phi(\beta) = \sup_{d>0}\Big[\underbrace{\tfrac12(\log d - d + 1)}_{\text{shell}} + \inf_{x}\mathcal P_d[x]\Big]
   \quad(\text{A}),\qquad \phi(\beta) = \inf_x \mathcal P_1[x]\quad(\text{B}),

.. math::
   \mathcal P_d[x] = \tfrac12\Big[\beta^2\!\int_0^d x(q)\,\partial_qG(q;d)\,dq + \log\frac{d-q_M}{d}
   + \int_0^{q_M}\frac{dq}{\lambda(q)}\Big],\qquad \lambda(q) = \int_q^d x(s)\,ds,

with x the Parisi CDF on [0, d] and :math:`q_M` the top of its support. For a k-step function
(k-RSB; k = 0 is RS) — breakpoints :math:`0 \le q_0 \le \dots \le q_k < d`, Parisi parameters
:math:`0 < m_1 \le \dots \le m_k \le 1`, :math:`x = 0` on :math:`[0, q_0)`, :math:`m_i` on
:math:`[q_{i-1}, q_i)`, 1 on :math:`[q_k, d]` — the integrals are closed forms:

.. math::
   \mathcal P_d = \tfrac12\Big[\beta^2\Big(G(d;d) - G(q_k) + \sum_{i=1}^k m_i\,(G(q_i) - G(q_{i-1}))\Big)
   + \log\frac{\Lambda_k}{d} + \sum_{i=1}^k \frac1{m_i}\log\frac{\Lambda_{i-1}}{\Lambda_i} + \frac{q_0}{\Lambda_0}\Big],

:math:`\Lambda_k = d - q_k`, :math:`\Lambda_{i-1} = \Lambda_i + m_i(q_i - q_{i-1})` (:math:`\Lambda_i = \lambda(q_i)`).
k = 0 and k = 1 reproduce the note's RS and 1RSB formulas (§3.2) and, at d = 1 and :math:`q_0 = 0`,
the CS 1RSB formula. The inf over x is the Guerra–Talagrand variational principle (each k-RSB value
is an upper bound on φ, non-increasing in k); the sup over d is the large-deviation principle of
:math:`\|x\|^2` (note §3.1).

Observables
-----------
* energy :math:`e = -\partial_\beta\phi = -\beta\big[G(d;d) - G(q_k) + \sum_i m_i(G(q_i) - G(q_{i-1}))\big]`
  (envelope theorem; RS: :math:`-\beta[G(d;d) - G(q;d)]`, note §3.2);
* entropy :math:`s = \phi + \beta e`, and :math:`s(E) = \inf_\beta[\phi(\beta) + \beta E]` (note §1.3):
  a log Gaussian volume (≤ 0) in A, a log spherical volume in B;
* replicon (RS, note §3.3): :math:`\lambda_R = 1 - \beta^2\,\partial_q^2G(q;d)\,(d-q)^2`; RS is stable
  iff :math:`\lambda_R > 0`, equivalently :math:`q\,G_{qq}/G_q < 1` at the RS saddle (de Almeida &
  Thouless 1978 for SK; CS 1992 for spherical models);
* continuous Parisi solution (note §3.2): :math:`\lambda(q) = 1/(\beta\sqrt{G_{qq}})`,
  :math:`x(q) = G_{qqq}/(2\beta G_{qq}^{3/2})`, admissible where :math:`G_{qq}^{-1/2}` is concave;
* zero temperature (note §3.4): with :math:`\beta m_i \to \mu_i`, :math:`\beta(d - q_k) \to \chi`,
  :math:`q_k \to d`,

  .. math::
     -E_{gs} = \min\tfrac12\Big[G_q(d;d)\,\chi + \sum_{i=1}^k\mu_i(G(q_i) - G(q_{i-1}))
     + \sum_{i=1}^k\frac1{\mu_i}\log\frac{\chi_{i-1}}{\chi_i} + \frac{q_0}{\chi_0}\Big],

  :math:`q_k = d`, :math:`\chi_k = \chi`, :math:`\chi_{i-1} = \chi_i + \mu_i(q_i - q_{i-1})` (k = 0:
  :math:`E_{gs} = -\sqrt{d\,G_q(d;d)}`; k = 1 and :math:`q_0 = 0`: the note's 1RSB formula; Chen–Sen,
  CMP 2017; Jagannath–Tobasco, CMP 2017).

Numerics (note §3.5)
--------------------
* RS: at fixed d all roots of :math:`q/(d-q)^2 = \beta^2G_q` are bracketed on a grid and solved with
  Brent's method; the one minimising :math:`\mathcal P_d` is kept. In A the outer sup over d is a root of
  :math:`\partial_d[\text{shell} + \mathcal P_d]` (envelope theorem), bracketed on :math:`d = 2^j` and
  solved with Brent's method (no grid search in d: the glitches of note §3.5 do not arise).
* k-RSB: :math:`\mathcal P_d` is minimised with L-BFGS-B over box-constrained nested fractions
  (:math:`q_{i-1} = s_{i-1}q_i`, :math:`m_{i-1} = t_{i-1}m_i`) from several starts — bands above the RS
  overlap, every way of adding a step to the (k−1)-RSB solution, and the continuous x(q) on its band —
  then polished by trust-region Newton with the exact Hessian. The functional is a JAX function of
  (q, m) and of the *values* :math:`G(q_i), G_q(q_i), G_{qq}(q_i)`, compiled once per k for every
  covariance. In A the sup over d again solves the envelope equation.
* Classification (:func:`classify`): the largest k whose k-RSB solution strictly improves with k distinct
  steps, plus the continuous-band test for narrow FRSB bands (note §7 item 4).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq, minimize, minimize_scalar
from threadpoolctl import threadpool_limits

from ..errors import NNFTInputError, check_positive_int
from ..hamiltonian import Covariance, hamiltonian_covariance, norm_preserving_sw2

__all__ = [
    "CONVENTIONS",
    "ReplicaSolution",
    "ATPoint",
    "StaticTransition",
    "GroundState",
    "Classification",
    "solve",
    "solve_rs",
    "solve_krsb",
    "free_entropy",
    "energy",
    "replicon",
    "at_point",
    "static_transition",
    "ground_state_energy",
    "entropy_curve",
    "entropy_at_energy",
    "continuous_parisi_x",
    "continuous_rsb_fraction",
    "classify",
    "classification_table",
    "format_table",
]

CONVENTIONS = ("A", "B")
_ALIASES = {"a": "A", "gaussian": "A", "gauss": "A", "b": "B", "sphere": "B", "spherical": "B"}
_S_TOP = 1.0 - 1e-13  # q_k / d < 1
_T_MIN = 1e-9  # smallest ratio m_{i-1}/m_i


# ============================================================================ BLAS threads
@contextlib.contextmanager
def _single_threaded_blas():
    """Run SciPy's small optimisers with one BLAS thread (restored afterwards, via threadpoolctl).

    L-BFGS-B on 3–9 variables spends most of its time waking OpenBLAS threads when the machine is
    loaded (measured 3–5 ms per iteration instead of ~0.1 ms).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _blas1(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper


# ============================================================================ validation
def _convention(convention: Any) -> str:
    if isinstance(convention, str) and convention.strip().lower() in _ALIASES:
        return _ALIASES[convention.strip().lower()]
    raise NNFTInputError("convention", f"unknown convention {convention!r}; allowed: 'A' (Gaussian reference), 'B' (sphere)")


def _beta(beta: Any) -> float:
    try:
        b = float(beta)
    except (TypeError, ValueError):
        raise NNFTInputError("beta", f"must be a real number, got {beta!r}") from None
    if not math.isfinite(b) or b <= 0:
        raise NNFTInputError("beta", f"inverse temperature must be finite and > 0, got {b!r}")
    return b


def _cov(cov: Any) -> Covariance:
    if not isinstance(cov, Covariance):
        raise NNFTInputError(
            "cov", "must be a Covariance (nnft.hamiltonian.hamiltonian_covariance(...) or mixed_pspin(...))"
        )
    return cov


def _k(k: Any) -> int:
    return check_positive_int("k", k, minimum=0)


# ============================================================================ results
@dataclass(frozen=True)
class ReplicaSolution:
    r"""A k-RSB saddle point (k = 0: RS).

    ``q`` holds the breakpoints :math:`q_0 \le \dots \le q_k` (RS: the single overlap q), ``m`` the
    Parisi parameters :math:`m_1 \le \dots \le m_k` (empty for RS). ``replicon`` is
    :math:`1 - \beta^2 G_{qq}(q_k; d)(d - q_k)^2`, the replicon eigenvalue of the top block (for RS the
    AT stability: RS is stable iff > 0).
    """

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
    cov_name: str = ""

    @property
    def temperature(self) -> float:
        return 1.0 / self.beta

    def x(self, q: Any) -> np.ndarray:
        """The Parisi CDF x(q) of this solution (a step function on [0, d])."""
        q = np.asarray(q, dtype=float)
        out = np.zeros_like(q)
        levels = np.concatenate([self.m, [1.0]])
        for qi, level in zip(self.q, levels):
            out = np.where(q >= qi, level, out)
        return out

    def distinct_steps(self, q_tol: float = 1e-4, m_tol: float = 1e-5) -> int:
        """Number of RSB steps that are not degenerate: breakpoints apart by more than ``q_tol``·d and
        Parisi parameters (with :math:`m_{k+1} = 1`) apart by more than ``m_tol``."""
        n = 0
        for i in range(1, self.k + 1):
            dq = (self.q[i] - self.q[i - 1]) / self.d
            dm = (self.m[i] if i < self.k else 1.0) - self.m[i - 1]
            if dq > q_tol and dm > m_tol:
                n += 1
        return n


@dataclass(frozen=True)
class ATPoint:
    r"""De Almeida–Thouless point of the RS branch (note §3.3): :math:`\beta^2G_{qq}(d-q)^2 = 1`.

    ``x_star`` :math:`= G_{qqq}/(2\beta G_{qq}^{3/2})` at q*, ``x_increasing`` whether :math:`G_{qq}^{-1/2}` is
    concave at q*; the RSB onset is continuous iff ``x_star < 1`` and ``x_increasing`` (note §3.3).
    """

    convention: str
    beta: float
    d: float
    q: float
    energy: float
    entropy: float
    x_star: float
    x_increasing: bool

    @property
    def temperature(self) -> float:
        return 1.0 / self.beta

    @property
    def t(self) -> float:
        """q*/d."""
        return self.q / self.d

    @property
    def continuous(self) -> bool:
        return bool(self.x_star < 1.0 and self.x_increasing)


@dataclass(frozen=True)
class StaticTransition:
    r"""Discontinuous RS → 1RSB transition (m = 1; CS 1992): the first β where
    :math:`\max_{q_1} \partial_m\mathcal P^{1RSB}|_{m=1} = 0`, with the 1RSB overlap :math:`q_1` there."""

    convention: str
    beta: float
    d: float
    q0: float
    q1: float

    @property
    def temperature(self) -> float:
        return 1.0 / self.beta


@dataclass(frozen=True)
class GroundState:
    """Zero-temperature limit (note §3.4). ``energies[k]`` is the k-RSB value; ``energy`` the best (largest)."""

    convention: str
    energy: float
    k: int
    energies: tuple[float, ...]
    d: float
    q: np.ndarray
    mu: np.ndarray
    chi: float
    bounded: bool = True


@dataclass(frozen=True)
class Classification:
    r"""RS / 1RSB / FRSB at one β (note §7 items 6–7).

    ``gains[k-1]`` :math:`= \phi_{k-1} - \phi_k \ge 0`; ``phase`` is ``"RS"`` (replicon-stable and no
    1RSB gain), ``"1RSB"`` (gains vanish after k = 1: the 2..k-RSB solutions collapse onto one step), or
    ``"FRSB"`` (gains keep decaying and breakpoints fill an interval). ``concave_fraction`` is the
    fraction of the top solution's support on which :math:`G_{qq}^{-1/2}` is concave (where a
    continuous Parisi measure is admissible).
    """

    convention: str
    beta: float
    phase: str
    replicon: float
    gains: tuple[float, ...]
    solutions: tuple[ReplicaSolution, ...]
    concave_fraction: float
    reason: str = ""


# ============================================================================ compiled cores
def _unpack_nested(z, d, k: int):
    """Nested fractions → (q, m): q_k = d s_k, q_i = q_{i+1} s_i; m_k = t_k, m_i = m_{i+1} t_i (JAX)."""
    s, t = z[: k + 1], z[k + 1 :]
    qs = [None] * (k + 1)
    qs[k] = d * s[k]
    for i in range(k - 1, -1, -1):
        qs[i] = qs[i + 1] * s[i]
    ms = [None] * k
    if k:
        ms[k - 1] = t[k - 1]
        for i in range(k - 2, -1, -1):
            ms[i] = ms[i + 1] * t[i]
    return jnp.stack(qs), (jnp.stack(ms) if k else jnp.zeros(0))


@functools.lru_cache(maxsize=None)
def _core(k: int) -> dict[str, Any]:
    r"""The k-RSB CS functional as a JAX function of (q, m) and of the *values* G(q_i), ∂_qG(q_i), D.

    Independent of the covariance, so it is compiled once per k: the covariance enters through
    ``G + G_q (q - stop_gradient(q))``, whose value is G and whose q-gradient is :math:`G_q`.
    """

    def unpack(z, d):
        return _unpack_nested(z, d, k)

    def logs(q, m, d):
        lam = d - q[k]
        out = jnp.log(lam / d)
        for i in range(k, 0, -1):
            dq = q[i] - q[i - 1]
            out = out + jnp.log1p(m[i - 1] * dq / lam) / m[i - 1]
            lam = lam + m[i - 1] * dq
        return out + q[0] / lam

    def energy_integral(m, G, D):
        E = D - G[k]
        for i in range(1, k + 1):
            E = E + m[i - 1] * (G[i] - G[i - 1])
        return E

    def P(q, m, G, D, d, beta):
        E = energy_integral(m, G, D)
        return 0.5 * (beta**2 * E + logs(q, m, d)), E

    def P_z(z, d, beta, G, Gq, D):
        q, m = unpack(z, d)
        return P(q, m, G + Gq * (q - jax.lax.stop_gradient(q)), D, d, beta)

    def P_v(v, d, beta, G, Gq, Gqq, D):  # v = (q, m); G quadratic around the current q (exact Hessian)
        q, m = v[: k + 1], v[k + 1 :]
        dq = q - jax.lax.stop_gradient(q)
        return P(q, m, G + Gq * dq + 0.5 * Gqq * dq**2, D, d, beta)[0]

    return {
        "unpack": jax.jit(unpack),
        "vg": jax.jit(jax.value_and_grad(P_z, has_aux=True)),
        "P": jax.jit(P),
        "dlogs_dd": jax.jit(jax.grad(logs, argnums=2)),
        "grad_v": jax.jit(jax.grad(P_v)),
        "hess_v": jax.jit(jax.hessian(P_v)),
    }


@_blas1
def _newton_polish(cov: Covariance, q: np.ndarray, m: np.ndarray, d: float, beta: float, iters: int = 200):
    r"""Trust-region Newton (exact Hessian) on :math:`\mathcal P_d` in (q, m) for an interior k-RSB solution
    (distinct breakpoints and Parisi parameters; q_0 stays at 0 when it is there). Steps leaving the ordered
    region count as infinitely bad, so the trust region shrinks instead. Returns the better of start and result."""
    k = len(m)
    if k == 0:
        return q, m
    core = _core(k)
    D = float(cov.diag(d))
    free = np.ones(2 * k + 1, bool)
    if q[0] <= 1e-14 * d:
        free[0] = False
    gaps = np.diff(np.concatenate([q, [d]]))[int(not free[0]):]
    if gaps.min() < 1e-9 * d or np.diff(np.concatenate([[0.0], m, [1.0]])).min() < 1e-9:
        return q, m  # degenerate (collapsed) solution: flat directions, nothing to polish
    v0 = np.concatenate([q, m])

    def full(x):
        v = v0.copy()
        v[free] = x
        return v

    def admissible(v):
        qq, mm = v[: k + 1], v[k + 1 :]
        return bool(qq[0] >= 0 and np.all(np.diff(qq) > 0) and qq[-1] < d and mm[0] > 0
                    and np.all(np.diff(mm) > 0) and mm[-1] < 1)

    def parts(x):
        v = full(x)
        qq = v[: k + 1]
        G, Gq = cov.xi_and_q(qq, d)
        return v, (d, beta, G, Gq, cov.xi_qq(qq, d), D)

    def fun(x):
        v = full(x)
        if not admissible(v):
            return np.inf
        qq, mm = v[: k + 1], v[k + 1 :]
        return float(core["P"](jnp.asarray(qq), jnp.asarray(mm), jnp.asarray(cov.xi(qq, d)), D, d, beta)[0])

    def jac(x):
        v, args = parts(x)
        return np.asarray(core["grad_v"](jnp.asarray(v), *args))[free]

    def hess(x):
        v, args = parts(x)
        return np.asarray(core["hess_v"](jnp.asarray(v), *args))[np.ix_(free, free)]

    x0 = v0[free]
    f0 = fun(x0)
    try:
        res = minimize(fun, x0, jac=jac, hess=hess, method="trust-exact",
                       options={"gtol": 1e-13 * max(1.0, beta**2), "maxiter": iters, "initial_trust_radius": 1e-3 * d})
    except (ValueError, np.linalg.LinAlgError):
        return q, m
    if not np.isfinite(res.fun) or res.fun > f0:
        return q, m
    v = full(res.x)
    return v[: k + 1], v[k + 1 :]


@functools.lru_cache(maxsize=256)
def _derivs(cov: Covariance) -> Any:
    """(G_q, G_qq, G_qqq, G_qqqq) at (q, d), jitted and vectorised."""
    return jax.jit(jnp.vectorize(lambda q, d: jnp.stack([cov.jax_dG(q, d, n) for n in (1, 2, 3, 4)]), signature="(),()->(n)"))


def _shell(d: float) -> float:
    return 0.5 * (math.log(d) - d + 1.0)


def _shell_d(d: float) -> float:
    return 0.5 * (1.0 / d - 1.0)


def _coeffs(m: np.ndarray) -> np.ndarray:
    """E = D + Σ_i c_i G(q_i) with c_i = m_i − m_{i+1} (m_0 = 0, m_{k+1} = 1)."""
    mm = np.concatenate([[0.0], m, [1.0]])
    return mm[:-1] - mm[1:]


def _dPhi_dd(cov: Covariance, q: np.ndarray, m: np.ndarray, d: float, beta: float) -> float:
    r"""Envelope derivative :math:`\partial_d[\text{shell} + \mathcal P_d]` at fixed (q, m) (convention A)."""
    core = _core(len(m))
    Gd = cov.xi_d(q, d)
    dE = float(cov.diag_d(d)) + float(np.dot(_coeffs(m), Gd))
    return _shell_d(d) + 0.5 * beta**2 * dE + 0.5 * float(core["dlogs_dd"](jnp.asarray(q), jnp.asarray(m), d))


# ============================================================================ RS
_RS_GRID = np.concatenate([np.linspace(0.0, 0.99, 100), 1.0 - np.logspace(-2.05, -13, 60)])


def _rs_inner(cov: Covariance, d: float, beta: float) -> tuple[float, float]:
    r"""RS at fixed d: :math:`\min_{q\in[0,d)}\mathcal P^{RS}_d(q)`, with
    :math:`2\partial_q\mathcal P^{RS}_d = q/(d-q)^2 - \beta^2G_q(q;d)` (note §3.2)."""
    D = float(cov.diag(d))
    qg = d * _RS_GRID
    G, Gq = cov.xi_and_q(qg, d)
    f = qg / (d - qg) ** 2 - beta**2 * Gq

    def P(q, Gv):
        return 0.5 * (beta**2 * (D - Gv) + np.log1p(-q / d) + q / (d - q))

    def fq(x):
        return x / (d - x) ** 2 - beta**2 * float(cov.xi_q(x, d))

    cands = []
    if f[0] >= 0 and f[1] > 0:
        cands.append(0.0)  # q = 0 stationary (no p = 1 field) and a local minimum
    for j in np.nonzero((f[:-1] < 0) & (f[1:] >= 0))[0]:
        cands.append(brentq(fq, qg[j], qg[j + 1], xtol=1e-15 * d, rtol=1e-15))
    if not cands:
        cands.append(float(qg[np.argmin(P(qg, G))]))
    cands = np.asarray(cands)
    vals = P(cands, cov.xi(cands, d))
    i = int(np.argmin(vals))
    return float(cands[i]), float(vals[i])


def _rs_g(cov: Covariance, d: float, beta: float) -> tuple[float, float, float]:
    r"""(∂_dΦ at the inner RS optimum, q*, Φ) in convention A; Φ = shell + P^RS (note §3.2, ∂_d equation)."""
    q, P = _rs_inner(cov, d, beta)
    g = _dPhi_dd(cov, np.array([q]), np.zeros(0), d, beta)
    return g, q, _shell(d) + P


def _solve_rs_A(cov: Covariance, beta: float) -> tuple[float, float]:
    r"""sup over d of the RS free entropy (A): scan :math:`d = 2^j`, bracket the sign changes of
    :math:`\partial_d\Phi`, solve each with Brent's method, keep the largest Φ."""
    grid = np.log(2.0) * np.arange(-6, 41)
    gs, roots = [], []
    for j, ld in enumerate(grid):
        gs.append(_rs_g(cov, math.exp(ld), beta)[0])
        if j and gs[-2] > 0 and gs[-1] <= 0:
            roots.append((grid[j - 1], ld))
        if roots and len(gs) > 4 and all(x < 0 for x in gs[-4:]):
            break
    if not roots:
        raise RuntimeError(f"no RS saddle in d found for {cov.name} at beta={beta}")
    best = None
    for a, b in roots:
        ld = brentq(lambda x: _rs_g(cov, math.exp(x), beta)[0], a, b, xtol=1e-15, rtol=1e-15)
        d = math.exp(ld)
        _, q, Phi = _rs_g(cov, d, beta)
        if best is None or Phi > best[2]:
            best = (q, d, Phi)
    return best[0], best[1]


def _bracket_decreasing_root(g, x0: float, h: float, grow: float, max_steps: int, what: str) -> tuple[float, float]:
    """Expand [a, b] geometrically from x0 until g(a) > 0 ≥ g(b) (g decreasing through its root): the
    bracket handed to Brent's method for the sup over log d. ``g`` may be memoised by the caller."""
    a = b = x0
    ga = gb = g(a)
    for _ in range(max_steps):
        if ga > 0 and gb <= 0:
            return a, b
        if ga <= 0:
            b, gb = a, ga
            a -= h
            ga = g(a)
        else:
            a, ga = b, gb
            b += h
            gb = g(b)
        h *= grow
    raise RuntimeError(f"no {what} bracketed")


def _make_solution(cov, convention, beta, k, q, m, d) -> ReplicaSolution:
    q, m = np.asarray(q, float), np.asarray(m, float)
    P, E = _core(k)["P"](jnp.asarray(q), jnp.asarray(m), jnp.asarray(cov.xi(q, d)), float(cov.diag(d)), d, beta)
    phi = float(P) + (_shell(d) if convention == "A" else 0.0)
    e = -beta * float(E)
    rep = 1.0 - beta**2 * float(cov.xi_qq(q[-1], d)) * (d - q[-1]) ** 2
    return ReplicaSolution(
        convention=convention, beta=beta, k=k, phi=phi, energy=e, entropy=phi + beta * e, d=float(d),
        q=q, m=m, replicon=float(rep), cov_name=cov.name,
    )


def solve_rs(cov: Covariance, beta: float, convention: str = "A") -> ReplicaSolution:
    r"""Replica-symmetric saddle (note §3.2): :math:`q/(d-q)^2 = \beta^2G_q(q;d)` and, in A, the d equation
    :math:`\frac1{d-q} - \frac{q}{(d-q)^2} - 1 + \beta^2\partial_d[G(d;d) - G(q;d)] = 0`.

    Among several RS stationary points the one minimising :math:`\mathcal P_d` (then maximising over d
    in A) is returned. Linear nets: :math:`d = 1+\beta^2b`, :math:`q = \beta^2 b` (A) and
    :math:`q/(1-q)^2 = \beta^2 b` (B), note §7 item 3.
    """
    cov, beta, convention = _cov(cov), _beta(beta), _convention(convention)
    if convention == "B":
        q, _ = _rs_inner(cov, 1.0, beta)
        d = 1.0
    else:
        q, d = _solve_rs_A(cov, beta)
    return _make_solution(cov, convention, beta, 0, np.array([q]), np.zeros(0), d)


# ============================================================================ k-RSB
def _to_z(q: np.ndarray, m: np.ndarray, d: float, s_top: float = _S_TOP) -> np.ndarray:
    """Inverse of the nested-fraction map: s_k = q_k/d, s_i = q_i/q_{i+1}; t_k = m_k, t_i = m_i/m_{i+1}."""
    k = len(m)
    q = np.clip(np.maximum.accumulate(np.clip(np.asarray(q, float), 0, None)), 0, d * s_top)
    m = np.clip(np.maximum.accumulate(np.clip(np.asarray(m, float), 1e-8, 1.0)), 1e-8, 1.0)
    s = np.empty(k + 1)
    s[k] = q[k] / d
    for i in range(k):
        s[i] = q[i] / q[i + 1] if q[i + 1] > 0 else 0.0
    t = np.empty(k)
    if k:
        t[k - 1] = m[k - 1]
        for i in range(k - 1):
            t[i] = m[i] / m[i + 1]
    z = np.concatenate([s, t])
    lo, hi = np.array(_bounds(k, s_top)).T
    return np.clip(z, lo, hi)


def _bounds(k: int, s_top: float = _S_TOP) -> list[tuple[float, float]]:
    return [(0.0, 1.0)] * k + [(0.0, s_top)] + [(_T_MIN, 1.0)] * k


@_blas1
def _minimise_z(cov: Covariance, k: int, z0: np.ndarray, d: float, beta: float) -> tuple[float, np.ndarray]:
    """L-BFGS-B on the nested fractions z (box constraints keep 0 ≤ q_0 ≤ … ≤ q_k < d, 0 < m_1 ≤ … ≤ m_k ≤ 1)."""
    core = _core(k)
    D = float(cov.diag(d))

    def f(z):
        q, _ = core["unpack"](jnp.asarray(z), d)
        G, Gq = cov.xi_and_q(np.asarray(q), d)
        (val, _), g = core["vg"](jnp.asarray(z), d, beta, G, Gq, D)
        val, g = float(val), np.asarray(g, dtype=float)
        if not np.isfinite(val) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(z)
        return val, g

    res = minimize(f, z0, jac=True, method="L-BFGS-B", bounds=_bounds(k),
                   options={"maxiter": 3000, "ftol": 1e-16, "gtol": 1e-13, "maxcor": 10})
    return float(res.fun), np.asarray(res.x)


def _starts(
    k: int, d: float, q_rs: float, beta: float, prev: ReplicaSolution | None, cov: Covariance | None = None
) -> list[np.ndarray]:
    """Starting points: bands of k steps above the RS overlap, and every way of adding one step to the
    (k−1)-RSB solution ``prev`` (split step j, a new top step, a uniform band over its support, and the
    continuous Parisi x(q) = G_qqq/(2β G_qq^{3/2}) sampled on that band, where it is admissible)."""
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
        pm = np.concatenate([[0.0], prev.m, [1.0]])  # x-levels below q_0, on each step, above q_k
        for j in range(k):  # split the step [q_{j-1}, q_j) (j = 0: below q_0) into two
            lo_q = pq[j - 1] if j > 0 else 0.5 * pq[0]
            q = np.sort(np.insert(pq, j, 0.5 * (lo_q + pq[j]) if j > 0 else lo_q))
            m = np.sort(np.insert(prev.m, j, 0.5 * (pm[j] + pm[j + 1])))
            starts.append(_to_z(q, m, d))
        q = np.append(pq, pq[-1] + 0.5 * (d - pq[-1]))  # a new top step
        m = np.append(prev.m, 0.5 * (pm[-2] + 1.0))
        starts.append(_to_z(q, m, d))
        if k >= 2:  # k levels spread uniformly over the previous support and x-range
            q = np.linspace(pq[0], pq[-1], k + 1)
            m = np.linspace(prev.m[0], prev.m[-1], k) if k > 1 else prev.m
            starts.append(_to_z(q, m, d))
            if cov is not None and pq[-1] - pq[0] > 1e-9 * d:  # the continuous solution on the band
                x, _ = continuous_parisi_x(cov, beta, 0.5 * (q[1:] + q[:-1]), d)
                if np.all(np.isfinite(x)) and np.all(x > 0) and np.all(x < 1):
                    starts.append(_to_z(q, np.sort(x), d))
                # keep the steps below the region where G_qq^{-1/2} is concave, refine that region with
                # the continuous x(q) (mixed "steps + continuous band" structures)
                grid = np.linspace(pq[0], pq[-1], 65)
                _, xp = continuous_parisi_x(cov, beta, grid, d)
                bad = np.nonzero(~(xp > 0))[0]
                a = grid[bad[-1] + 1] if bad.size and bad[-1] + 1 < grid.size else grid[0]
                lows = pq[pq < a]
                n = k + 1 - lows.size
                if bad.size and n >= 2 and pq[-1] - a > 1e-6 * d:
                    q = np.concatenate([lows, np.linspace(a, pq[-1], n)])
                    mid = 0.5 * (q[1:] + q[:-1])
                    xc, _ = continuous_parisi_x(cov, beta, mid, d)
                    m = np.where(mid >= a, xc, prev.x(mid))
                    m = np.maximum.accumulate(m) + 1e-6 * np.arange(m.size)  # break ties (Newton needs m_i < m_{i+1})
                    if np.all(np.isfinite(m)) and np.all(m > 0) and np.all(m < 1):
                        starts.append(_to_z(q, m, d))
    return starts


def _P_value(cov: Covariance, q: np.ndarray, m: np.ndarray, d: float, beta: float) -> float:
    core = _core(len(m))
    return float(core["P"](jnp.asarray(q), jnp.asarray(m), jnp.asarray(cov.xi(q, d)), float(cov.diag(d)), d, beta)[0])


def _inner_krsb(cov, k, d, beta, starts) -> tuple[float, np.ndarray, np.ndarray]:
    """Best k-RSB minimum of P_d over the starts (L-BFGS-B from each), then trust-region Newton on the
    winner. Returns (P, q, m)."""
    core = _core(k)
    best = None
    for z0 in starts:
        val, z = _minimise_z(cov, k, z0, d, beta)
        if best is None or val < best[0]:
            best = (val, z)
    q, m = (np.asarray(a) for a in core["unpack"](jnp.asarray(best[1]), d))
    q, m = _newton_polish(cov, q, m, d, beta)
    return _P_value(cov, q, m, d, beta), q, m


def solve_krsb(
    cov: Covariance,
    beta: float,
    k: int,
    convention: str = "A",
    *,
    rs: ReplicaSolution | None = None,
    previous: ReplicaSolution | None = None,
) -> ReplicaSolution:
    r"""k-step RSB saddle of the CS functional (note §3.2, §3.5); k = 0 is :func:`solve_rs`.

    Minimises :math:`\mathcal P_d` over k-step Parisi functions from several starts (including every
    way of adding one step to the (k−1)-RSB solution ``previous``); in A the sup over d is the root of
    :math:`\partial_d(\text{shell} + \mathcal P_d)` at the inner optimum (envelope theorem), by Brent's method.
    """
    cov, beta, convention, k = _cov(cov), _beta(beta), _convention(convention), _k(k)
    if k == 0:
        return solve_rs(cov, beta, convention)
    rs = rs if rs is not None else solve_rs(cov, beta, convention)
    core = _core(k)
    d0 = previous.d if (previous is not None and previous.k == k - 1) else rs.d
    starts = _starts(k, d0, float(rs.q[0]) * d0 / rs.d, beta, previous, cov)
    if convention == "B":
        _, q, m = _inner_krsb(cov, k, 1.0, beta, starts)
        return _make_solution(cov, "B", beta, k, q, m, 1.0)

    # convention A: outer sup over d, inner solves warm-started from the previous d (memoised, so that
    # re-evaluations at the bracket ends agree with the scan)
    _, q0, m0 = _inner_krsb(cov, k, d0, beta, starts)
    state = {"z": _to_z(q0, m0, d0)}
    memo: dict[float, tuple[float, float, np.ndarray]] = {}

    def inner(ld: float) -> tuple[float, float, np.ndarray]:
        if ld not in memo:
            d = math.exp(ld)
            val, z = _minimise_z(cov, k, state["z"], d, beta)
            state["z"] = z
            q, m = (np.asarray(x) for x in core["unpack"](jnp.asarray(z), d))
            memo[ld] = (d * _dPhi_dd(cov, q, m, d, beta), _shell(d) + val, z)
        return memo[ld]

    def g(ld: float) -> float:
        return inner(ld)[0]

    a, b = _bracket_decreasing_root(g, math.log(d0), 0.02, 2.0, 40, f"{k}-RSB saddle in d for {cov.name} at beta={beta}")
    ld = brentq(g, a, b, xtol=1e-14, rtol=1e-15)
    if abs(g(ld)) > 1e-8 * max(1.0, beta**2):  # inner optimum jumped inside the bracket: maximise Φ* directly
        res = minimize_scalar(lambda x: -inner(x)[1], bounds=(a, b), method="bounded", options={"xatol": 1e-10})
        ld = float(res.x)
    d = math.exp(ld)
    z = inner(ld)[2]
    q, m = (np.asarray(x) for x in core["unpack"](jnp.asarray(z), d))
    q, m = _newton_polish(cov, q, m, d, beta)
    return _make_solution(cov, "A", beta, k, q, m, d)


def solve(cov: Covariance, beta: float, k: int = 0, convention: str = "A") -> ReplicaSolution:
    """RS (k = 0) or k-RSB saddle, building 1..k-RSB successively (each seeds the next)."""
    cov, beta, convention, k = _cov(cov), _beta(beta), _convention(convention), _k(k)
    sol = solve_rs(cov, beta, convention)
    rs = sol
    for j in range(1, k + 1):
        sol = solve_krsb(cov, beta, j, convention, rs=rs, previous=sol)
    return sol


def free_entropy(cov: Covariance, beta: float, convention: str = "A", k: int = 0) -> float:
    r""":math:`\phi(\beta) = \lim N_0^{-1}\mathbb E\log Z_\beta` in the k-RSB approximation (an upper bound)."""
    return solve(cov, beta, k, convention).phi


def energy(cov: Covariance, beta: float, convention: str = "A", k: int = 0) -> float:
    r"""Energy density :math:`e = -\partial_\beta\phi`."""
    return solve(cov, beta, k, convention).energy


def replicon(cov: Covariance, beta: float, convention: str = "A") -> float:
    r"""RS replicon :math:`1 - \beta^2 G_{qq}(q;d)(d-q)^2` at the RS saddle (note §3.3); < 0 means AT-unstable."""
    return solve_rs(cov, beta, convention).replicon


# ============================================================================ AT line
def continuous_parisi_x(cov: Covariance, beta: float, q: Any, d: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Continuous-RSB Parisi function :math:`x(q) = G_{qqq}/(2\beta G_{qq}^{3/2})` and its slope
    :math:`x'(q) = (G_{qqqq}G_{qq} - \tfrac32G_{qqq}^2)/(2\beta G_{qq}^{5/2})` (note §3.2)."""
    beta = _beta(beta)
    D = np.asarray(_derivs(_cov(cov))(jnp.asarray(q, float), jnp.asarray(float(d))))
    G2, G3, G4 = D[..., 1], D[..., 2], D[..., 3]
    with np.errstate(divide="ignore", invalid="ignore"):  # G_qq = 0 (e.g. q = 0 without a 2-spin part): x = inf
        x = G3 / (2 * beta * G2**1.5)
        xp = (G4 * G2 - 1.5 * G3**2) / (2 * beta * G2**2.5)
    return x, xp


def at_point(
    cov: Covariance, convention: str = "A", *, beta_min: float = 0.05, beta_max: float = 100.0, n_grid: int = 48
) -> ATPoint | None:
    r"""First β along the RS branch where the replicon vanishes (de Almeida–Thouless; note §3.3).

    Scans a geometric β grid in [beta_min, beta_max], then refines with Brent's method. Returns None if
    RS stays replicon-stable on the whole range (e.g. linear nets, or the sphere when
    :math:`\xi''(1) \le \xi'(1)`, note §3.4).
    """
    cov, convention = _cov(cov), _convention(convention)
    betas = np.geomspace(_beta(beta_min), _beta(beta_max), n_grid)
    prev = None
    for b in betas:
        r = solve_rs(cov, b, convention).replicon
        if r < 0:
            break
        prev = b
    else:
        return None
    if prev is None:
        raise NNFTInputError("beta_min", f"RS is already unstable at beta_min={beta_min}; lower it")
    b_at = brentq(lambda x: solve_rs(cov, x, convention).replicon, prev, b, xtol=1e-12, rtol=1e-12)
    sol = solve_rs(cov, b_at, convention)
    x, _ = continuous_parisi_x(cov, b_at, sol.q[0], sol.d)
    # slope just above q* (the band grows upward from q*; exactly at an inflection, e.g. erf, x' = 0)
    _, xp = continuous_parisi_x(cov, b_at, sol.q[0] + 1e-4 * (sol.d - sol.q[0]), sol.d)
    return ATPoint(convention=convention, beta=float(b_at), d=sol.d, q=float(sol.q[0]), energy=sol.energy,
                   entropy=sol.entropy, x_star=float(x), x_increasing=bool(xp > 0))


# ============================================================================ static (m = 1) transition
def _static_A(cov, beta, convention, grid_only=False):
    r""":math:`\max_{q_1} \partial_m\mathcal P^{1RSB}|_{m=1}` at the RS (q_0, d) of this β."""
    rs = solve_rs(cov, beta, convention)
    q0, d = float(rs.q[0]), rs.d
    # q1 at least 2% of the way from q0 to d: a *discontinuous* jump (q1 -> q0 is the AT instability)
    u = np.concatenate([np.linspace(0.02, 1, 200)[:-1], 1 - np.logspace(-2.4, -12, 40)])
    q1 = q0 + (d - q0) * u
    G = cov.xi(np.concatenate([[q0], q1]), d)
    L0 = d - q0

    def A(G1, q1):
        return 0.5 * (beta**2 * (G1 - G[0]) - np.log(L0 / (d - q1)) + (q1 - q0) / L0 - q0 * (q1 - q0) / L0**2)

    vals = A(G[1:], q1)
    j = int(np.argmax(vals))
    if grid_only:
        return float(vals[j]), float(q1[j]), q0, d
    lo, hi = q1[max(j - 1, 0)], q1[min(j + 1, len(q1) - 1)]
    res = minimize_scalar(lambda x: -A(float(cov.xi(x, d)), x), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-13 * d})
    return float(-res.fun), float(res.x), q0, d


def static_transition(
    cov: Covariance, convention: str = "B", *, beta_min: float = 0.05, beta_max: float = 100.0, n_grid: int = 48
) -> StaticTransition | None:
    r"""Discontinuous RS → 1RSB ("static") transition with m = 1 (Crisanti–Sommers 1992; note §3.3).

    At m = 1 the 1RSB functional equals the RS one for every :math:`q_1`; 1RSB wins when
    :math:`A(q_1) = \partial_m\mathcal P^{1RSB}|_{m=1}
    = \tfrac12[\beta^2(G(q_1) - G(q_0)) - \log\frac{d-q_0}{d-q_1} + \frac{q_1-q_0}{d-q_0} - \frac{q_0(q_1-q_0)}{(d-q_0)^2}]`
    becomes positive for some :math:`q_1 > q_0` ((q_0, d) from the RS saddle). Pure p-spin (:math:`\xi = q^p/2`,
    :math:`q_0 = 0`, d = 1): :math:`\beta^2\xi(q) + \log(1-q) + q = 0 = \beta^2\xi'(q) - q/(1-q)`, giving
    :math:`T_s = 0.5861`, :math:`q_1 = 0.645` for p = 3. Returns None if no such β ≤ beta_max exists.
    Only jumps :math:`q_1 - q_0 \ge 0.02(d - q_0)` are searched; past the AT point (:func:`at_point`) RS is
    unstable anyway, so the RSB onset is :math:`\min(\beta_{AT}, \beta_s)`.
    """
    cov, convention = _cov(cov), _convention(convention)
    betas = np.geomspace(_beta(beta_min), _beta(beta_max), n_grid)
    prev = None
    for b in betas:
        if _static_A(cov, b, convention, grid_only=True)[0] > 0:
            break
        prev = b
    else:
        return None
    if prev is None:
        raise NNFTInputError("beta_min", f"1RSB already wins at beta_min={beta_min}; lower it")
    bs = brentq(lambda x: _static_A(cov, x, convention)[0], prev, b, xtol=1e-12, rtol=1e-12)
    _, q1, q0, d = _static_A(cov, bs, convention)
    return StaticTransition(convention=convention, beta=float(bs), d=d, q0=q0, q1=q1)


# ============================================================================ ground state
@functools.lru_cache(maxsize=None)
def _gs_core(k: int) -> dict[str, Any]:
    r"""Zero-temperature CS functional (module docstring) in y = (log χ, log μ-increments, fractions s),
    as a function of the values G(q_i), G_q(q_i) (q_k = d: pass G_k = D(d)) and :math:`G_q(d; d)`."""

    def unpack(y, d):
        chi = jnp.exp(y[0])
        mu = jnp.cumsum(jnp.exp(y[1 : k + 1])) if k else jnp.zeros(0)
        s = y[k + 1 :]
        qs = [None] * (k + 1)
        qs[k] = jnp.asarray(d, float)
        for i in range(k - 1, -1, -1):
            qs[i] = qs[i + 1] * s[i]
        return jnp.stack(qs), mu, chi

    def Z(y, d, G, Gq, gq_top):
        q, mu, chi = unpack(y, d)
        G = G + Gq * (q - jax.lax.stop_gradient(q))
        val = gq_top * chi
        c = chi
        for i in range(k, 0, -1):
            dq = q[i] - q[i - 1]
            val = val + mu[i - 1] * (G[i] - G[i - 1]) + jnp.log1p(mu[i - 1] * dq / c) / mu[i - 1]
            c = c + mu[i - 1] * dq
        return 0.5 * (val + q[0] / c)

    return {"unpack": jax.jit(unpack), "vg": jax.jit(jax.value_and_grad(Z)), "Z": jax.jit(Z)}


@_blas1
def _gs_sphere(cov: Covariance, k: int, d: float, prev=None) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Minimum of the T = 0 CS functional on the sphere of radius² d: (min, q, mu, chi)."""
    gq_top = float(cov.xi_q(d, d))
    if k == 0:
        return math.sqrt(d * gq_top), np.array([d]), np.zeros(0), math.sqrt(d / gq_top)
    core = _gs_core(k)
    D = float(cov.diag(d))

    def values(y):
        q, _, _ = core["unpack"](jnp.asarray(y), d)
        q = np.asarray(q)
        G, Gq = cov.xi_and_q(q[:-1], d)
        return np.append(G, D), np.append(Gq, 0.0)

    def f(y):
        G, Gq = values(y)
        val, g = core["vg"](jnp.asarray(y), d, G, Gq, gq_top)
        val, g = float(val), np.asarray(g, float)
        if not np.isfinite(val) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(y)
        return val, g

    starts = []
    for mu0, chi0, frac in [(1.0, 0.5, 0.5), (3.0, 0.3, 0.8), (0.5, 1.0, 0.3), (10.0, 0.1, 0.9)]:
        mus = mu0 * np.arange(1, k + 1)
        s = np.full(k, frac ** (1.0 / k))
        starts.append(np.concatenate([[math.log(chi0)], np.log(np.diff(np.concatenate([[0.0], mus]))), s]))
    if prev is not None and len(prev[2]) == k - 1 and k >= 2:  # add a bottom step to the (k-1)-RSB solution
        _, pq, pmu, pchi = prev
        q = np.insert(pq, 0, 0.5 * pq[0])
        mu = np.insert(pmu, 0, 0.5 * pmu[0])
        s = np.where(q[1:] > 0, q[:-1] / np.where(q[1:] > 0, q[1:], 1.0), 0.0)
        starts.append(np.concatenate([[math.log(pchi)], np.log(np.maximum(np.diff(np.concatenate([[0.0], mu])), 1e-12)), s]))
    bounds = [(-30.0, 30.0)] * (k + 1) + [(0.0, 1.0)] * k
    best = None
    for y0 in starts:
        res = minimize(f, y0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 3000, "ftol": 1e-16, "gtol": 1e-12, "maxcor": 10})
        if best is None or res.fun < best.fun:
            best = res
    q, mu, chi = core["unpack"](jnp.asarray(best.x), d)
    return float(best.fun), np.asarray(q), np.asarray(mu), float(chi)


def ground_state_energy(
    cov: Covariance, convention: str = "B", *, kmax: int = 2, d_max: float = 1e6, tol: float = 1e-10
) -> GroundState:
    r"""Ground-state energy density :math:`E_{gs} = \lim_{\beta\to\infty} e(\beta)` (note §3.4).

    B: :math:`-E_{gs} = \min` of the zero-temperature CS functional over k-RSB parameters, k = 0..kmax
    (each k gives an upper bound on :math:`-E_{gs}`; the smallest k within ``tol`` of the best is
    reported). Known values: :math:`\xi = q^2`: :math:`-\sqrt2` (RS, marginal); :math:`\xi = q^3`: −1.6570;
    :math:`\xi = q^4`: −1.7941 (1RSB). A: the O(β) part of φ dominates the shell entropy, so
    :math:`E^{A}_{gs} = \inf_d E_{gs}(d)` over spheres of radius² d; ``bounded=False`` (energy −inf) when
    the infimum is at d → ∞ (linear, ReLU: H unbounded below).
    """
    cov, convention = _cov(cov), _convention(convention)
    kmax = _k(kmax)

    def sphere(d: float):
        sols, prev = [], None
        for k in range(kmax + 1):
            prev = _gs_sphere(cov, k, d, prev)
            sols.append(prev)
        vals = np.array([s[0] for s in sols])
        if not np.all(np.isfinite(vals)):
            return math.nan, 0, tuple(-float(v) for v in vals), sols[0]
        j = int(np.nonzero(vals <= vals.min() + tol)[0][0])
        return vals[j], j, tuple(-float(v) for v in vals), sols[j]

    if convention == "B":
        v, j, energies, sol = sphere(1.0)
        return GroundState("B", -float(v), j, energies, 1.0, sol[1], sol[2], sol[3])
    lds = np.linspace(math.log(1e-2), math.log(d_max), 30)
    vals = []
    for x in lds:  # stop where the kernel overflows (e.g. sin's e^{-d} sinh q beyond d ~ 700)
        v = sphere(math.exp(x))[0]
        if not math.isfinite(v):
            break
        vals.append(v)
    if not vals:
        raise RuntimeError(f"zero-temperature functional not finite for {cov.name}")
    lds = lds[: len(vals)]
    j = int(np.argmax(vals))
    if j == len(lds) - 1:
        v, jj, energies, sol = sphere(math.exp(lds[-1]))
        return GroundState("A", -math.inf, jj, tuple(-math.inf for _ in energies), math.inf, sol[1], sol[2], sol[3],
                           bounded=False)
    lo, hi = lds[max(j - 1, 0)], lds[min(j + 1, len(lds) - 1)]
    res = minimize_scalar(lambda x: -sphere(math.exp(x))[0], bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    d = math.exp(res.x)
    v, jj, energies, sol = sphere(d)
    return GroundState("A", -float(v), jj, energies, d, sol[1], sol[2], sol[3])


# ============================================================================ entropy
def entropy_curve(
    cov: Covariance, betas: Iterable[float], convention: str = "A", k: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Parametric entropy curve: arrays (E, s, φ) with :math:`E = e(\beta)`, :math:`s = \phi + \beta e` (note §1.3)."""
    betas = [_beta(b) for b in betas]
    sols = [solve(cov, b, k, convention) for b in betas]
    return (np.array([s.energy for s in sols]), np.array([s.entropy for s in sols]), np.array([s.phi for s in sols]))


def entropy_at_energy(
    cov: Covariance, E: float, convention: str = "A", k: int = 0, *, beta_max: float = 1e3
) -> float:
    r""":math:`s(E) = \inf_\beta[\phi(\beta) + \beta E]` for E < 0 (solved as :math:`e(\beta) = E`); by the
    :math:`H \to -H` symmetry :math:`s(-E) = s(E)`, and s(0) is the maximum (0 in A, 0 in B)."""
    cov, convention, k = _cov(cov), _convention(convention), _k(k)
    E = float(E)
    if not math.isfinite(E):
        raise NNFTInputError("E", f"must be finite, got {E!r}")
    E = -abs(E)
    if E == 0.0:
        return 0.0
    lo, hi = 1e-6, 1.0
    while solve(cov, hi, k, convention).energy > E:
        lo, hi = hi, 2 * hi
        if hi > beta_max:
            raise NNFTInputError("E", f"energy {E} is below what beta <= {beta_max} reaches (ground state?)")
    b = brentq(lambda x: solve(cov, x, k, convention).energy - E, lo, hi, xtol=1e-13, rtol=1e-13)
    sol = solve(cov, b, k, convention)
    return sol.phi + b * E


# ============================================================================ classification
def _concave_fraction(cov: Covariance, d: float, lo: float, hi: float, n: int = 41) -> float:
    if hi - lo <= 1e-9 * d:
        return float("nan")
    q = np.linspace(lo, hi, n)
    _, xp = continuous_parisi_x(cov, 1.0, q, d)  # the sign of x'(q) does not depend on β
    return float(np.mean(xp > 0))


def continuous_rsb_fraction(cov: Covariance, d: float = 1.0, *, n: int = 2001) -> float:
    r"""Fraction of :math:`(0, d)` on which a continuous Parisi band is admissible (note §3.2).

    A continuous part of the Parisi measure on an interval needs :math:`x(q) = G_{qqq}/(2\beta G_{qq}^{3/2})`
    non-decreasing there, i.e. :math:`G_{qq}^{-1/2}` concave (the sign of :math:`x'` does not depend on β).
    If the fraction is 0 — :math:`G_{qq}^{-1/2}` convex on all of (0, d) — the Parisi measure has no
    continuous part at any temperature, and by Talagrand's criterion (PTRF 134, 2006) it is at most 1RSB:
    this is the check behind nnft's "sin is 1RSB, not full RSB" (for L = 1,
    :math:`G_{qq}\propto\sinh(C_b + C_Wq)` and :math:`(\sinh u)^{-1/2}` is convex for u > 0, note §4.3).
    Evaluated on ``n`` equispaced points of :math:`[10^{-4}d,\,(1 - 10^{-6})d]`.
    """
    cov = _cov(cov)
    d = float(d)
    if not (math.isfinite(d) and d > 0):
        raise NNFTInputError("d", f"must be a finite number > 0, got {d!r}")
    n = check_positive_int("n", n, minimum=3)
    return _concave_fraction(cov, d, 1e-4 * d, (1 - 1e-6) * d, n)


def _narrow_continuous_band(cov: Covariance, beta: float, sol: ReplicaSolution) -> tuple[float, float, float] | None:
    r"""Is a step of this k-RSB solution the numerical shadow of a narrow continuous (FRSB) band? (note §7.4)

    Yes when, on some step :math:`[q_{i-1}, q_i)` (where x = :math:`m_i`), the continuous Parisi function
    :math:`x(q) = G_{qqq}/(2\beta G_{qq}^{3/2})` (note §3.2) is increasing (:math:`G_{qq}^{-1/2}` concave
    there) and brackets :math:`m_i`: the exact solution is then x(q) on that band, and its x-range is so
    small (≲ 1 %) that splitting the step gains less than the solver's precision (≲ 1e-12; tanh just past
    its AT point). Returns (q_{i-1}, x(q_{i-1}), x(q_i)) for the first such step, or None.
    """
    for i in range(1, sol.k + 1):
        lo, hi, m = float(sol.q[i - 1]), float(sol.q[i]), float(sol.m[i - 1])
        if hi - lo <= 1e-6 * sol.d or lo <= 0:
            continue
        q = np.linspace(lo, hi, 33)
        x, xp = continuous_parisi_x(cov, beta, q, sol.d)
        if np.all(np.isfinite(xp)) and np.all(xp > 0) and x[0] <= m * (1 + 1e-3) and m <= x[-1] * (1 + 1e-3):
            return lo, float(x[0]), float(x[-1])
    return None


def classify(
    cov: Covariance,
    beta: float,
    convention: str = "A",
    *,
    kmax: int = 4,
    tol: float = 1e-12,
) -> Classification:
    r"""RS, 1RSB, k-RSB or FRSB at inverse temperature β (note §7 items 6–7, §3.5).

    Solves RS and k-RSB for k = 1..kmax, each seeded by the previous one; the gain of step k is
    :math:`\Delta_k = \phi_{k-1} - \phi_k \ge 0`, counted as nonzero above
    ``tol``·max(1, |φ|) (the solver's precision). Rules:

    * **RS** — the RS replicon is ≥ 0 and :math:`\Delta_1` is zero.
    * **FRSB** — every k-RSB solution up to kmax strictly improves on the (k−1)-RSB one (gain above
      1e-14·|φ|) with k distinct steps (:meth:`ReplicaSolution.distinct_steps`): the gains decay and the
      breakpoints fill an interval — see ``solutions`` and ``concave_fraction``. By uniqueness of the
      Parisi measure (Talagrand 2006) a true j-RSB optimum makes every k > j solution collapse onto j
      steps with no gain.
    * **jRSB** (j < kmax; "1RSB" for j = 1) — j is the largest such k.
    * **FRSB (narrow band)** — the steps collapse onto j < kmax, but on one of the j steps the continuous
      Parisi function is increasing and brackets its m (:func:`_narrow_continuous_band`): tanh past its
      AT point, where x(q) varies by ≲ 1 % over the band and k-RSB gains are ≲ 1e-12 (note §7 item 4).
    * If RS is replicon-unstable but :math:`\Delta_1` is zero (a narrow band just past the AT point,
      where gains are below the precision; note §7 item 4), the local criterion decides (note §3.3):
      FRSB if :math:`x(q^*) < 1` and :math:`G_{qq}^{-1/2}` is concave just above q*, else 1RSB.

    A fixed ratio threshold on the gains is *not* used: with a nearly flat x(q) on a narrow band the
    2-RSB gain can be 1e-3 of the 1-RSB one while the structure is genuinely continuous.
    """
    cov, beta, convention = _cov(cov), _beta(beta), _convention(convention)
    kmax = check_positive_int("kmax", kmax, minimum=2)
    rs = solve_rs(cov, beta, convention)
    sols = [rs]
    for k in range(1, kmax + 1):
        sols.append(solve_krsb(cov, beta, k, convention, rs=rs, previous=sols[-1]))
    phis = np.array([s.phi for s in sols])
    best = np.minimum.accumulate(phis)  # phi_k is non-increasing in k (inf over a larger set)
    gains = tuple(float(x) for x in np.maximum(best[:-1] - best[1:], 0.0))
    eps = tol * max(1.0, abs(float(phis[0])))
    nonzero = [g > eps for g in gains]
    top = sols[int(np.argmin(phis))]
    frac = _concave_fraction(cov, top.d, float(top.q[0]), float(top.q[-1]))
    if not nonzero[0]:
        if rs.replicon >= 0:
            phase, reason = "RS", "replicon >= 0 and no 1RSB gain"
        else:
            qs = float(rs.q[0]) + 1e-6 * (rs.d - float(rs.q[0]))
            x, xp = continuous_parisi_x(cov, beta, qs, rs.d)
            if x < 1 and xp > 0:
                phase, reason = "FRSB", f"replicon < 0, gains below precision; continuous onset (x(q*)={float(x):.3g}, increasing)"
            else:
                phase, reason = "1RSB", f"replicon < 0, gains below precision; discontinuous onset (x(q*)={float(x):.3g})"
    else:
        # number of RSB steps: the largest k whose k-RSB solution strictly improves on (k-1)-RSB with k
        # distinct steps (the Parisi measure is unique, so a true j-RSB optimum makes every k > j
        # solution collapse onto j steps with no gain)
        tiny = 1e-14 * max(1.0, abs(float(phis[0])))
        j = max([1] + [k for k in range(2, kmax + 1) if gains[k - 1] > tiny and sols[k].distinct_steps() == k])
        gtxt = ", ".join(f"{g:.2e}" for g in gains)
        narrow = _narrow_continuous_band(cov, beta, sols[j]) if j < kmax else None
        if j == kmax:
            phase, reason = "FRSB", f"the {kmax}-RSB solution keeps {kmax} distinct steps; gains {gtxt}"
        elif narrow is not None:
            phase, reason = "FRSB", (f"k-RSB steps collapse onto {j} ({gtxt}) but the step starting at q={narrow[0]:.5g} "
                                     f"is a continuous band of nearly constant x: x(q) increases from {narrow[1]:.5g} "
                                     f"to {narrow[2]:.5g} across it and brackets its m")
        else:
            phase, reason = f"{j}RSB", f"k-RSB solutions collapse onto {j} step(s); gains {gtxt}"
    return Classification(convention=convention, beta=beta, phase=phase, replicon=rs.replicon, gains=gains,
                          solutions=tuple(sols), concave_fraction=frac, reason=reason)


_TABLE_DEFAULT_ACTS = ("linear", "tanh", "relu", "sin", "erf", "shaped_tanh", "shaped_relu")


def classification_table(
    activations: Sequence[str] = _TABLE_DEFAULT_ACTS,
    depths: Sequence[int] = (1, 2, 3),
    sw2s: Sequence[float | str] = (1.0, 2.0),
    convention: str = "B",
    *,
    sb2: float = 0.0,
    beta_max: float = 30.0,
    low_t_factor: float = 1.5,
    kmax: int = 3,
) -> list[dict[str, Any]]:
    r"""Phase table (activation × depth × :math:`C_W`) under one convention (note §4.3, §7 item 6).

    For each network: :math:`\xi'(1), \xi''(1)` (B), the AT point (:func:`at_point`), the static m = 1
    transition (:func:`static_transition`), the first RSB temperature :math:`\beta_c` = the smaller of the
    two, and the phase at :math:`\beta = ` ``low_t_factor`` × :math:`\beta_c` (:func:`classify`); "RS" with
    no β_c means RS for every β ≤ ``beta_max``. ``continuous_fraction`` is :func:`continuous_rsb_fraction`
    at the classification point's d (0: no continuous Parisi band anywhere, so at most 1RSB). ``sw2`` may be ``"np"`` for the norm-preserving
    :math:`C_W` (:func:`nnft.hamiltonian.norm_preserving_sw2`), the natural choice for shaped activations.
    """
    convention = _convention(convention)
    rows = []
    for act in activations:
        for L in depths:
            for sw in sw2s:
                params = {"depth": L} if act in ("shaped_tanh", "shaped_relu") else {}
                swv = norm_preserving_sw2(act, **params) if sw == "np" else float(sw)
                cov = hamiltonian_covariance(act, L, swv, sb2)
                row: dict[str, Any] = {"activation": act, "depth": L, "sw2": swv, "convention": convention}
                if convention == "B":
                    row["xi1"] = float(cov.xi_q(1.0, 1.0))
                    row["xi2"] = float(cov.xi_qq(1.0 - 1e-12, 1.0))
                at = at_point(cov, convention, beta_max=beta_max, n_grid=32)
                st = static_transition(cov, convention, beta_max=beta_max, n_grid=32)
                row["beta_AT"] = at.beta if at else math.inf
                row["onset"] = ("continuous" if at.continuous else "discontinuous") if at else ""
                row["x_star"] = at.x_star if at else math.nan
                row["beta_s"] = st.beta if st else math.inf
                bc = min(row["beta_AT"], row["beta_s"])
                row["beta_c"] = bc
                if math.isfinite(bc):
                    c = classify(cov, low_t_factor * bc, convention, kmax=kmax)
                    row.update(phase=c.phase, beta=c.beta, gains=c.gains, reason=c.reason)
                    d = c.solutions[0].d
                else:
                    row.update(phase="RS", beta=beta_max, gains=(), reason=f"RS-stable for beta <= {beta_max}")
                    d = 1.0 if convention == "B" else solve_rs(cov, beta_max, convention).d
                row["continuous_fraction"] = continuous_rsb_fraction(cov, d, n=401)
                rows.append(row)
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Plain-text rendering of :func:`classification_table` rows (B rows also show ξ'(1), ξ''(1) and the
    T = 0 verdict of note §3.4: RS iff ξ''(1) ≤ ξ'(1))."""
    head = (f"{'act':<12}{'L':>3}{'C_W':>7} {'conv':>4}{'xi1':>8}{'xi2':>10}{'T=0':>5}{'beta_AT':>9}{'T_AT':>8}"
            f"{'beta_s':>9}{'onset':>14}{'cont':>6}{'phase@1.5bc':>13}  gains")
    lines = [head, "-" * len(head)]
    for r in rows:
        tat = 1 / r["beta_AT"] if math.isfinite(r["beta_AT"]) else 0.0
        g = " ".join(f"{x:.1e}" for x in r.get("gains", ()))
        if "xi1" in r:
            t0 = "RS" if r["xi2"] <= r["xi1"] else "RSB"
            xi = f"{r['xi1']:>8.4f}{min(r['xi2'], 9.99e4):>10.4g}{t0:>5}"
        else:
            xi = f"{'':>8}{'':>10}{'':>5}"
        lines.append(
            f"{r['activation']:<12}{r['depth']:>3}{r['sw2']:>7.3g} {r['convention']:>4}{xi}{r['beta_AT']:>9.4g}{tat:>8.4f}"
            f"{r['beta_s']:>9.4g}{r['onset']:>14}{r.get('continuous_fraction', float('nan')):>6.2f}{r['phase']:>13}  {g}"
        )
    return "\n".join(lines)
