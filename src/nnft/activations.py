r"""Activation functions and their Gaussian expectations.

An :class:`Activation` is an elementwise, JAX-traceable function :math:`\phi` together with what the
field theory needs from it:

* ``second_moment(q)`` :math:`= \mathbb E[\phi(\sqrt q z)^2]` — the variance map (Poole et al. 2016;
  SPS17 eq. 5; Grosvenor–Jefferson note §3),
* ``two_point(q1, q12, q2)`` :math:`= \mathbb E[\phi(u)\phi(v)]`,
  :math:`(u, v) \sim \mathcal N(0, [[q_1, q_{12}], [q_{12}, q_2]])` — the covariance map,
* ``derivative_second_moment(q)`` :math:`= \mathbb E[\phi'(\sqrt q z)^2]` (χ₁ = σw² times this),
* ``derivative_two_point(q1, q12, q2)`` :math:`= \mathbb E[\phi'(u)\phi'(v)] = \partial_{q_{12}}\mathbb E[\phi(u)\phi(v)]`
  (Price's theorem), which sets ξ_c in the chaotic phase,
* ``moment(q, n)`` :math:`= \mathbb E[\phi(\sqrt q z)^n]` (the 1/N theory needs n = 4).

Closed forms are used where they exist (linear and the piecewise-linear ReLU family: arc-cosine
kernel of Cho & Saul; erf: arcsin kernel of Williams 1997; sin/cos: :math:`e^{-(q_1+q_2)/2}\sinh/\cosh q_{12}`;
Gauss-net: :math:`e^{q_{12}-(q_1+q_2)/2}`). Everything else uses Gauss–Hermite quadrature from
:mod:`nnft.gaussian`. Non-smooth activations never go through tensor-product quadrature across their
kink: their 2-point expectations are closed forms, their 1-D ones use the split-at-the-kink rule.

Built-in names (:func:`get_activation`): ``linear, relu, leaky_relu, shaped_relu, erf, tanh,
shaped_tanh, sin, cos, gauss, gelu, softplus``; or pass any elementwise callable.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from .errors import NNFTInputError, check_positive_int
from .gaussian import DEFAULT_ORDER_1D, DEFAULT_ORDER_2D, expect_1d, expect_2d

Array = jnp.ndarray

__all__ = ["Activation", "get_activation", "ACTIVATION_NAMES", "piecewise_linear"]


def _elementwise_grad(f: Callable[[Array], Array]) -> Callable[[Array], Array]:
    """Derivative of an elementwise scalar function, vectorised over any shape."""
    return jnp.vectorize(jax.grad(lambda x: f(x)))


@dataclass(frozen=True, eq=False)
class Activation:
    r"""An elementwise activation φ with its Gaussian expectations.

    Parameters
    ----------
    name: label used in tables, figures and errors.
    fn: elementwise JAX function ``fn(z)``; for ``needs_variance`` activations ``fn(z, q)``, where q is
        the (ensemble) variance of the pre-activation (Gauss-net normalisation, HMS 2020).
    smooth: False for activations with a kink at 0 (ReLU family). Those must supply every closed form
        of a 2-point expectation; quadrature across the kink is refused.
    params: the parameters that define φ (shown in ``repr`` and stored in provenance).
    """

    name: str
    fn: Callable[..., Array]
    smooth: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    needs_variance: bool = False
    closed_second_moment: Callable[[Array], Array] | None = None
    closed_two_point: Callable[[Array, Array, Array], Array] | None = None
    closed_derivative_second_moment: Callable[[Array], Array] | None = None
    closed_derivative_two_point: Callable[[Array, Array, Array], Array] | None = None
    closed_moment: Callable[[Array, int], Array] | None = None
    derivative_fn: Callable[..., Array] | None = None

    # ------------------------------------------------------------------ evaluation
    def __call__(self, z: Array, q: Array | float | None = None) -> Array:
        if self.needs_variance:
            if q is None:
                raise NNFTInputError(
                    "q", f"activation {self.name!r} is normalised by the pre-activation variance; pass q"
                )
            return self.fn(z, q)
        return self.fn(z)

    def derivative(self, z: Array, q: Array | float | None = None) -> Array:
        """φ'(z) (by autodiff unless a closed form was given)."""
        if self.derivative_fn is not None:
            return self.derivative_fn(z, q) if self.needs_variance else self.derivative_fn(z)
        if self.needs_variance:
            return jnp.vectorize(jax.grad(lambda x, qq: self.fn(x, qq)))(z, q)
        return _elementwise_grad(self.fn)(z)

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Activation({self.name}{', ' + p if p else ''})"

    # ------------------------------------------------------------------ 1-D expectations
    def _phi_at(self, q: Array) -> Callable[[Array], Array]:
        if self.needs_variance:
            qq = jnp.asarray(q, dtype=float)[..., None]
            return lambda u: self.fn(u, qq)
        return self.fn

    def _dphi_at(self, q: Array) -> Callable[[Array], Array]:
        if self.needs_variance:
            qq = jnp.asarray(q, dtype=float)[..., None]
            return lambda u: self.derivative(u, qq)
        return self.derivative

    def moment(self, q: Array | float, n: int, *, order: int = DEFAULT_ORDER_1D) -> Array:
        r""":math:`\mathbb E[\phi(\sqrt q z)^n]`."""
        if self.closed_moment is not None:
            return self.closed_moment(jnp.asarray(q, dtype=float), n)
        if n == 2 and self.closed_second_moment is not None:
            return self.closed_second_moment(jnp.asarray(q, dtype=float))
        phi = self._phi_at(q)
        return expect_1d(lambda u: phi(u) ** n, q, order=order)

    def second_moment(self, q: Array | float, *, order: int = DEFAULT_ORDER_1D) -> Array:
        r""":math:`\mathbb E[\phi(\sqrt q z)^2]` (the variance map is σw² times this plus σb²)."""
        if self.closed_second_moment is not None:
            return self.closed_second_moment(jnp.asarray(q, dtype=float))
        return self.moment(q, 2, order=order)

    def derivative_second_moment(self, q: Array | float, *, order: int = DEFAULT_ORDER_1D) -> Array:
        r""":math:`\mathbb E[\phi'(\sqrt q z)^2]`; χ₁ = σw² times this at q* (Poole et al. 2016 eq. 7)."""
        if self.closed_derivative_second_moment is not None:
            return self.closed_derivative_second_moment(jnp.asarray(q, dtype=float))
        dphi = self._dphi_at(q)
        return expect_1d(lambda u: dphi(u) ** 2, q, order=order)

    def expect(self, g: Callable[[Array, Array, Array], Array], q: Array | float, *, order: int = DEFAULT_ORDER_1D) -> Array:
        r"""Generic :math:`\mathbb E[g(\phi(u), \phi'(u), u)]`, u ~ N(0, q) (kink-aware quadrature)."""
        phi, dphi = self._phi_at(q), self._dphi_at(q)
        return expect_1d(lambda u: g(phi(u), dphi(u), u), q, order=order)

    # ------------------------------------------------------------------ 2-D expectations
    def two_point(self, q1: Array | float, q12: Array | float, q2: Array | float, *, order: int = DEFAULT_ORDER_2D) -> Array:
        r""":math:`\mathbb E[\phi(u)\phi(v)]` for (u, v) ~ N(0, [[q1, q12], [q12, q2]])."""
        if self.closed_two_point is not None:
            q1, q12, q2 = (jnp.asarray(a, dtype=float) for a in (q1, q12, q2))
            return self.closed_two_point(q1, q12, q2)
        return self.quadrature_two_point(q1, q12, q2, order=order)

    def quadrature_two_point(self, q1: Array | float, q12: Array | float, q2: Array | float, *, order: int = DEFAULT_ORDER_2D) -> Array:
        """The 2-D Gauss–Hermite value of ``two_point`` (refused for non-smooth activations)."""
        if not self.smooth:
            raise NNFTInputError(
                "activation", f"{self.name!r} is not smooth: its 2-point expectation must use the closed form"
            )
        if self.needs_variance:
            a1 = jnp.asarray(q1, dtype=float)[..., None]
            a2 = jnp.asarray(q2, dtype=float)[..., None]
            return expect_2d(lambda u, v: self.fn(u, a1) * self.fn(v, a2), q1, q12, q2, order=order)
        return expect_2d(lambda u, v: self.fn(u) * self.fn(v), q1, q12, q2, order=order)

    def derivative_two_point(
        self, q1: Array | float, q12: Array | float, q2: Array | float, *, order: int = DEFAULT_ORDER_2D
    ) -> Array:
        r""":math:`\mathbb E[\phi'(u)\phi'(v)]` (= ∂/∂q12 of ``two_point``, Price's theorem)."""
        if self.closed_derivative_two_point is not None:
            q1, q12, q2 = (jnp.asarray(a, dtype=float) for a in (q1, q12, q2))
            return self.closed_derivative_two_point(q1, q12, q2)
        if not self.smooth:
            raise NNFTInputError("activation", f"{self.name!r} has no closed form for E[phi'(u) phi'(v)]")
        if self.needs_variance:
            a1 = jnp.asarray(q1, dtype=float)[..., None]
            a2 = jnp.asarray(q2, dtype=float)[..., None]
            return expect_2d(lambda u, v: self.derivative(u, a1) * self.derivative(v, a2), q1, q12, q2, order=order)
        return expect_2d(lambda u, v: self.derivative(u) * self.derivative(v), q1, q12, q2, order=order)

    @property
    def has_closed_two_point(self) -> bool:
        return self.closed_two_point is not None


# ====================================================================== piecewise linear family
def _abs_moment(n: int) -> float:
    """E|z|^n for z ~ N(0,1)."""
    return 2 ** (n / 2) * math.gamma((n + 1) / 2) / math.sqrt(math.pi)


def _arccos_parts(q1: Array, q12: Array, q2: Array) -> tuple[Array, Array]:
    """(√(q1 q2), θ) with cos θ = q12/√(q1 q2), clipped to [-1, 1]."""
    s = jnp.sqrt(q1 * q2)
    c = jnp.clip(q12 / jnp.where(s > 0, s, 1.0), -1.0, 1.0)
    return s, jnp.arccos(c)


def piecewise_linear(neg_slope: float, pos_slope: float, *, name: str | None = None, **params: Any) -> Activation:
    r"""φ(x) = a·x for x < 0 and b·x for x ≥ 0 (a = ``neg_slope``, b = ``pos_slope``): linear, ReLU, leaky, shaped.

    Writing φ = a x + (b − a) relu(x) and using E[u relu(v)] = q12/2 and the arc-cosine kernel
    E[relu(u) relu(v)] = √(q1 q2)(sin θ + (π − θ) cos θ)/(2π) (Cho & Saul 2009):

    .. math:: \mathbb E[\phi(u)\phi(v)] = \frac{a^2+b^2}{2} q_{12} + (b-a)^2 \frac{\sqrt{q_1q_2}}{2\pi}(\sin\theta - \theta\cos\theta),

    and with P(u>0, v>0) = (π − θ)/(2π) (Price's theorem gives the same):
    :math:`\mathbb E[\phi'(u)\phi'(v)] = a^2 + a(b-a) + (b-a)^2 (\pi-\theta)/(2\pi)`.
    """
    a, b = float(neg_slope), float(pos_slope)
    d = b - a

    def fn(x: Array) -> Array:
        return jnp.where(x >= 0, b * x, a * x)

    def dfn(x: Array) -> Array:
        return jnp.where(x >= 0, b, a) * jnp.ones_like(x)

    def moment(q: Array, n: int) -> Array:
        return q ** (n / 2) * _abs_moment(n) * (b**n + (-1) ** n * a**n) / 2

    @jax.custom_jvp
    def two_point(q1: Array, q12: Array, q2: Array) -> Array:
        s, th = _arccos_parts(q1, q12, q2)
        # a² q12 + a d q12 (cross terms: E[u relu(v)] = q12/2, twice) + d² J1
        j1 = s * (jnp.sin(th) + (jnp.pi - th) * jnp.cos(th)) / (2 * jnp.pi)
        return a * a * q12 + a * d * q12 + d * d * j1

    @two_point.defjvp
    def _two_point_jvp(primals, tangents):
        # analytic partials, finite also at |c| = 1 where autodiff through arccos gives inf·0:
        # ∂/∂q12 = a² + a d + d²(π − θ)/(2π) (Price), ∂/∂q1 = d² √(q2/q1) sin θ/(4π) (= ½E[φ''(u)φ(v)])
        q1, q12, q2 = primals
        t1, t12, t2 = tangents
        _, th = _arccos_parts(q1, q12, q2)
        sq1 = jnp.where(q1 > 0, q1, 1.0)
        sq2 = jnp.where(q2 > 0, q2, 1.0)
        d1 = jnp.where(q1 > 0, d * d * jnp.sqrt(q2 / sq1) * jnp.sin(th) / (4 * jnp.pi), 0.0)
        d2 = jnp.where(q2 > 0, d * d * jnp.sqrt(q1 / sq2) * jnp.sin(th) / (4 * jnp.pi), 0.0)
        d12 = a * a + a * d + d * d * (jnp.pi - th) / (2 * jnp.pi)
        return two_point(q1, q12, q2), d1 * t1 + d12 * t12 + d2 * t2

    def dtwo_point(q1: Array, q12: Array, q2: Array) -> Array:
        _, th = _arccos_parts(q1, q12, q2)
        return a * a + a * d + d * d * (jnp.pi - th) / (2 * jnp.pi)

    is_linear = a == b
    return Activation(
        name=name or ("linear" if is_linear and a == 1 else f"piecewise_linear({a:g},{b:g})"),
        fn=fn,
        smooth=is_linear,
        params={"neg_slope": a, "pos_slope": b, **params},
        closed_moment=moment,
        closed_two_point=two_point,
        closed_derivative_second_moment=lambda q: (a * a + b * b) / 2 * jnp.ones_like(q),
        closed_derivative_two_point=dtwo_point,
        derivative_fn=dfn,
    )


# ====================================================================== smooth closed forms
def _erf() -> Activation:
    def two_point(q1: Array, q12: Array, q2: Array) -> Array:
        return (2 / jnp.pi) * jnp.arcsin(2 * q12 / jnp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))

    def dtwo_point(q1: Array, q12: Array, q2: Array) -> Array:
        return (4 / jnp.pi) / jnp.sqrt((1 + 2 * q1) * (1 + 2 * q2) - 4 * q12**2)

    return Activation(
        name="erf",
        fn=jsp.erf,
        closed_second_moment=lambda q: (2 / jnp.pi) * jnp.arcsin(2 * q / (1 + 2 * q)),
        closed_two_point=two_point,
        closed_derivative_second_moment=lambda q: (4 / jnp.pi) / jnp.sqrt(1 + 4 * q),
        closed_derivative_two_point=dtwo_point,
        derivative_fn=lambda x: (2 / jnp.sqrt(jnp.pi)) * jnp.exp(-(x**2)),
    )


def _half_exp_sum(q1: Array, q12: Array, q2: Array, sign: float) -> Array:
    """e^{−(q1+q2)/2}·(e^{q12} ± e^{−q12})/2, written without overflow (inf·0) for large q12."""
    v = (q1 + q2) / 2
    return 0.5 * (jnp.exp(q12 - v) + sign * jnp.exp(-q12 - v))


def _sin() -> Activation:
    # E[sin u sin v] = e^{-(q1+q2)/2} sinh q12, E[cos u cos v] = e^{-(q1+q2)/2} cosh q12
    return Activation(
        name="sin",
        fn=jnp.sin,
        closed_second_moment=lambda q: 0.5 * (1 - jnp.exp(-2 * q)),
        closed_two_point=lambda q1, q12, q2: _half_exp_sum(q1, q12, q2, -1.0),
        closed_derivative_second_moment=lambda q: 0.5 * (1 + jnp.exp(-2 * q)),
        closed_derivative_two_point=lambda q1, q12, q2: _half_exp_sum(q1, q12, q2, 1.0),
        derivative_fn=jnp.cos,
    )


def _cos() -> Activation:
    return Activation(
        name="cos",
        fn=jnp.cos,
        closed_second_moment=lambda q: 0.5 * (1 + jnp.exp(-2 * q)),
        closed_two_point=lambda q1, q12, q2: _half_exp_sum(q1, q12, q2, 1.0),
        closed_derivative_second_moment=lambda q: 0.5 * (1 - jnp.exp(-2 * q)),
        closed_derivative_two_point=lambda q1, q12, q2: _half_exp_sum(q1, q12, q2, -1.0),
        derivative_fn=lambda x: -jnp.sin(x),
    )


def _gauss() -> Activation:
    r"""Gauss-net (Halverson–Maiti–Stoner 2020): φ_q(z) = e^{z}/√(e^{2q}) = e^{z − q}, q = Var z.

    E[φ(u)φ(v)] = e^{q12 − (q1+q2)/2} = e^{−E(u−v)²/2}, so the one-hidden-layer GP kernel is
    σb² + σW² exp(−σW²|x − x'|²/(2 d_in)) (HMS eq. for K_Gauss).
    """
    return Activation(
        name="gauss",
        fn=lambda z, q: jnp.exp(z - q),
        needs_variance=True,
        closed_moment=lambda q, n: jnp.exp(n * n * q / 2 - n * q),
        closed_two_point=lambda q1, q12, q2: jnp.exp(q12 - (q1 + q2) / 2),
        closed_derivative_second_moment=lambda q: jnp.ones_like(q),
        closed_derivative_two_point=lambda q1, q12, q2: jnp.exp(q12 - (q1 + q2) / 2),
        derivative_fn=lambda z, q: jnp.exp(z - q),
    )


def _shaped_tanh(depth: int, c: float = 1.0) -> Activation:
    r"""Shaped tanh φ(x) = (√L/c)·tanh(c x/√L): slope 1 at 0, curvature scale c/√L (note hamiltonians §2.4)."""
    depth = check_positive_int("depth", depth)
    s = math.sqrt(depth) / c
    return Activation(name="shaped_tanh", fn=lambda x: s * jnp.tanh(x / s), params={"depth": depth, "c": c})


def _gelu() -> Activation:
    return Activation(name="gelu", fn=lambda x: 0.5 * x * (1 + jsp.erf(x / jnp.sqrt(2.0))))


def _softplus() -> Activation:
    return Activation(name="softplus", fn=jax.nn.softplus)


def _shaped_relu(depth: int, c: float = 1.0, c_minus: float = 0.0) -> Activation:
    r"""Shaped ReLU (Li–Nica–Roy 2022): slopes s± = 1 + c±/√L, i.e. x + (c/√L)·relu(x) for c₋ = 0."""
    depth = check_positive_int("depth", depth)
    r = math.sqrt(depth)
    return piecewise_linear(1 + c_minus / r, 1 + c / r, name="shaped_relu", depth=depth, c=c, c_minus=c_minus)


_FACTORIES: dict[str, Callable[..., Activation]] = {
    "linear": lambda: piecewise_linear(1.0, 1.0, name="linear"),
    "relu": lambda: piecewise_linear(0.0, 1.0, name="relu"),
    "leaky_relu": lambda alpha=0.01: piecewise_linear(alpha, 1.0, name="leaky_relu", alpha=alpha),
    "shaped_relu": _shaped_relu,
    "erf": _erf,
    "tanh": lambda: Activation(name="tanh", fn=jnp.tanh, derivative_fn=lambda x: 1 - jnp.tanh(x) ** 2),
    "shaped_tanh": _shaped_tanh,
    "sin": _sin,
    "cos": _cos,
    "gauss": _gauss,
    "gelu": _gelu,
    "softplus": _softplus,
}
ACTIVATION_NAMES: tuple[str, ...] = tuple(_FACTORIES)
_ALIASES = {"identity": "linear", "gauss-net": "gauss", "gaussnet": "gauss", "exp": "gauss"}


def get_activation(spec: str | Activation | Callable[[Array], Array], **params: Any) -> Activation:
    """Return an :class:`Activation` from a name (with parameters), an Activation, or an elementwise callable.

    >>> get_activation("tanh").second_moment(1.0)          # E[tanh(z)^2], z ~ N(0, 1)
    >>> get_activation("shaped_relu", depth=64, c=1.0)
    >>> get_activation(lambda x: x * jax.nn.sigmoid(x))     # swish, by quadrature
    """
    if isinstance(spec, Activation):
        if params:
            raise NNFTInputError("activation", "parameters can only be given with an activation name")
        return spec
    if callable(spec):
        return Activation(name=getattr(spec, "__name__", "custom"), fn=spec, params=params)
    if not isinstance(spec, str):
        raise NNFTInputError("activation", f"must be a name, an Activation or a callable, got {type(spec).__name__}")
    key = _ALIASES.get(spec.lower().replace(" ", ""), spec.lower())
    if key not in _FACTORIES:
        raise NNFTInputError("activation", f"unknown activation {spec!r}; allowed: {', '.join(ACTIVATION_NAMES)}")
    try:
        return _named_activation(key, tuple(sorted(params.items())))
    except TypeError as e:
        raise NNFTInputError("activation", f"bad parameters for {key!r}: {e}") from None


@functools.lru_cache(maxsize=256)
def _named_activation(key: str, params: tuple[tuple[str, Any], ...]) -> Activation:
    """One Activation object per (name, parameters): jitted theory functions keyed on it compile once."""
    return _FACTORIES[key](**dict(params))
