r"""A random MLP as a Hamiltonian over its inputs: the covariance of H as a function of the overlap.

Setting (Winer & Hanin 2025, arXiv:2503.23982; formalisation of ``shared/notes/hamiltonians.md`` §1.3)
--------------------------------------------------------------------------------------------------------
A network with input dimension :math:`N_0`, ``depth`` = L hidden layers and a scalar output,

.. math::
   z^{(1)} = W^{(1)}x/\sqrt{N_0} + b^{(1)},\qquad
   z^{(\ell+1)} = W^{(\ell+1)}\sigma(z^{(\ell)})/\sqrt{N_\ell} + b^{(\ell+1)},\qquad
   W_{ij}\sim\mathcal N(0, C_W),\ b_i\sim\mathcal N(0, C_b),

defines the energy :math:`H(x) = \sqrt{N_0}\,z^{(L+1)}(x)` (note §1.3: "extensive energy"). At infinite
hidden width H is a centred Gaussian field over the inputs with

.. math::  \mathbb E[H(x)H(y)] = N_0\,G(q; d_x, d_y),\qquad q = x\cdot y/N_0,\ d = \|x\|^2/N_0,

where G is the NNGP kernel of the **output** layer (note §2.1; Neal 1996, Lee et al. 2018, Matthews et
al. 2018). In nnft's kernel indexing (``docs/conventions.md``) this is ``nngp_kernel(..., depth=L+1)``:
:math:`K^1 = C_W q + C_b`, :math:`K^{\ell+1} = C_W F_\sigma(K^\ell) + C_b`, :math:`G = K^{L+1}`.
So ``depth`` here counts the *hidden layers* (the number of times σ is applied), as in the note and the
paper ("shallow" = one hidden layer); depth = L gives :math:`b = C_W^{L+1}` for the linear net.

At the replica saddle every replica has the same self-overlap d, so only the equal-diagonal
restriction :math:`\xi(q) \equiv G(q; d) \equiv K^{(L+1)}(q; d, d)` is needed (note §2.1). On the
sphere :math:`\|x\|^2 = N_0 d` this is the covariance of a spherical mixed p-spin model,
:math:`\xi(q) = \sum_p c_p(d)\, q^p` with :math:`c_p \ge 0` (note §2.3; Schoenberg; Daniely–Frostig–Singer
2016), the input to the Crisanti–Sommers functional of :mod:`nnft.theory.replica`.

Conventions (note §1.3): **(A)** Gaussian reference measure :math:`\gamma = \mathcal N(0, I_{N_0})`,
d free; **(B)** the sphere :math:`\|x\|^2 = N_0` (d = 1). The covariance itself is the same object in
both; the replica module decides which d is used.

Evaluation
----------
* Closed-form activations (linear, ReLU family incl. shaped ReLU, erf, sin, cos, Gauss-net) use
  ``Activation.two_point`` at equal diagonals.
* Other smooth activations (tanh, shaped tanh, GELU, softplus, callables) use the Mehler/Hermite
  ("dual activation") series :math:`F_\sigma(c; v, v) = \sum_{k<K} h_k(v)^2 (c/v)^k` with
  :math:`h_k(v) = \mathbb E[\sigma(\sqrt v z)\mathrm{He}_k(z)]/\sqrt{k!}` from
  :func:`nnft.kernels.hermite_coefficients` (K = 256 terms; error bound in that module).
* The diagonal :math:`D(d) = G(d; d)` is the variance map iterated, from ``Activation.second_moment``
  (never through the arccos of ReLU at correlation one, where derivatives are singular).
* q-derivatives :math:`\partial_q^n G` (n ≤ 4) and the partial derivative in d are JAX autodiff through
  this recursion (equivalently Price's theorem and the chain rule of note §2.1).

Everything is vectorised over overlaps q (any shape; d a scalar or broadcastable array).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, get_activation
from .errors import NNFTInputError, check_finite_array, check_positive_int, check_variance
from .kernels import hermite_coefficients

Array = jnp.ndarray

__all__ = [
    "Covariance",
    "NetworkCovariance",
    "PolynomialCovariance",
    "hamiltonian_covariance",
    "mixed_pspin",
    "pspin_coefficients",
    "norm_preserving_sw2",
]

_SHAPED = ("shaped_relu", "shaped_tanh")


class Covariance:
    r"""Covariance :math:`G(q; d)` of an isotropic Gaussian Hamiltonian, per unit N₀, at equal self-overlaps d.

    Subclasses implement two JAX-traceable scalar functions, ``_G(q, d)`` (off-diagonal, q < d) and
    ``_D(d)`` (:math:`= G(d; d)`). The public methods are NumPy-vectorised wrappers (float64), jitted once
    per covariance object.
    """

    name: str = "covariance"

    # ---- to implement -------------------------------------------------------------------------
    def _G(self, q: Array, d: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def _D(self, d: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- jax-level derivatives ----------------------------------------------------------------
    def jax_G(self, q: Array, d: Array) -> Array:
        """G(q; d) (JAX-traceable, scalar q and d)."""
        return self._G(q, d)

    def _Gq(self, q: Array, d: Array) -> Array:
        """∂_q G (override with a Price-theorem form where autodiff of G is singular, e.g. ReLU at q = d)."""
        return _grad0(self._G)(q, d)

    def jax_dG(self, q: Array, d: Array, n: int = 1) -> Array:
        r""":math:`\partial_q^n G(q; d)`: n = 0 is G, n ≥ 1 is forward-mode autodiff of ``_Gq`` (scalar q, d)."""
        if n == 0:
            return self._G(q, d)
        f = self._Gq
        for _ in range(n - 1):
            f = _grad0(f)
        return f(q, d)

    def jax_D(self, d: Array) -> Array:
        """D(d) = G(d; d), the energy variance per N₀ of one input of self-overlap d."""
        return self._D(d)

    # ---- NumPy API ----------------------------------------------------------------------------
    def xi(self, q: Any, d: Any = 1.0) -> np.ndarray:
        r""":math:`\xi(q) = G(q; d)`, vectorised over q (and d)."""
        return self._vec(0)(*_qd(q, d))

    def xi_q(self, q: Any, d: Any = 1.0) -> np.ndarray:
        r""":math:`\partial_q G(q; d)` (Price: :math:`C_W\mathbb E[\sigma'\sigma']` chained over layers, note §2.1)."""
        return self._vec(1)(*_qd(q, d))

    def xi_qq(self, q: Any, d: Any = 1.0) -> np.ndarray:
        r""":math:`\partial_q^2 G(q; d)` (enters the replicon, note §3.3)."""
        return self._vec(2)(*_qd(q, d))

    def xi_qqq(self, q: Any, d: Any = 1.0) -> np.ndarray:
        r""":math:`\partial_q^3 G(q; d)` (enters the continuous Parisi x(q), note §3.2)."""
        return self._vec(3)(*_qd(q, d))

    def derivative(self, q: Any, d: Any = 1.0, n: int = 1) -> np.ndarray:
        r""":math:`\partial_q^n G(q; d)` for n = 0..4."""
        if not (isinstance(n, (int, np.integer)) and 0 <= n <= 4):
            raise NNFTInputError("n", f"derivative order must be an integer in 0..4, got {n!r}")
        return self._vec(int(n))(*_qd(q, d))

    def xi_and_q(self, q: Any, d: Any = 1.0) -> tuple[np.ndarray, np.ndarray]:
        r"""(:math:`G(q; d)`, :math:`\partial_q G(q; d)`) in one call (the replica solver's inner loop)."""
        out = self._vec("01")(*_qd(q, d))
        return out[..., 0], out[..., 1]

    def xi_d(self, q: Any, d: Any = 1.0) -> np.ndarray:
        r""":math:`\partial_d G(q; d)` at fixed q (the d-equation of convention A, note §3.2)."""
        return self._vec("d")(*_qd(q, d))

    def diag(self, d: Any = 1.0) -> np.ndarray:
        r""":math:`D(d) = G(d; d)`: the variance map iterated from :math:`C_W d + C_b`."""
        d = np.asarray(d, dtype=float)
        return np.asarray(self._vec("D")(d, d))

    def diag_d(self, d: Any = 1.0) -> np.ndarray:
        r""":math:`D'(d)`."""
        d = np.asarray(d, dtype=float)
        return np.asarray(self._vec("Dd")(d, d))

    # ---- internals ----------------------------------------------------------------------------
    def _vec(self, which):
        cache = self.__dict__.setdefault("_vec_cache", {})
        if which not in cache:
            if which == "D":
                f = lambda q, d: self._D(d)  # noqa: E731
            elif which == "Dd":
                f = lambda q, d: jax.grad(self._D)(d)  # noqa: E731
            elif which == "d":
                f = lambda q, d: jax.grad(self._G, argnums=1)(q, d)  # noqa: E731
            elif which == "01":
                f = lambda q, d: jnp.stack([self._G(q, d), self._Gq(q, d)])  # noqa: E731
            else:
                f = lambda q, d, n=which: self.jax_dG(q, d, n)  # noqa: E731
            g = jax.jit(jnp.vectorize(f, signature="(),()->(n)") if which == "01" else jnp.vectorize(f))
            cache[which] = functools.partial(_bucketed, g)
        return cache[which]

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._key() == other._key()  # type: ignore[attr-defined]

    def _key(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError


def _grad0(f: Callable[[Array, Array], Array]) -> Callable[[Array, Array], Array]:
    """Forward-mode derivative in the first argument of a scalar function f(q, d)."""

    def g(q, d):
        return jax.jvp(lambda qq: f(qq, d), (q,), (jnp.ones_like(q),))[1]

    return g


def _bucketed(g: Callable[[Array, Array], Array], q: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Evaluate the jitted, vectorised g on flat inputs padded to a few fixed sizes (8, 16, 32, …), so
    that repeated calls with varying numbers of overlaps compile once per size bucket."""
    q, d = np.broadcast_arrays(np.asarray(q, float), np.asarray(d, float))
    shape, n = q.shape, q.size
    size = max(8, 1 << max(0, (n - 1).bit_length()))
    qf = np.empty(size)
    df = np.empty(size)
    qf[:n], df[:n] = q.ravel(), d.ravel()
    qf[n:], df[n:] = (q.flat[0] if n else 0.0), (d.flat[0] if n else 1.0)
    out = np.asarray(g(jnp.asarray(qf), jnp.asarray(df)))
    return out[:n].reshape(shape + out.shape[1:])


def _qd(q: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(q, dtype=float)
    d = np.asarray(d, dtype=float)
    if not np.all(np.isfinite(q)):
        raise NNFTInputError("q", "overlaps must be finite")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise NNFTInputError("d", f"self-overlap must be finite and > 0, got {d!r}")
    return q, d


# ============================================================================ networks
@dataclass(frozen=True, eq=False)
class NetworkCovariance(Covariance):
    r"""Output NNGP kernel :math:`G(q; d) = K^{(L+1)}(q; d, d)` of an MLP with L = ``depth`` hidden layers.

    .. math::
       K^{(1)} = C_W q + C_b,\quad K^{(1)}_{xx} = C_W d + C_b,\qquad
       K^{(\ell+1)} = C_b + C_W F_\sigma(K^{(\ell)}; K^{(\ell)}_{xx}, K^{(\ell)}_{xx}),

    :math:`G = K^{(L+1)}` (note §2.1). ``sw2``/``sb2`` are tuples of length L+1: entry 0 is the input
    layer, entry L the read-out (all equal when built from scalars). ``activations`` has length L
    (activation of hidden layer ℓ = 1..L).
    """

    activations: tuple[Activation, ...]
    sw2: tuple[float, ...]
    sb2: tuple[float, ...]
    label: str = ""
    _vec_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def depth(self) -> int:
        """Number of hidden layers L."""
        return len(self.activations)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.label or f"{self.activations[0].name}(L={self.depth}, sw2={self.sw2[0]:g}, sb2={self.sb2[0]:g})"

    def _key(self) -> tuple:
        return (tuple(id(a) for a in self.activations), self.sw2, self.sb2)

    def _diagonals(self, d: Array) -> list[Array]:
        r"""Pre-activation variances :math:`K^{(\ell)}_{xx}`, ℓ = 1..L+1."""
        v = self.sw2[0] * d + self.sb2[0]
        out = [v]
        for act, w, b in zip(self.activations, self.sw2[1:], self.sb2[1:]):
            v = w * act.second_moment(v) + b
            out.append(v)
        return out

    def _D(self, d: Array) -> Array:
        return self._diagonals(jnp.asarray(d, float))[-1]

    def _G(self, q: Array, d: Array) -> Array:
        q = jnp.asarray(q, float)
        diags = self._diagonals(jnp.asarray(d, float))
        c = self.sw2[0] * q + self.sb2[0]
        for act, v, w, b in zip(self.activations, diags[:-1], self.sw2[1:], self.sb2[1:]):
            c = w * _equal_diag_two_point(act, c, v) + b
        return c

    def _Gq(self, q: Array, d: Array) -> Array:
        r"""Chain rule with Price's theorem (note §2.1): :math:`g^{(1)} = C_W`,
        :math:`g^{(\ell+1)} = C_W\,\mathbb E[\sigma'(u)\sigma'(w)]\,g^{(\ell)}`. Finite at q = d for ReLU."""
        q = jnp.asarray(q, float)
        diags = self._diagonals(jnp.asarray(d, float))
        c = self.sw2[0] * q + self.sb2[0]
        g = self.sw2[0] * jnp.ones_like(q)
        for act, v, w, b in zip(self.activations, diags[:-1], self.sw2[1:], self.sb2[1:]):
            g = g * w * _equal_diag_derivative_two_point(act, c, v)
            c = w * _equal_diag_two_point(act, c, v) + b
        return g


def _equal_diag_two_point(act: Activation, c: Array, v: Array) -> Array:
    r""":math:`F_\sigma(c; v, v) = \mathbb E[\sigma(u)\sigma(w)]`, (u, w) ~ N(0, [[v, c], [c, v]]).

    Closed form where the activation has one (note §2.2); otherwise the Mehler series
    :math:`\sum_k h_k(v)^2 (c/v)^k` (note §2.3, Daniely–Frostig–Singer 2016).
    """
    if act.has_closed_two_point:
        return act.two_point(v, c, v)
    h = hermite_coefficients(act, v)
    rho = (c / v)[..., None]
    # powers rho^k by a cumulative product: differentiable to any order at rho = 0 (unlike rho**k)
    pw = jnp.cumprod(jnp.broadcast_to(rho, rho.shape[:-1] + (h.shape[-1] - 1,)), axis=-1)
    return h[..., 0] ** 2 + jnp.sum(h[..., 1:] ** 2 * pw, axis=-1)


def _equal_diag_derivative_two_point(act: Activation, c: Array, v: Array) -> Array:
    r""":math:`\partial_c F_\sigma(c; v, v) = \mathbb E[\sigma'(u)\sigma'(w)]` (Price's theorem)."""
    if act.has_closed_two_point and act.closed_derivative_two_point is not None:
        return act.derivative_two_point(v, c, v)
    if act.has_closed_two_point:
        return jax.jvp(lambda cc: act.two_point(v, cc, v), (c,), (jnp.ones_like(c),))[1]
    h = hermite_coefficients(act, v)
    rho = (c / v)[..., None]
    kk = jnp.arange(1, h.shape[-1], dtype=float)
    a = kk * h[..., 1:] ** 2  # d/drho sum h_k^2 rho^k = sum k h_k^2 rho^(k-1)
    pw = jnp.cumprod(jnp.broadcast_to(rho, rho.shape[:-1] + (h.shape[-1] - 2,)), axis=-1)
    return (a[..., 0] + jnp.sum(a[..., 1:] * pw, axis=-1)) / v


def norm_preserving_sw2(activation: str | Activation, **params: Any) -> float:
    r""":math:`C_W` with :math:`C_W\mathbb E[\sigma(u)^2] = \mathbb E[u^2]` for a positively homogeneous σ.

    For slopes (a, b) on (x<0, x≥0): :math:`C_W = 2/(a^2+b^2)` (ReLU: 2; shaped ReLU: the Li–Nica–Roy
    normalisation, note §2.4). For other activations: :math:`1/\sigma'(0)^2` (1 for tanh, shaped tanh, sin, erf
    up to its slope 2/√π).
    """
    act = get_activation(activation, **params)
    if "neg_slope" in act.params:
        a, b = act.params["neg_slope"], act.params["pos_slope"]
        return 2.0 / (a * a + b * b)
    s = float(act.derivative(jnp.asarray(0.0)))
    if s == 0:
        raise NNFTInputError("activation", f"{act.name!r} has zero slope at 0: no norm-preserving C_W")
    return 1.0 / (s * s)


def _per_layer(name: str, value: Any, n: int, check: Callable[[str, Any], float]) -> tuple[float, ...]:
    if np.ndim(value) == 0:
        return (check(name, value),) * n
    vals = list(value)
    if len(vals) != n:
        raise NNFTInputError(name, f"needs {n} values (input layer, {n - 2} hidden-to-hidden, read-out) or a scalar, got {len(vals)}")
    return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(vals))


def hamiltonian_covariance(
    activation: str | Activation = "tanh",
    depth: int = 1,
    sw2: float | Sequence[float] = 1.0,
    sb2: float | Sequence[float] = 0.0,
    *,
    activation_params: Mapping[str, Any] | None = None,
) -> NetworkCovariance:
    r"""Covariance of :math:`H(x) = \sqrt{N_0} z^{(L+1)}(x)` for an MLP with ``depth`` = L hidden layers.

    Parameters
    ----------
    activation: a name from :data:`nnft.ACTIVATION_NAMES`, an :class:`~nnft.Activation`, or a callable.
        For ``"shaped_relu"`` / ``"shaped_tanh"`` the activation's own ``depth`` parameter defaults to
        the network depth L (slopes :math:`1 + c_\pm/\sqrt L`, resp. :math:`(\sqrt L/c)\tanh(cx/\sqrt L)`).
    depth: number of hidden layers L ≥ 1.
    sw2, sb2: :math:`C_W, C_b` — scalars, or sequences of length L+1 (input layer first, read-out last).
    activation_params: parameters for a named activation (e.g. ``{"c": 1.0, "c_minus": -1.0}``).

    >>> cov = hamiltonian_covariance("sin", depth=1, sw2=1.0)
    >>> float(cov.xi(0.5, d=1.0))     # e^{-1} sinh(0.5)
    0.19166...
    """
    depth = check_positive_int("depth", depth)
    params = dict(activation_params or {})
    if isinstance(activation, str) and activation.lower() in _SHAPED:
        params.setdefault("depth", depth)
    if isinstance(activation, Activation) and params:
        raise NNFTInputError("activation_params", "only valid with an activation name")
    act = get_activation(activation, **params) if params else get_activation(activation)
    sw = _per_layer("sw2", sw2, depth + 1, check_variance)
    sb = _per_layer("sb2", sb2, depth + 1, check_variance)
    if sw[0] == 0:
        raise NNFTInputError("sw2", "the input-layer C_W must be > 0 (otherwise H does not depend on x)")
    return NetworkCovariance(activations=(act,) * depth, sw2=sw, sb2=sb)


# ============================================================================ mixed p-spin
@dataclass(frozen=True, eq=False)
class PolynomialCovariance(Covariance):
    r"""Spherical mixed p-spin covariance :math:`\xi(q) = \sum_p c_p q^p` (independent of d).

    ``coeffs[p]`` is :math:`c_p \ge 0` (Schoenberg). On the unit sphere (convention B) this is the
    standard spherical mixed p-spin model (Crisanti–Sommers 1992, with their :math:`\xi = q^p/2` for the
    pure p-spin); in convention A it is the Gaussian field with the same kernel on :math:`\mathbb R^{N_0}`.
    """

    coeffs: tuple[float, ...]
    label: str = ""
    _vec_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:  # type: ignore[override]
        if self.label:
            return self.label
        terms = [f"{c:g}q^{p}" for p, c in enumerate(self.coeffs) if c]
        return "xi=" + "+".join(terms or ["0"])

    def _key(self) -> tuple:
        return self.coeffs

    def _poly(self, q: Array) -> Array:
        out = jnp.zeros_like(jnp.asarray(q, float))
        for c in reversed(self.coeffs):
            out = out * q + c
        return out

    def _G(self, q: Array, d: Array) -> Array:
        return self._poly(q) + 0.0 * d

    def _D(self, d: Array) -> Array:
        return self._poly(d)


def mixed_pspin(coeffs: Sequence[float] | Mapping[int, float], *, label: str = "") -> PolynomialCovariance:
    r"""Mixed p-spin covariance from ``[c_0, c_1, ...]`` or ``{p: c_p}``; e.g. pure 3-spin à la CS: ``{3: 0.5}``."""
    if isinstance(coeffs, Mapping):
        if not coeffs:
            raise NNFTInputError("coeffs", "give at least one coefficient")
        pmax = max(int(p) for p in coeffs)
        c = [0.0] * (pmax + 1)
        for p, v in coeffs.items():
            if int(p) < 0:
                raise NNFTInputError("coeffs", f"degree must be >= 0, got {p}")
            c[int(p)] = float(v)
    else:
        c = [float(v) for v in check_finite_array("coeffs", coeffs, ndim=1)]
    if any(not math.isfinite(v) or v < 0 for v in c):
        raise NNFTInputError("coeffs", f"p-spin coefficients must be finite and >= 0 (Schoenberg), got {c}")
    if not any(c[1:]):
        raise NNFTInputError("coeffs", "xi must depend on q (some c_p > 0 with p >= 1)")
    return PolynomialCovariance(coeffs=tuple(c), label=label)


def pspin_coefficients(cov: Covariance, d: float = 1.0, pmax: int = 9) -> np.ndarray:
    r"""Taylor coefficients :math:`c_p(d)` of :math:`q \mapsto G(q; d)` at q = 0, p = 0..pmax (note §2.3).

    By Schoenberg's theorem they are the mixed p-spin weights of H on the sphere of radius² d
    (:math:`\xi(t) = \sum_p c_p d^p\,t^p` in :math:`t = q/d`). Orders p ≤ 4 are exact (nested forward-mode
    autodiff at q = 0); higher orders come from a degree-30 Chebyshev interpolant of G on
    :math:`|q| \le 0.6d` (G is analytic in :math:`|q| < d`; its singularities, e.g. ReLU's, sit at
    :math:`q = \pm d`), accurate to about 1e-7 relative to :math:`G(d; d)`.
    """
    pmax = check_positive_int("pmax", pmax, minimum=0)
    if pmax > 20:
        raise NNFTInputError("pmax", f"at most 20 coefficients are resolved, got {pmax}")
    d = float(d)
    exact = [float(cov.derivative(0.0, d, n)) / math.factorial(n) for n in range(min(pmax, 4) + 1)]
    if pmax <= 4:
        return np.asarray(exact)
    a = 0.6 * d
    nodes = np.cos(np.pi * (np.arange(31) + 0.5) / 31)
    cheb = np.polynomial.chebyshev.Chebyshev.fit(nodes, cov.xi(a * nodes, d), 30, domain=[-1, 1])
    coef = cheb.convert(kind=np.polynomial.Polynomial).coef
    coef = np.pad(coef, (0, max(0, pmax + 1 - coef.size)))[: pmax + 1] / a ** np.arange(pmax + 1)
    coef[:5] = exact
    return coef
