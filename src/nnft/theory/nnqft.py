r"""Neural networks as field theories: Halverson, Maiti & Stoner 2020 ("HMS", arXiv:2008.08601).

Reference digest: ``shared/notes/nnqft.md`` ("note"). Section numbers below are the note's.

1. Architectures and GP kernels (note §1)
-----------------------------------------
The three single-hidden-layer nets of width N, :math:`x\in\mathbb R^{d}`, one output,

.. math::
   f(x) = b_1 + \sum_{j=1}^N W_{1j}\,g_j(x),\qquad g_j(x) = \phi(W_{0j}\cdot x + b_{0j}),\qquad
   W_0\sim\mathcal N(0,\sigma_W^2/d),\ W_1\sim\mathcal N(0,\sigma_W^2/N),\ b_0, b_1\sim\mathcal N(0,\sigma_b^2),

with φ = erf (Erf-net), max(0, ·) (ReLU-net, σb = 0 by default: note §1.1) or the Gauss-net's
:math:`\phi_q(z) = e^{z-q}`, :math:`q(x) = \sigma_b^2 + \sigma_W^2|x|^2/d` (the paper's normalisation, *not*
the public code's, which is wrong for d > 1). In ``docs/conventions.md`` language this is a depth-2
network (:class:`HMSNet` ``depth=2``); deeper nets (``depth > 2``, widths N…N,1) get their kernel from
:func:`nnft.kernels.nngp_kernel` and their samples from :func:`nnft.sampling.sample_chunk`.
The GP kernel is :math:`K = \sigma_b^2 + \sigma_W^2\,\mathbb E[\phi(z)\phi(z')]` (closed forms,
:meth:`HMSNet.kernel`), and for depth 2 :math:`\mathbb E[f(x)f(x')] = K(x,x')` holds *exactly at every N*.

2. Exact sampler
----------------
:func:`sample_outputs` draws network j from ``fold_in(root, j)``: the hidden layer from ``fold_in(key_j, 1)``
with the weight-space sampler's draws (:func:`nnft.sampling.weights.layer_weights`), then either the output
weights from ``fold_in(key_j, 2)`` (``method="weights"``: bit-identical to
``nnft.sampling.sample_chunk(..., method="weights")``, tested) or, by default, the M outputs directly from
their exact conditional law :math:`\mathcal N(0, \sigma_b^2 + \frac{\sigma_W^2}{N}g^Tg)` given the hidden
layer (``method="conditional"``: same distribution, about 3× faster at N = 1000 where drawing random numbers
dominates). Cost O(N·M·d) per network.

3. n-point functions, GP predictions, deviations (note §2.3–2.5)
-----------------------------------------------------------------
:func:`npoint_ensemble` streams :math:`G^{(n)}(x_{i_1}..x_{i_n}) = \langle f(x_{i_1})\cdots f(x_{i_n})\rangle` on the
index-sorted entries :math:`i_1\le\dots\le i_n` (:class:`nnft.stats.NPointMoments`), with the networks split
into ``n_chunks`` equal "experiments" by global index (network j is in chunk ⌊j·C/n⌋). :class:`Correlators`
gives the GP (Wick) predictions, the connected functions

.. math::
   G^{(4)}_c = \bar G_4 - G_{4,GP},\qquad
   G^{(6)}_c = \bar G_6 - \sum_{15}\bar G_4 K + 2\,G_{6,GP}

(K the exact kernel, as in the code), the normalised deviations
:math:`m_n = \langle|\bar G_n - G_{n,GP}|/G_{n,GP}\rangle_{\rm elements}` and backgrounds
:math:`\langle \mathrm{std}_{\rm chunks}(G_{n,c})/G_{n,GP}\rangle` (ddof = 0) exactly as note §2.4 (n = 2 over all
M² entries, n = 4, 6 over the sorted ones; elements with :math:`G_{GP} = 0` are left out and counted).
Standard errors of every derived number are chunk jackknife errors (valid for the nonlinear |·| and
ratios, and they carry the strong element-to-element correlations).

4. Exact finite-N cumulants (note §3.2)
---------------------------------------
Conditioned on the hidden layer, f is Gaussian with covariance :math:`\sigma_b^2 + \frac{\sigma_W^2}{N}\sum_j g_jg_j^T`,
so with the single-neuron moments :math:`M_k(x_1..x_k) = \mathbb E[g(x_1)\cdots g(x_k)]`:

.. math::
   G_c^{(4)} = \frac{\sigma_W^4}{N}\Big[3M_4 - \sum_3 M_2M_2\Big],\qquad
   G_c^{(6)} = \frac{\sigma_W^6}{N^2}\Big[15M_6 - 3\sum_{15}M_4M_2 + 2\sum_{15}M_2M_2M_2\Big]

(:func:`exact_npoint`). :func:`neuron_moments` computes :math:`M_k` in closed form for the Gauss-net and by a
nested kink-split Gauss–Legendre rule in the rank-r Gaussian (r ≤ d+1) of the pre-activations otherwise
(machine precision for r ≤ 2, ~1e-9 for r = 3). The same conditional-Gaussian structure gives every
single-input moment :math:`\mathbb E f(x)^{2m}` exactly (:func:`output_moments`; an exponential generating
function raised to the N-th power, all terms positive), which is what the heavy-tail diagnostics use.

5. EFT (note §3)
----------------
Action :math:`S = S_{GP} + \int_{[-\Lambda,\Lambda]^d} d^dx\,[\lambda f^4 + \kappa f^6]`; tree level:

.. math::
   G^{(4)}_c = -24\lambda\int\prod_{i=1}^4 K(x_i,x),\qquad
   G^{(6)}_c = -720\kappa\int\prod_{i=1}^6 K(x_i,x) + 576\lambda^2\sum_{10}\iint K_aK_bK_c(x)K(x,y)K_dK_eK_f(y).

:class:`EFTIntegrals` evaluates these over the cutoff box (tensor Gauss–Legendre on segments split at 0 and on
a geometric grid up to Λ; Λ = ∞ only where the integrand decays: the Gauss-net). The vertex legs use the
v2 code's propagator :math:`K_{EFT} = K - \sigma_b^2` by default (``propagator="full"`` for K); the
spectators of the 6-point prediction use the full K (note §3.3: the code's K_EFT spectators are a bug).
**Sign convention:** λ is the coupling of the action, so λ ≤ 0 where :math:`G_c^{(4)} > 0`; the code's
:math:`\lambda_m = +\delta G_4/\int` is −λ. No code here assumes a sign.

Couplings: :func:`fit_couplings` (weighted least squares with a chunk-jackknife error) of δG4 on the design
columns of λ0, λ2 (:math:`\lambda(x) = \lambda_0 + \lambda_2|x|^2`) and the non-local
:math:`\int\!\!\int\lambda_{NL}f(x)^2f(y)^2` (:meth:`EFTIntegrals.design`); :func:`lambda_elements` (the code's
per-element λ) and :func:`rg_fit` (pooled regression of log10|λ| on log10 Λ: slope −(d+4) for the
homogeneous ReLU-net, note §3.5); :func:`g6_prediction` (GP + λ term); :func:`kappa_elements` (κ from
:math:`G_c^{(6)}` after the λ² exchange); :func:`couplings_vs_width` (λN and κN² from the exact cumulants).

6. Heavy tails (Gauss-net)
--------------------------
The Gauss-net's hidden units are log-normal, so :math:`\mathbb E f^6` is dominated by neurons many standard
deviations out, which a finite sample does not contain: the sample mean of :math:`f^6` is then typically far
below the exact value (and occasionally far above), and its *sample* standard error is itself unreliable.
:func:`tail_diagnostics` decides this before any simulation, from exact moments (:func:`output_moments`):

* ``resolved``: the *typical* Monte Carlo value — the exact moment in an ensemble conditioned on no hidden
  pre-activation beyond the largest one that n·N sampled neurons are expected to contain — reproduces the
  exact n-point signal (m₄, m₆,c of the worst diagonal element) to 5 %;
* ``se_reliable``: the kurtosis κ of :math:`Y = f^n` is small enough for the sample variance of Y to be
  within 50 % (:math:`\sqrt{(\kappa-1)/n} < 0.5`).

A reproduction must show unresolved cells as such (note §4.3: the Gauss-net 6-point at every paper width, its
4-point below N ≈ 50–100 at 10⁵–10⁶ networks). ReLU is resolved at every width (its 6-point error bars are
unreliable at small N, where the exact standard error from :func:`output_moments` should be used); the Erf-net's
connected 6-point (≈ 1e-5 of G6 at N = 20) is so small that even the bounded erf's unsampled tail moves it,
and it is far below the noise floor anyway.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..activations import Activation, get_activation
from ..errors import NNFTInputError, check_finite_array, check_positive_int, check_variance
from ..stats.streaming import NPointMoments, multiset_indices, multiset_multiplicity, multiset_position, n_unique

__all__ = [
    "ARCHITECTURES",
    "HMSNet",
    "hms_net",
    "paper_inputs",
    "lam_fit_inputs",
    "PAPER_WIDTHS",
    "RG_CUTOFFS",
    "sample_outputs",
    "sample_outputs_loop",
    "SAMPLER_METHODS",
    "chunk_of",
    "accumulate_npoint",
    "npoint_ensemble",
    "NPointTask",
    "Estimate",
    "Correlators",
    "wick",
    "sum_over_pairs",
    "perfect_matchings",
    "neuron_moments",
    "ExactCorrelators",
    "exact_npoint",
    "output_moments",
    "TailDiagnostic",
    "tail_diagnostics",
    "box_rule",
    "EFTIntegrals",
    "CouplingFit",
    "fit_couplings",
    "lambda_elements",
    "RGFit",
    "rg_fit",
    "g6_prediction",
    "kappa_elements",
    "couplings_vs_width",
    "extract_lambda",
    "rg_flow",
    "g6_prediction_ratios",
]

ARCHITECTURES: tuple[str, ...] = ("gauss", "erf", "relu")
_LABELS = {"gauss": "Gauss-net", "erf": "Erf-net", "relu": "ReLU-net"}
PAPER_WIDTHS: tuple[int, ...] = (2, 3, 4, 5, 10, 20, 50, 100, 500, 1000)
#: the 21 cutoffs of the code's rg.py (note §3.3)
RG_CUTOFFS: tuple[float, ...] = (
    7, 10, 15, 20, 30, 40, 50, 70, 100, 200, 500, 1000, 2000, 5000, 7000,
    1e4, 2e4, 4e4, 6e4, 8e4, 1e5,
)  # fmt: skip
_F64 = np.float64


# ============================================================================ 1. architectures
@dataclass(frozen=True)
class HMSNet:
    r"""One HMS architecture: activation, input dimension, σW², σb² and depth (2 = one hidden layer).

    ``sb2=None`` picks the paper's value: 0 for ReLU (note §1.1: the only choice consistent with its
    positive input sets), 1 otherwise. ``activation`` is any :func:`nnft.activations.get_activation`
    name; the paper's three are ``"gauss"``, ``"erf"``, ``"relu"``.
    """

    activation: str
    input_dim: int = 1
    sw2: float = 1.0
    sb2: float | None = None
    depth: int = 2

    def __post_init__(self) -> None:
        act = get_activation(self.activation)  # raises on unknown names
        object.__setattr__(self, "activation", act.name)
        object.__setattr__(self, "input_dim", check_positive_int("input_dim", self.input_dim))
        object.__setattr__(self, "depth", check_positive_int("depth", self.depth, minimum=2))
        object.__setattr__(self, "sw2", check_variance("sw2", self.sw2, allow_zero=False))
        sb2 = (0.0 if act.name == "relu" else 1.0) if self.sb2 is None else self.sb2
        object.__setattr__(self, "sb2", check_variance("sb2", sb2))

    # ---------------------------------------------------------------- basics
    @property
    def act(self) -> Activation:
        return get_activation(self.activation)

    @property
    def label(self) -> str:
        base = _LABELS.get(self.activation, f"{self.activation}-net")
        return base if self.depth == 2 else f"{base} (depth {self.depth})"

    def describe(self) -> dict[str, Any]:
        return {
            "activation": self.activation,
            "input_dim": self.input_dim,
            "sw2": self.sw2,
            "sb2": self.sb2,
            "depth": self.depth,
        }

    def inputs(self, X: Any) -> np.ndarray:
        """Validate an input set: an (M, d) array (a 1-D array is M points when d = 1)."""
        X = check_finite_array("inputs", X)
        if X.ndim == 1:
            X = X[:, None] if self.input_dim == 1 else X[None, :]
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise NNFTInputError("inputs", f"must have shape (M, {self.input_dim}), got {X.shape}")
        return X

    def first_layer_kernel(self, X: Any, Y: Any | None = None) -> np.ndarray:
        r""":math:`K^1(x,y) = \sigma_b^2 + \sigma_W^2\,x\cdot y/d`, the covariance of the hidden pre-activations."""
        X = self.inputs(X)
        Y = X if Y is None else self.inputs(Y)
        return self.sb2 + self.sw2 * (X @ Y.T) / self.input_dim

    def preactivation_variance(self, X: Any) -> np.ndarray:
        r""":math:`q(x) = \sigma_b^2 + \sigma_W^2|x|^2/d` (the Gauss-net's normalisation)."""
        X = self.inputs(X)
        return self.sb2 + self.sw2 * np.sum(X * X, axis=1) / self.input_dim

    # ---------------------------------------------------------------- kernels
    def kernel(self, X: Any, Y: Any | None = None) -> np.ndarray:
        r"""GP kernel :math:`K(x, y)`, shape (M, P); closed form for depth 2, the kernel module beyond.

        Depth 2: :math:`K = \sigma_b^2 + \sigma_W^2\,\mathbb E[\phi(u)\phi(v)]` with (u, v) of covariance
        :math:`K^1` (arcsin kernel for erf, arc-cosine for ReLU, :math:`\sigma_b^2 + \sigma_W^2 e^{-\sigma_W^2|x-y|^2/2d}`
        for the Gauss-net).
        """
        X = self.inputs(X)
        same = Y is None
        Y = X if same else self.inputs(Y)
        if self.depth > 2:
            from ..kernels import nngp_kernel

            Z = X if same else np.concatenate([X, Y])
            K = np.asarray(nngp_kernel(Z, self.depth, self.activation, self.sw2, self.sb2))
            return K if same else K[: len(X), len(X) :]
        return _kernel2(self.act, X, Y, self.sw2, self.sb2, same)

    def propagator(self, X: Any, Y: Any | None = None, kind: str = "eft") -> np.ndarray:
        r"""Propagator of the EFT integrals: ``"eft"`` = :math:`K - \sigma_b^2` (v2 code), ``"full"`` = K."""
        if kind not in ("eft", "full"):
            raise NNFTInputError("propagator", f"must be 'eft' (K - sb2) or 'full' (K), got {kind!r}")
        K = self.kernel(X, Y)
        return K - self.sb2 if kind == "eft" else K

    def network_spec(self, width: int) -> Any:
        """The :class:`nnft.spec.NetworkSpec` of this net at hidden width ``width`` (widths N, …, N, 1)."""
        from ..spec import NetworkSpec

        width = check_positive_int("width", width)
        return NetworkSpec(
            depth=self.depth,
            width=(width,) * (self.depth - 1) + (1,),
            activation=self.activation,
            sw2=self.sw2,
            sb2=self.sb2,
            input_dim=self.input_dim,
        )


def hms_net(activation: str, input_dim: int = 1, **kw: Any) -> HMSNet:
    """Shorthand for :class:`HMSNet` (``hms_net("relu", 2)``)."""
    return HMSNet(activation, input_dim, **kw)


def _two_point_np(act: Activation, q1: np.ndarray, q12: np.ndarray, q2: np.ndarray) -> np.ndarray:
    r""":math:`\mathbb E[\phi(u)\phi(v)]` in NumPy for the paper's three nets (no per-shape XLA compilation on
    the large EFT grids); the activation's own closed form otherwise. Same formulas as :mod:`nnft.activations`."""
    name = act.name
    if name == "relu":
        s = np.sqrt(q1 * q2)
        c = np.clip(q12 / np.where(s > 0, s, 1.0), -1.0, 1.0)
        th = np.arccos(c)
        return s * (np.sin(th) + (np.pi - th) * c) / (2 * np.pi)
    if name == "erf":
        return (2 / np.pi) * np.arcsin(np.clip(2 * q12 / np.sqrt((1 + 2 * q1) * (1 + 2 * q2)), -1.0, 1.0))
    if name == "gauss":
        return np.exp(q12 - (q1 + q2) / 2)
    return np.array(act.two_point(q1, q12, q2), dtype=_F64)


def _kernel2(act: Activation, X: np.ndarray, Y: np.ndarray, sw2: float, sb2: float, same: bool) -> np.ndarray:
    d = X.shape[1]
    q1 = sb2 + sw2 * np.sum(X * X, axis=1) / d
    q2 = sb2 + sw2 * np.sum(Y * Y, axis=1) / d
    q12 = sb2 + sw2 * (X @ Y.T) / d
    E = _two_point_np(act, q1[:, None], q12, q2[None, :])
    if same:
        E[np.diag_indices(len(X))] = np.asarray(act.second_moment(q1), dtype=_F64)
    return sb2 + sw2 * E


# ============================================================================ inputs (note §2.2)
def paper_inputs(activation: str, input_dim: int = 1) -> np.ndarray:
    """The paper's input set for a net and d_in ∈ {1, 2, 3} (note §2.2), shape (M, d_in)."""
    act = get_activation(activation).name
    d = check_positive_int("input_dim", input_dim)
    erf_sets = {
        1: [[-1.0], [-0.6], [-0.2], [0.2], [0.6], [1.0]],
        2: [[-1, -1], [-1, 1], [1, -1], [1, 1]],
        3: [[-1, -1, -1], [1, 1, -1], [-1, 1, 1], [1, -1, 1]],
    }
    relu_sets = {
        1: [[0.2], [0.4], [0.6], [0.8], [1.0], [1.2]],
        2: [[0.5, 0.5], [0.5, 1], [1, 0.5], [1, 1]],
        3: [[0.2, 0.2, 0.2], [1, 1, 0.2], [0.2, 1, 1], [1, 0.2, 1]],
    }
    if d not in erf_sets:
        raise NNFTInputError("input_dim", f"the paper's input sets exist for d_in = 1, 2, 3, got {d}")
    if act == "erf":
        return np.asarray(erf_sets[d], dtype=_F64)
    if act == "gauss":
        return 0.01 * np.asarray(erf_sets[d], dtype=_F64)
    if act == "relu":
        return np.asarray(relu_sets[d], dtype=_F64)
    raise NNFTInputError("activation", f"the paper's input sets are for gauss, erf, relu; got {activation!r}")


def lam_fit_inputs(activation: str, which: str = "train") -> np.ndarray:
    r"""Input sets of the v2 λ fits (note §2.2): test = s·{0.2..1.2}, train = (√2/2)·test; s = 1 (ReLU), 0.01."""
    act = get_activation(activation).name
    if which not in ("train", "test"):
        raise NNFTInputError("which", f"must be 'train' or 'test', got {which!r}")
    s = 1.0 if act == "relu" else 0.01
    x = s * np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    if which == "train":
        x = (math.sqrt(2) / 2) * x
    return x[:, None]


# ============================================================================ 2. sampler
def _root_key(key: Any) -> jax.Array:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    try:
        arr = jnp.asarray(key)
    except TypeError:
        raise NNFTInputError("key", "must be an integer seed or a typed key (jax.random.key(seed))") from None
    if not jnp.issubdtype(arr.dtype, jax.dtypes.prng_key) or arr.ndim != 0:
        raise NNFTInputError("key", "must be one typed key from jax.random.key(seed) (legacy uint32 keys are refused)")
    return arr


@functools.lru_cache(maxsize=64)
def _output_fn(act: Activation, width: int, d: int, dtype: str, batch: int, method: str = "weights"):
    """Jitted (root, start, X, q, sw2, sb2) -> f (batch, M) for networks start .. start + batch − 1."""
    dt = jnp.dtype(dtype)

    from ..sampling.weights import layer_weights  # the weight-space sampler's draws: bit-compatible

    def one(key, X, q, sw2, sb2):
        w0, b0 = layer_weights(jax.random.fold_in(key, 1), width, d, sw2, sb2, dt)
        z = w0 @ X.T + b0[:, None]  # (N, M)
        g = (act(z, q[None, :]) if act.needs_variance else act(z)).astype(dt)
        if method == "weights":
            w1, b1 = layer_weights(jax.random.fold_in(key, 2), 1, width, sw2, sb2, dt)
            return (w1 @ g + b1[:, None])[0]
        # conditional: given the hidden layer, f ~ N(0, sb2 + (sw2/N) gᵀg) exactly (M normals instead of N + 1)
        S = sb2 + (sw2 / width) * (g.T @ g)
        lam, V = jnp.linalg.eigh(S)
        xi = jax.random.normal(jax.random.fold_in(key, 2), (X.shape[0],), dt)
        return V @ (jnp.sqrt(jnp.clip(lam, 0.0, None)) * xi)

    def run(root, start, X, q, sw2, sb2):
        idx = start + jnp.arange(batch, dtype=jnp.uint32)
        keys = jax.vmap(lambda i: jax.random.fold_in(root, i))(idx)
        return jax.vmap(one, in_axes=(0, None, None, None, None))(keys, X, q, sw2, sb2)

    return jax.jit(run)


SAMPLER_METHODS: tuple[str, ...] = ("weights", "conditional")


_BATCH_BYTES = 1 << 26


def sample_outputs(
    net: HMSNet,
    X: Any,
    width: int,
    n_networks: int,
    *,
    key: Any,
    start: int = 0,
    dtype: str = "float32",
    batch_size: int | None = None,
    method: str = "conditional",
) -> np.ndarray:
    r"""Outputs :math:`f(x_1..x_M)` of networks ``start .. start + n_networks − 1``, shape (n, M), float64.

    Network j draws from ``fold_in(root, j)`` (``key`` is a typed root key or an integer seed), so a
    network's outputs do not depend on batching or chunking. Depth 2 uses the dedicated vmapped sampler
    (O(N·M·d) per network, the same draws as ``nnft.sampling``'s weight-space sampler); deeper nets go
    through :func:`nnft.sampling.sample_chunk` (lattice method). ``dtype`` is the sampling precision.

    ``method``: ``"weights"`` draws every weight (bit-identical to ``nnft.sampling``'s weight-space sampler);
    ``"conditional"`` draws the hidden layer and then the outputs from their exact conditional law
    :math:`\mathcal N(0, \sigma_b^2 + \frac{\sigma_W^2}{N}g^Tg)` (M normals instead of N + 1: about 1.5× fewer
    random numbers for d = 1; same distribution, different stream).
    """
    X = net.inputs(X)
    width = check_positive_int("width", width)
    n = check_positive_int("n_networks", n_networks)
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
        raise NNFTInputError("start", f"must be an integer >= 0, got {start!r}")
    if start + n > 2**32:
        raise NNFTInputError("n_networks", "network indices are folded into keys as uint32 (< 2**32)")
    if dtype not in ("float32", "float64"):
        raise NNFTInputError("dtype", f"must be 'float32' or 'float64', got {dtype!r}")
    if method not in SAMPLER_METHODS:
        raise NNFTInputError("method", f"must be one of {', '.join(SAMPLER_METHODS)}, got {method!r}")
    root = _root_key(key)
    if net.depth > 2:
        from ..sampling import sample_chunk

        out = sample_chunk(
            net.network_spec(width), X, n, key=root, start=int(start), method="lattice", record="output", dtype=dtype
        )["output"]
        return np.asarray(out[:, 0, :], dtype=_F64)
    M = X.shape[0]
    item = np.dtype(dtype).itemsize
    if batch_size is None:
        # a power of two fixed by the width (not by n): one compiled shape per width, the tail is padded
        bs = max(1, min(8192, _BATCH_BYTES // (4 * item * width * max(M, X.shape[1]))))
        bs = 1 << int(math.log2(bs))
    else:
        bs = min(check_positive_int("batch_size", batch_size), n)
    fn = _output_fn(net.act, width, net.input_dim, dtype, bs, method)
    dt = jnp.dtype(dtype)
    Xj = jnp.asarray(X, dt)
    q = jnp.asarray(net.preactivation_variance(X), dt)
    sw, sb = jnp.asarray(net.sw2, dt), jnp.asarray(net.sb2, dt)
    out = np.empty((n, M), dtype=_F64)
    for lo in range(0, n, bs):
        hi = min(lo + bs, n)
        f = fn(root, jnp.uint32(start + lo), Xj, q, sw, sb)
        out[lo:hi] = np.asarray(f)[: hi - lo]
    return out


def sample_outputs_loop(net: HMSNet, X: Any, width: int, n_networks: int, *, seed: int = 0) -> np.ndarray:
    """Baseline: one network at a time in NumPy (as the public code does), for benchmarks and cross-checks.

    Same distribution as :func:`sample_outputs`, different random stream. Depth 2 only.
    """
    if net.depth != 2:
        raise NNFTInputError("net", "the per-network loop baseline is for one hidden layer (depth 2)")
    X = net.inputs(X)
    rng = np.random.default_rng(seed)
    d, N = net.input_dim, width
    q = net.preactivation_variance(X)
    act = net.act
    out = np.empty((n_networks, X.shape[0]))
    sw, sb = math.sqrt(net.sw2), math.sqrt(net.sb2)
    for j in range(n_networks):
        w0 = rng.standard_normal((N, d)) * (sw / math.sqrt(d))
        b0 = rng.standard_normal(N) * sb
        z = w0 @ X.T + b0[:, None]
        g = np.asarray(act(z, q[None, :]) if act.needs_variance else act(z))
        w1 = rng.standard_normal(N) * (sw / math.sqrt(N))
        out[j] = w1 @ g + rng.standard_normal() * sb
    return out


# ============================================================================ 3. n-point functions
def chunk_of(start: int, stop: int, n_networks: int, n_chunks: int) -> np.ndarray:
    """Chunk ("experiment") of networks start..stop−1: ⌊j·C/n⌋ (the rule of :func:`nnft.run.batch_ids`)."""
    j = np.arange(start, stop, dtype=np.int64)
    return (j * n_chunks) // n_networks


def accumulate_npoint(
    net: HMSNet,
    X: Any,
    width: int,
    start: int,
    stop: int,
    *,
    key: Any,
    n_networks: int,
    n_chunks: int = 10,
    orders: Iterable[int] = (2, 4, 6),
    dtype: str = "float32",
    block: int = 1 << 15,
    method: str = "conditional",
) -> NPointMoments:
    """Streaming n-point moments of networks [start, stop) of a run of ``n_networks``, grouped in chunks.

    Networks are sampled ``block`` at a time and reduced at once: memory stays at block × C(M+n−1, n).
    The result has a leading axis of length ``n_chunks`` and merges exactly with other ranges of the run.
    """
    X = net.inputs(X)
    orders = tuple(sorted({check_positive_int("orders", n) for n in orders}))
    n_chunks = check_positive_int("n_chunks", n_chunks)
    if not (0 <= start < stop <= n_networks):
        raise NNFTInputError("start/stop", f"need 0 <= start < stop <= n_networks, got {start}, {stop}, {n_networks}")
    out: NPointMoments | None = None
    for lo in range(start, stop, block):
        hi = min(lo + block, stop)
        f = sample_outputs(net, X, width, hi - lo, key=key, start=lo, dtype=dtype, method=method)
        part = NPointMoments.from_samples(
            f, orders=orders, groups=chunk_of(lo, hi, n_networks, n_chunks), n_groups=n_chunks
        )
        out = part if out is None else out.merge(part)
    assert out is not None
    return out


def npoint_ensemble(
    net: HMSNet,
    X: Any,
    width: int,
    n_networks: int,
    *,
    key: Any = 0,
    n_chunks: int = 10,
    orders: Iterable[int] = (2, 4, 6),
    dtype: str = "float32",
    block: int = 1 << 15,
    method: str = "conditional",
    progress: Callable[[int, int], None] | None = None,
) -> Correlators:
    """Sample ``n_networks`` networks of hidden width ``width`` and return their :class:`Correlators`.

    For resumable paper-scale runs use :class:`NPointTask` with :func:`nnft.run.run` (same numbers).
    """
    X = net.inputs(X)
    n = check_positive_int("n_networks", n_networks)
    n_chunks = check_positive_int("n_chunks", n_chunks)
    if n < 2 * n_chunks:
        raise NNFTInputError("n_networks", f"need at least 2 networks per chunk ({2 * n_chunks}), got {n}")
    stats: NPointMoments | None = None
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        part = accumulate_npoint(
            net, X, width, lo, hi, key=key, n_networks=n, n_chunks=n_chunks, orders=orders, dtype=dtype, block=block,
            method=method,
        )
        stats = part if stats is None else stats.merge(part)
        if progress is not None:
            progress(hi, n)
    assert stats is not None
    return Correlators(net, X, int(width), stats)


@dataclass(frozen=True)
class NPointTask:
    """A :class:`nnft.run.RunTask`: n-point moments of one (net, inputs, width) for chunked, resumable runs.

    The run's batches are the "experiments" (use ``n_batches = n_chunks``); statistic ``"f"``.
    ``Correlators.from_run(task, dataset_or_stats)`` rebuilds the analysis.
    """

    activation: str
    input_dim: int
    sw2: float
    sb2: float
    inputs: tuple[tuple[float, ...], ...]
    width: int
    seed: int = 0
    orders: tuple[int, ...] = (2, 4, 6)
    dtype: str = "float32"
    depth: int = 2
    method: str = "conditional"

    @classmethod
    def make(
        cls, net: HMSNet, X: Any, width: int, *, seed: int = 0, orders=(2, 4, 6), dtype="float32", method="conditional"
    ) -> NPointTask:
        X = net.inputs(X)
        return cls(
            net.activation, net.input_dim, float(net.sw2), float(net.sb2), tuple(map(tuple, X.tolist())),
            int(width), int(seed), tuple(int(n) for n in orders), dtype, net.depth, method,
        )  # fmt: skip

    @property
    def net(self) -> HMSNet:
        return HMSNet(self.activation, self.input_dim, self.sw2, self.sb2, self.depth)

    @property
    def identity(self) -> dict[str, Any]:
        return {"task": "nnqft-npoint", **self.net.describe(), "inputs": [list(r) for r in self.inputs],
                "width": self.width, "seed": self.seed, "orders": list(self.orders), "dtype": self.dtype,
                "method": self.method}  # fmt: skip

    def __call__(self, chunk: Any) -> Any:
        from ..run.store import ChunkData

        stats = accumulate_npoint(
            self.net, np.asarray(self.inputs), self.width, chunk.start, chunk.stop, key=self.seed,
            n_networks=chunk.n_networks, n_chunks=chunk.n_batches, orders=self.orders, dtype=self.dtype,
            method=self.method,
        )  # fmt: skip
        return ChunkData({}, {"f": stats}, {"f": ()})

    def attrs(self) -> dict[str, Any]:
        return {"task": "nnqft-npoint", "activation": self.activation, "width": self.width, "seed": self.seed}

    def coords(self) -> dict[str, Any]:
        return {}


# ---------------------------------------------------------------------------- combinatorics
@functools.lru_cache(maxsize=16)
def perfect_matchings(n: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """All perfect matchings of positions 0..n−1 ((n−1)!! of them; 3 for n = 4, 15 for n = 6)."""
    def rec(items: tuple[int, ...]):
        if not items:
            yield ()
            return
        a = items[0]
        for k in range(1, len(items)):
            rest = items[1:k] + items[k + 1 :]
            for m in rec(rest):
                yield ((a, items[k]),) + m

    if n % 2:
        raise NNFTInputError("n", f"perfect matchings need an even number of points, got {n}")
    return tuple(rec(tuple(range(n))))


def wick(K: Any, n: int) -> np.ndarray:
    r"""GP prediction :math:`\sum_{\rm matchings}\prod K` on the sorted n-tuples of the M inputs, shape (U_n,)."""
    K = np.asarray(K, dtype=_F64)
    idx = multiset_indices(K.shape[0], n)
    out = np.zeros(len(idx))
    for m in perfect_matchings(n):
        term = np.ones(len(idx))
        for a, b in m:
            term = term * K[idx[:, a], idx[:, b]]
        out += term
    return out


@functools.lru_cache(maxsize=32)
def _pair_table(M: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each sorted n-tuple and each of the C(n,2) position pairs: (input a, input b, position of the rest)."""
    idx = multiset_indices(M, n)
    pairs = list(itertools.combinations(range(n), 2))
    A = np.empty((len(idx), len(pairs)), np.int64)
    B = np.empty_like(A)
    R = np.empty_like(A)
    for p, (a, b) in enumerate(pairs):
        rest = [k for k in range(n) if k not in (a, b)]
        A[:, p], B[:, p] = idx[:, a], idx[:, b]
        R[:, p] = multiset_position(M, idx[:, rest]) if rest else 0
    for arr in (A, B, R):
        arr.setflags(write=False)
    return A, B, R


def sum_over_pairs(G_rest: Any, K: Any, n: int) -> np.ndarray:
    r""":math:`\sum_{\text{pairs }(a,b)} G^{(n-2)}(\text{rest})\,K(x_a,x_b)` on the sorted n-tuples (15 pairs for n = 6).

    ``G_rest`` is on the sorted (n−2)-tuples (last axis), K is (M, M); leading axes of G broadcast.
    """
    K = np.asarray(K, dtype=_F64)
    A, B, R = _pair_table(K.shape[0], n)
    G = np.asarray(G_rest, dtype=_F64)
    return np.sum(G[..., R] * K[A, B], axis=-1)


@functools.lru_cache(maxsize=32)
def _split_table(M: int) -> tuple[np.ndarray, np.ndarray]:
    """The 10 splits {abc|def} of each sorted 6-tuple: positions of the two sorted triples (U6, 10)."""
    idx = multiset_indices(M, 6)
    splits = [s for s in itertools.combinations(range(6), 3) if 0 in s]
    L = np.empty((len(idx), len(splits)), np.int64)
    Rr = np.empty_like(L)
    for p, s in enumerate(splits):
        rest = [k for k in range(6) if k not in s]
        L[:, p] = multiset_position(M, idx[:, list(s)])
        Rr[:, p] = multiset_position(M, idx[:, rest])
    return L, Rr


def _element_weights(M: int, n: int) -> np.ndarray:
    """Element weights of the code's averages: n = 2 over all M² entries, n ≥ 3 over the sorted tuples."""
    if n == 2:
        return multiset_multiplicity(M, 2).astype(_F64)
    return np.ones(n_unique(M, n))


# ---------------------------------------------------------------------------- estimates
@dataclass(frozen=True)
class Estimate:
    """A derived Monte Carlo number: value, chunk-jackknife standard error, background (where defined)."""

    value: float
    se: float
    background: float = float("nan")
    n_elements: int = 0
    n_excluded: int = 0

    def __float__(self) -> float:
        return float(self.value)


def _avg(values: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    w = weights * mask
    return np.sum(np.where(mask, values, 0.0) * w, axis=-1) / np.sum(w)


def _jackknife(fn: Callable[[Callable[[int], np.ndarray]], Any], means: dict[int, np.ndarray], counts: np.ndarray):
    """Value of ``fn(G)`` on the full sample and its chunk jackknife standard error.

    ``means[n]`` are per-chunk means (C, U_n); ``fn`` receives a getter ``G(n) -> (U_n,)``.
    """
    c = counts.astype(_F64)
    tot = c.sum()
    sums = {n: np.einsum("c,cu->u", c, m) for n, m in means.items()}
    full = np.asarray(fn(lambda n: sums[n] / tot), dtype=_F64)
    use = np.flatnonzero(c > 0)
    C = len(use)
    if C < 2:
        return full, np.full_like(full, np.nan)
    loo = np.stack([np.asarray(fn(lambda n, k=k: (sums[n] - c[k] * means[n][k]) / (tot - c[k])), _F64) for k in use])
    se = np.sqrt((C - 1) / C * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    return full, se


@dataclass(frozen=True, eq=False)
class Correlators:
    r"""Monte Carlo n-point functions of one ensemble and everything derived from them (note §2.3–2.5).

    ``stats`` is an :class:`~nnft.stats.NPointMoments` with a leading axis of chunks ("experiments").
    The GP reference uses the exact kernel :meth:`HMSNet.kernel` (which *is* the 2-point function at
    every N for depth 2).
    """

    net: HMSNet
    inputs: np.ndarray
    width: int
    stats: NPointMoments

    # ---------------------------------------------------------------- basics
    @classmethod
    def from_run(cls, task: NPointTask, stats: NPointMoments) -> Correlators:
        return cls(task.net, np.asarray(task.inputs, dtype=_F64), task.width, stats)

    @functools.cached_property
    def K(self) -> np.ndarray:
        return self.net.kernel(self.inputs)

    @property
    def M(self) -> int:
        return self.inputs.shape[0]

    @property
    def orders(self) -> tuple[int, ...]:
        return self.stats.orders

    @property
    def n_chunks(self) -> int:
        return int(self.stats.shape[0])

    @functools.cached_property
    def counts(self) -> np.ndarray:
        return np.asarray(self.stats.count(), dtype=np.int64)

    @property
    def n_networks(self) -> int:
        return int(self.counts.sum())

    @functools.cached_property
    def _merged(self) -> NPointMoments:
        return self.stats.reduce(0)

    def mean(self, n: int) -> np.ndarray:
        r""":math:`\bar G^{(n)}` on the sorted n-tuples (over all networks)."""
        return self._merged.mean(n)

    def se(self, n: int) -> np.ndarray:
        r"""Standard error of each element of :math:`\\bar G^{(n)}` (its own sample variance)."""
        return self._merged.se(n)

    def chunk_means(self, n: int) -> np.ndarray:
        """:math:`G^{(n)}` of each chunk, shape (C, U_n)."""
        return self.stats.mean(n)

    def indices(self, n: int) -> np.ndarray:
        return multiset_indices(self.M, n)

    def gp(self, n: int) -> np.ndarray:
        """GP (Wick) prediction on the sorted n-tuples."""
        return wick(self.K, n)

    def _means(self, orders: Sequence[int]) -> dict[int, np.ndarray]:
        return {n: self.chunk_means(n) for n in orders}

    def jackknife(self, fn: Callable[[Callable[[int], np.ndarray]], Any], orders: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``fn(G)`` with ``G(n)`` the n-point function, and its chunk-jackknife s.e."""
        return _jackknife(fn, self._means(orders), self.counts)

    def _mask(self, gp: np.ndarray) -> np.ndarray:
        return np.abs(gp) > 1e-12 * np.max(np.abs(gp))

    # ---------------------------------------------------------------- deviations
    def deviation(self, n: int) -> Estimate:
        r""":math:`m_n = \langle|\bar G_n - G_{n,GP}|/G_{n,GP}\rangle` and its background (note §2.4)."""
        gp = self.gp(n)
        mask = self._mask(gp)
        w = _element_weights(self.M, n)
        val, se = self.jackknife(lambda G: _avg(np.abs(G(n) - gp) / np.where(mask, gp, 1.0), w, mask), [n])
        bg = _avg(np.std(self.chunk_means(n), axis=0, ddof=0) / np.where(mask, np.abs(gp), 1.0), w, mask)
        return Estimate(float(val), float(se), float(bg), int(mask.sum()), int((~mask).sum()))

    def connected(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        r"""Connected n-point function on the sorted tuples and its per-element jackknife s.e. (n = 4, 6)."""
        fn = self.connected_function(n)
        return self.jackknife(fn, [4, 6] if n == 6 else [4])

    def connected_function(self, n: int):
        K = self.K
        if n == 4:
            gp4 = self.gp(4)
            return lambda G: G(4) - gp4
        if n == 6:
            gp6 = self.gp(6)
            return lambda G: G(6) - sum_over_pairs(G(4), K, 6) + 2 * gp6
        raise NNFTInputError("n", f"connected functions are provided for n = 4 and 6, got {n}")

    def connected_deviation(self) -> Estimate:
        r""":math:`m_{6,c} = \langle|G^{(6)}_c|/G_{6,GP}\rangle`; background :math:`\langle(\mathrm{std}_6 + \sum_{15}\mathrm{std}_4K)/G_{6,GP}\rangle`."""
        gp = self.gp(6)
        mask = self._mask(gp)
        w = _element_weights(self.M, 6)
        conn = self.connected_function(6)
        val, se = self.jackknife(lambda G: _avg(np.abs(conn(G)) / np.where(mask, gp, 1.0), w, mask), [4, 6])
        s6 = np.std(self.chunk_means(6), axis=0, ddof=0)
        s4 = np.std(self.chunk_means(4), axis=0, ddof=0)
        bg = _avg((s6 + sum_over_pairs(s4, self.K, 6)) / np.where(mask, np.abs(gp), 1.0), w, mask)
        return Estimate(float(val), float(se), float(bg), int(mask.sum()), int((~mask).sum()))

    def ratio(self, n: int) -> Estimate:
        r"""Element mean of :math:`\bar G_n/G_{n,GP}` (signed; 1 for a GP)."""
        gp = self.gp(n)
        mask = self._mask(gp)
        w = _element_weights(self.M, n)
        val, se = self.jackknife(lambda G: _avg(G(n) / np.where(mask, gp, 1.0), w, mask), [n])
        return Estimate(float(val), float(se), float("nan"), int(mask.sum()), int((~mask).sum()))

    def tail_diagnostics(self, orders: Iterable[int] = (2, 4, 6)) -> list[TailDiagnostic]:
        """:func:`tail_diagnostics` for this ensemble (all networks, and per chunk)."""
        return tail_diagnostics(self.net, self.inputs, self.width, self.n_networks, orders=orders, n_chunks=self.n_chunks)


# ============================================================================ 4. exact theory
_GL_CUT = 13.0  # Gaussian weight beyond 13 standard deviations < 1e-37
#: extra fixed segment ends of the nested rule: short segments let Gauss–Legendre resolve the Gaussian weight
_FIXED_SPLITS = np.array([-7.0, -4.0, -2.0, 2.0, 4.0, 7.0])


def _gl(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _segments_gauss(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre on consecutive segments (rows of ``edges``) against the standard normal density."""
    x, w = _gl(order)
    lo, hi = edges[:, :-1], edges[:, 1:]
    h = (hi - lo)[..., None] / 2
    t = lo[..., None] + h * (x + 1)
    wt = h * w * np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    P = edges.shape[0]
    return t.reshape(P, -1), wt.reshape(P, -1)


def _breakpoint_maps(A: np.ndarray, j: int) -> np.ndarray:
    """Linear maps v with breakpoints ξ_j = v·ξ_{<j} of the nested rule at level j (see ``_nested_rule``)."""
    M, r = A.shape
    m = r - j
    e0 = np.zeros(m)
    e0[0] = 1.0
    out = []
    for s in range(1, m + 1):
        for S in itertools.combinations(range(M), s):
            B = A[list(S), j:]
            if np.linalg.matrix_rank(B, tol=1e-10 * max(1.0, np.abs(B).max())) < s:
                continue
            y, *_ = np.linalg.lstsq(B.T, e0, rcond=None)
            if np.linalg.norm(B.T @ y - e0) > 1e-9:
                continue
            out.append(-A[list(S), :j].T @ y)
    if not out:
        return np.zeros((0, j))
    return np.unique(np.round(np.asarray(out).reshape(len(out), j), 12), axis=0)


def _nested_rule(A: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes ξ (P, r) and weights for :math:`\mathbb E_\xi[F(A\xi)]`, ξ ~ N(0, I_r), F kinked on the planes A_a·ξ = 0.

    Variable j is integrated by Gauss–Legendre (``order`` nodes per segment) between breakpoints: the
    ξ_j-coordinates of every flat of the arrangement {A_a·ξ = 0} (given ξ_{<j}) whose projection on ξ_j is
    a point. Between them the partial integral over ξ_{>j} is analytic for piecewise-analytic F, so the
    rule converges exponentially (machine precision for piecewise polynomials).
    """
    r = A.shape[1]
    nodes = np.zeros((1, 0))
    wts = np.ones(1)
    for j in range(r):
        V = _breakpoint_maps(A, j)
        bp = np.clip(nodes @ V.T, -_GL_CUT, _GL_CUT) if len(V) else np.zeros((nodes.shape[0], 0))
        P = nodes.shape[0]
        fixed = np.broadcast_to(_FIXED_SPLITS, (P, len(_FIXED_SPLITS)))
        edges = np.sort(np.concatenate([np.full((P, 1), -_GL_CUT), bp, fixed, np.full((P, 1), _GL_CUT)], axis=1), axis=1)
        t, wt = _segments_gauss(edges, order)
        keep = wt > 0
        rows = np.nonzero(keep)
        nodes = np.concatenate([nodes[rows[0]], t[keep][:, None]], axis=1)
        wts = wts[rows[0]] * wt[keep]
    return nodes, wts


def _gh_rule(r: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    from ..gaussian import gauss_hermite

    x, w = gauss_hermite(order)
    grids = np.meshgrid(*([x] * r), indexing="ij")
    ws = np.meshgrid(*([w] * r), indexing="ij")
    return np.stack([g.ravel() for g in grids], -1), np.prod(np.stack([v.ravel() for v in ws], -1), -1)


def _factor_psd(K: np.ndarray) -> np.ndarray:
    """A (M, r) with A Aᵀ = K, r = numerical rank."""
    e, U = np.linalg.eigh(K)
    keep = e > 1e-12 * max(e.max(), 1e-300)
    return U[:, keep] * np.sqrt(e[keep])[None, :]


_NODE_BUDGET = 4_000_000


def _neuron_rule(net: HMSNet, X: np.ndarray, order: int | None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Pre-activation values Z (P, M) and weights of a quadrature for E over (z_1..z_M) ~ N(0, K¹)."""
    A = _factor_psd(net.first_layer_kernel(X))
    r = A.shape[1]
    act = net.act
    if r == 0:
        return np.zeros((1, X.shape[0])), np.ones(1), {"rule": "point", "rank": 0, "order": 0}
    if r <= 3:
        n = order or {1: 24, 2: 16, 3: 10}[r]
        xi, w = _nested_rule(A, n)
        info = {"rule": "nested-split", "rank": r, "order": n}
    elif act.smooth:
        n = order or (40 if r == 4 else max(4, int((2 * _NODE_BUDGET) ** (1 / r))))
        xi, w = _gh_rule(r, n)
        info = {"rule": "gauss-hermite", "rank": r, "order": n}
    else:
        raise NNFTInputError(
            "inputs", f"exact moments of the non-smooth {act.name!r} neuron are implemented for pre-activations of "
            f"rank <= 3 (here {r}: d_in + 1 with a bias); use d_in <= 2, or sb2 = 0 with d_in <= 3"
        )
    if xi.shape[0] > 4 * _NODE_BUDGET:
        raise NNFTInputError(
            "inputs", f"exact neuron moments need a rank-{r} quadrature with {xi.shape[0]} nodes; "
            "use fewer/lower-dimensional inputs or a smaller order"
        )
    info["nodes"] = int(xi.shape[0])
    return xi @ A.T, w, info


@functools.lru_cache(maxsize=32)
def _tuple_tree(M: int, nmax: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Sorted k-tuple u = (parent (k−1)-tuple, last index): products grow one factor per order."""
    tree = {}
    for k in range(2, nmax + 1):
        idx = multiset_indices(M, k)
        tree[k] = (multiset_position(M, idx[:, :-1]), idx[:, -1].copy())
    return tree


def neuron_moments(
    net: HMSNet, X: Any, orders: Iterable[int] = (2, 4, 6), *, order: int | None = None, info: bool = False
) -> dict[int, np.ndarray] | tuple[dict[int, np.ndarray], dict[str, Any]]:
    r"""Single-neuron moments :math:`M_n(x_{i_1}..x_{i_n}) = \mathbb E[g(x_{i_1})\cdots g(x_{i_n})]` on sorted n-tuples.

    :math:`g(x) = \phi(W_0\cdot x + b_0)`. Gauss-net: closed form :math:`\exp(\tfrac12\sum_{kl}K^1_{i_ki_l} - \sum_k q_{i_k})`.
    Otherwise quadrature over the rank-r Gaussian of the pre-activations (r ≤ d + 1): a nested Gauss–Legendre
    rule split at every kink flat (exact to rounding for ReLU with r ≤ 2; ~1e-9 at r = 3), tensor
    Gauss–Hermite for smooth activations with r ≥ 3. ``order``: nodes per segment / per dimension.
    """
    if net.depth != 2:
        raise NNFTInputError("net", "single-neuron moments are defined for one hidden layer (depth 2)")
    X = net.inputs(X)
    orders = tuple(sorted({check_positive_int("orders", n) for n in orders}))
    M = X.shape[0]
    out: dict[int, np.ndarray] = {}
    if net.act.name == "gauss":
        K1 = net.first_layer_kernel(X)
        q = np.diag(K1)
        for n in orders:
            idx = multiset_indices(M, n)
            quad = K1[idx[:, :, None], idx[:, None, :]].sum(axis=(1, 2))
            out[n] = np.exp(0.5 * quad - q[idx].sum(axis=1))
        meta = {"rule": "closed-form", "rank": int(np.linalg.matrix_rank(K1)), "order": 0, "nodes": 0}
        return (out, meta) if info else out
    Z, w, meta = _neuron_rule(net, X, order)
    act = net.act
    q = jnp.asarray(net.preactivation_variance(X))
    nmax = max(orders)
    tree = _tuple_tree(M, nmax)
    for n in orders:
        out[n] = np.zeros(n_unique(M, n))
    blk = max(1, (1 << 24) // max(sum(n_unique(M, k) for k in range(1, nmax + 1)), 1))
    for lo in range(0, Z.shape[0], blk):
        z = jnp.asarray(Z[lo : lo + blk])
        phi = np.asarray(act(z, q[None, :]) if act.needs_variance else act(z), dtype=_F64)
        wb = w[lo : lo + blk]
        prod = phi
        for k in range(1, nmax + 1):
            if k > 1:
                parent, last = tree[k]
                prod = prod[:, parent] * phi[:, last]
            if k in out:
                out[k] += wb @ prod
    return (out, meta) if info else out


@dataclass(frozen=True, eq=False)
class ExactCorrelators:
    r"""Infinite-sample n-point functions of a width-N HMS net from the exact cumulants (note §3.2).

    ``G[n]`` on the sorted n-tuples (n = 2, 4, 6), ``Gc[4]``, ``Gc[6]`` the connected parts,
    ``moments`` the single-neuron moments used. :meth:`deviation` and :meth:`connected_deviation`
    are the code's m_n and m6_conn evaluated on these (what an infinite Monte Carlo sample would give).
    """

    net: HMSNet
    inputs: np.ndarray
    width: int
    K: np.ndarray
    G: dict[int, np.ndarray]
    Gc: dict[int, np.ndarray]
    moments: dict[int, np.ndarray]

    @property
    def M(self) -> int:
        return self.inputs.shape[0]

    def gp(self, n: int) -> np.ndarray:
        return wick(self.K, n)

    def deviation(self, n: int) -> float:
        gp = self.gp(n)
        mask = np.abs(gp) > 1e-12 * np.max(np.abs(gp))
        return float(_avg(np.abs(self.G[n] - gp) / np.where(mask, gp, 1.0), _element_weights(self.M, n), mask))

    def connected_deviation(self) -> float:
        gp = self.gp(6)
        mask = np.abs(gp) > 1e-12 * np.max(np.abs(gp))
        return float(_avg(np.abs(self.Gc[6]) / np.where(mask, gp, 1.0), _element_weights(self.M, 6), mask))

    def ratio(self, n: int) -> float:
        gp = self.gp(n)
        mask = np.abs(gp) > 1e-12 * np.max(np.abs(gp))
        return float(_avg(self.G[n] / np.where(mask, gp, 1.0), _element_weights(self.M, n), mask))


def exact_npoint(net: HMSNet, X: Any, width: int, *, order: int | None = None, moments: dict | None = None) -> ExactCorrelators:
    r"""Exact 2-, 4-, 6-point functions of the width-N net (note §3.2):

    :math:`G_2 = K`, :math:`G_{4,c} = \frac{\sigma_W^4}{N}[3M_4 - \sum_3M_2M_2]`,
    :math:`G_{6,c} = \frac{\sigma_W^6}{N^2}[15M_6 - 3\sum_{15}M_4M_2 + 2\sum_{15}M_2M_2M_2]`,
    :math:`G_4 = G_{4,GP} + G_{4,c}`, :math:`G_6 = G_{6,GP} + \sum_{15}G_{4,c}K + G_{6,c}`.
    Pass ``moments`` (from :func:`neuron_moments`) to reuse them across widths.
    """
    X = net.inputs(X)
    N = check_positive_int("width", width)
    mom = moments if moments is not None else neuron_moments(net, X, (2, 4, 6), order=order)
    M = X.shape[0]
    M2 = np.zeros((M, M))
    i2 = multiset_indices(M, 2)
    M2[i2[:, 0], i2[:, 1]] = mom[2]
    M2[i2[:, 1], i2[:, 0]] = mom[2]
    K = net.kernel(X)
    s = net.sw2
    g4c = s**2 / N * (3 * mom[4] - wick(M2, 4))
    g6c = s**3 / N**2 * (15 * mom[6] - 3 * sum_over_pairs(mom[4], M2, 6) + 2 * wick(M2, 6))
    G = {2: K[i2[:, 0], i2[:, 1]].copy(), 4: wick(K, 4) + g4c}
    G[6] = wick(K, 6) + sum_over_pairs(g4c, K, 6) + g6c
    return ExactCorrelators(net, X, N, K, G, {4: g4c, 6: g6c}, dict(mom))


def _poly_pow(p: np.ndarray, n: int, deg: int) -> np.ndarray:
    """(p(t))^n truncated at degree ``deg`` (binary exponentiation)."""
    result = np.zeros(deg + 1)
    result[0] = 1.0
    base = p[: deg + 1].copy()
    while n:
        if n & 1:
            result = np.convolve(result, base)[: deg + 1]
        n >>= 1
        if n:
            base = np.convolve(base, base)[: deg + 1]
    return result


def _neuron_even_moments(act: Activation, q: float, mmax: int, cut: float | None) -> np.ndarray:
    r""":math:`\mathbb E[g^{2j}\,|\,|z| \le c\sqrt q]`, z ~ N(0, q), j = 0..mmax (no truncation for ``cut=None``)."""
    if cut is None:
        return np.array([1.0] + [float(act.moment(q, 2 * j)) for j in range(1, mmax + 1)])
    c = float(cut)
    if act.name == "gauss":  # E[e^{2j(z-q)}; |z| <= c√q] = e^{2j²q-2jq} [Φ(c - 2j√q) - Φ(-c - 2j√q)]
        from scipy.special import ndtr

        rq = math.sqrt(q)
        m = np.array(
            [math.exp(2 * j * j * q - 2 * j * q) * (ndtr(c - 2 * j * rq) - ndtr(-c - 2 * j * rq)) for j in range(mmax + 1)]
        )
        return m / m[0]
    x, w = _gl(64)
    edges = np.unique(np.clip([-c, -4.0, 0.0, 4.0, c], -c, c))
    t = np.concatenate([a + (b - a) * (x + 1) / 2 for a, b in zip(edges[:-1], edges[1:])])
    wt = np.concatenate([(b - a) / 2 * w for a, b in zip(edges[:-1], edges[1:])]) * np.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    z = jnp.asarray(math.sqrt(q) * t)
    g = np.asarray(act(z, jnp.asarray(q)) if act.needs_variance else act(z), dtype=_F64)
    m = np.array([float(np.sum(wt * g ** (2 * j))) for j in range(mmax + 1)])
    return m / m[0]


def output_moments(net: HMSNet, x: Any, width: int, max_order: int, *, truncate: float | None = None) -> np.ndarray:
    r"""Exact :math:`\mathbb E[f(x)^{k}]` for k = 0..max_order at one input x (odd k are 0).

    Given the hidden layer, :math:`f \sim \mathcal N(0, s^2)` with :math:`s^2 = \sigma_b^2 + \frac{\sigma_W^2}{N}\sum_j g_j^2`,
    so :math:`\mathbb E f^{2m} = (2m-1)!!\,\mathbb E s^{2m}`, and the exponential generating function of
    :math:`s^2` is :math:`e^{\sigma_b^2t}\,P(\sigma_W^2t/N)^N` with :math:`P(t) = \sum_j \mathbb E[g^{2j}]t^j/j!`:
    every coefficient is positive, so the result has no cancellation (Gauss-net moments up to e^{260} are fine).

    ``truncate = c``: every hidden pre-activation is conditioned on :math:`|z| \le c\sqrt q` (the moments of
    an ensemble in which no neuron is beyond c standard deviations; used by :func:`tail_diagnostics`).
    """
    if net.depth != 2:
        raise NNFTInputError("net", "exact output moments are for one hidden layer (depth 2)")
    x = net.inputs(np.atleast_2d(np.asarray(x, dtype=_F64)).reshape(1, -1))
    N = check_positive_int("width", width)
    kmax = check_positive_int("max_order", max_order, minimum=0)
    mmax = kmax // 2
    q = float(net.preactivation_variance(x)[0])
    ey = _neuron_even_moments(net.act, q, mmax, truncate)  # E g^{2j}
    c = net.sw2 / N
    P = np.array([ey[j] * c**j / math.factorial(j) for j in range(mmax + 1)])
    Bias = np.array([net.sb2**j / math.factorial(j) for j in range(mmax + 1)])
    S = np.convolve(Bias, _poly_pow(P, N, mmax))[: mmax + 1]
    out = np.zeros(kmax + 1)
    for m in range(mmax + 1):
        dfact = math.prod(range(1, 2 * m, 2)) if m else 1
        out[2 * m] = dfact * math.factorial(m) * S[m]
    return out


@dataclass(frozen=True)
class TailDiagnostic:
    r"""Can ``n_networks`` sampled networks resolve the n-point function? (worst input of the set)

    * ``exact``: :math:`\mathbb E f(x)^n`; ``typical``: the same in an ensemble cut at the largest hidden
      pre-activation a sample of n·N neurons is expected to contain (``cut_sd`` standard deviations, where
      the expected number of neurons beyond is 1): what a Monte Carlo run *typically* returns. ``captured``
      = typical/exact.
    * ``deviation_exact`` / ``deviation_typical``: the diagonal-element signal of the order: n = 4
      :math:`|G_4/G_{4,GP} - 1|`, n = 6 the connected :math:`|G_{6,c}|/G_{6,GP}`, n = 2 ``1 − captured``.
    * ``rel_se``, ``rel_se_chunk``: true relative standard error of :math:`\hat G_n` (all networks / one chunk);
      ``kurtosis`` of :math:`Y = f^n`; ``se_reliability`` :math:`= \sqrt{(\kappa_Y - 1)/n}`, the relative error of
      the sample variance of Y, i.e. of the Monte Carlo error bar.
    * ``resolved``: the typical Monte Carlo signal is within 5 % of the exact one (n = 2: captured ≥ 0.99);
      ``se_reliable``: ``se_reliability < 0.5``.
    """

    order: int
    input_index: int
    exact: float
    typical: float
    captured: float
    deviation_exact: float
    deviation_typical: float
    cut_sd: float
    rel_se: float
    rel_se_chunk: float
    kurtosis: float
    se_reliability: float
    resolved: bool
    se_reliable: bool


def tail_diagnostics(
    net: HMSNet, X: Any, width: int, n_networks: int, *, orders: Iterable[int] = (2, 4, 6), n_chunks: int = 10
) -> list[TailDiagnostic]:
    r"""Per order n, whether ``n_networks`` networks resolve G_n, from exact moments (see :class:`TailDiagnostic`).

    By Hölder, :math:`\mathbb E\prod_{k\le n}f(x_{i_k})^{2} \le \max_a\mathbb E f(x_a)^{2n}`: the worst diagonal
    element bounds the variance of every element. The worst input is the one with the least resolved signal.
    """
    from scipy.special import ndtri

    X = net.inputs(X)
    n = check_positive_int("n_networks", n_networks)
    N = check_positive_int("width", width)
    cut = float(-ndtri(1.0 / (2.0 * n * N)))  # E #(neurons with |z| > cut·sd) = 1
    out = []
    for p in sorted({check_positive_int("orders", o) for o in orders}):
        worst: TailDiagnostic | None = None
        for a in range(X.shape[0]):
            m = output_moments(net, X[a], N, 4 * p)
            mt = output_moments(net, X[a], N, max(p, 4), truncate=cut)
            K = m[2]
            mu, m2, m3, m4 = m[p], m[2 * p], m[3 * p], m[4 * p]
            var = max(m2 - mu * mu, 0.0)
            c4 = m4 - 4 * mu * m3 + 6 * mu * mu * m2 - 3 * mu**4
            kurt = c4 / var**2 if var > 0 else float("inf")
            rel = math.sqrt(var / n) / abs(mu) if mu else float("inf")
            rel_c = math.sqrt(var / max(n // n_chunks, 1)) / abs(mu) if mu else float("inf")
            rel_se_se = math.sqrt(max(kurt - 1, 0.0) / n)
            captured = mt[p] / mu if mu else float("nan")
            if p == 4:
                dev_e, dev_t = abs(m[4] / (3 * K * K) - 1), abs(mt[4] / (3 * K * K) - 1)
            elif p == 6:
                gp = 15 * K**3
                dev_e = abs(m[6] - 15 * m[4] * K + 30 * K**3) / gp
                dev_t = abs(mt[6] - 15 * mt[4] * K + 30 * K**3) / gp
            else:
                dev_e, dev_t = 0.0, abs(1 - captured)
            ok = captured >= 0.99 if p == 2 else abs(dev_t - dev_e) <= 0.05 * dev_e
            d = TailDiagnostic(
                p, a, float(mu), float(mt[p]), float(captured), float(dev_e), float(dev_t), cut,
                rel, rel_c, float(kurt), rel_se_se, bool(ok), bool(rel_se_se < 0.5),
            )  # fmt: skip
            if worst is None or (not d.resolved, d.se_reliability) > (not worst.resolved, worst.se_reliability):
                worst = d
        assert worst is not None
        out.append(worst)
    return out


# ============================================================================ 5. EFT
def _axis_rule(cutoff: float, order: int, scale: float = 0.25, ratio: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """1-D Gauss–Legendre on [−Λ, Λ], split at 0 and on a geometric grid scale·ratio^k (< Λ)."""
    pts = [0.0]
    g = scale
    while g < cutoff:
        pts.append(g)
        g *= ratio
    pts.append(cutoff)
    edges = np.unique(np.concatenate([-np.asarray(pts), pts]))
    x, w = _gl(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    t = lo + (hi - lo) * (x + 1) / 2
    wt = (hi - lo) / 2 * w
    return t.ravel(), np.broadcast_to(wt, t.shape).ravel()


def box_rule(input_dim: int, cutoff: float, *, order: int | None = None, scale: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss–Legendre nodes (P, d) and weights over [−Λ, Λ]^d (segments split at 0, geometric to Λ)."""
    d = check_positive_int("input_dim", input_dim)
    if not (cutoff > 0 and math.isfinite(cutoff)):
        raise NNFTInputError("cutoff", f"must be a finite number > 0 here, got {cutoff!r}")
    n = order or {1: 32, 2: 16, 3: 6}.get(d, 4)
    t, w = _axis_rule(float(cutoff), n, scale)
    grids = np.meshgrid(*([t] * d), indexing="ij")
    ws = np.meshgrid(*([w] * d), indexing="ij")
    return np.stack([g.ravel() for g in grids], -1), np.prod(np.stack([v.ravel() for v in ws], -1), -1)


class EFTIntegrals:
    r"""Tree-level Feynman integrals of the HMS EFT for one net, input set and cutoff Λ (note §3.2–3.4).

    ``propagator``: ``"eft"`` (K − σb², v2 code, default) or ``"full"`` (K) on the vertex legs.
    ``cutoff = inf`` is accepted where the integrand decays (Gauss-net with the ``"eft"`` propagator): the
    box is then replaced by one holding everything but e^{-60} of the Gaussian tails.
    """

    def __init__(self, net: HMSNet, X: Any, cutoff: float, *, propagator: str = "eft", order: int | None = None):
        if net.depth != 2:
            raise NNFTInputError("net", "the EFT integrals need the closed-form kernel of one hidden layer (depth 2)")
        self.net = net
        self.inputs = net.inputs(X)
        self.cutoff = float(cutoff)
        self.propagator = propagator
        net.propagator(self.inputs[:1], self.inputs[:1], propagator)  # validates the name
        box = self.cutoff
        if not math.isfinite(box):
            if not (net.act.name == "gauss" and propagator == "eft") or box < 0:
                raise NNFTInputError(
                    "cutoff", "Λ = ∞ only converges for the Gauss-net with the K − σb² propagator; give a finite cutoff"
                )
            a = net.sw2 / (2 * net.input_dim)
            box = float(np.max(np.abs(self.inputs))) + math.sqrt(60.0 / a)
        elif box <= 0:
            raise NNFTInputError("cutoff", f"must be > 0, got {cutoff!r}")
        self.box = box
        self.order = order
        self.nodes, self.weights = box_rule(net.input_dim, box, order=order)
        # legs: K(x_i, node), shape (M, P)
        self.legs = self._legs(self.nodes)

    def _legs(self, nodes: np.ndarray) -> np.ndarray:
        out = np.empty((self.inputs.shape[0], nodes.shape[0]))
        blk = 1 << 18
        for lo in range(0, nodes.shape[0], blk):
            out[:, lo : lo + blk] = self.net.propagator(self.inputs, nodes[lo : lo + blk], self.propagator)
        return out

    @property
    def M(self) -> int:
        return self.inputs.shape[0]

    def vertex(self, n: int, weight: str | None = None) -> np.ndarray:
        r""":math:`\int_{box} d^dx\, w(x)\prod_{k=1}^n K(x_{i_k}, x)` on the sorted n-tuples; w = 1 or ``"x2"`` (|x|²)."""
        idx = multiset_indices(self.M, n)
        wt = self.weights if weight is None else self.weights * np.sum(self.nodes**2, axis=1)
        if weight not in (None, "x2"):
            raise NNFTInputError("weight", f"must be None or 'x2', got {weight!r}")
        out = np.empty(len(idx))
        blk = max(1, (1 << 24) // self.legs.shape[1])
        for lo in range(0, len(idx), blk):
            sel = idx[lo : lo + blk]
            prod = self.legs[sel[:, 0]].copy()
            for k in range(1, n):
                prod *= self.legs[sel[:, k]]
            out[lo : lo + blk] = prod @ wt
        return out

    # design columns of δG4 (note §3.4, code sign convention T > 0 for positive legs)
    def T0(self) -> np.ndarray:
        r""":math:`T_0 = 24\int\prod_4 K` (the code's ``four_pt_int``)."""
        return 24.0 * self.vertex(4)

    def T2(self) -> np.ndarray:
        r""":math:`T_2 = 24\int|x|^2\prod_4 K`."""
        return 24.0 * self.vertex(4, "x2")

    def TNL(self) -> np.ndarray:
        r""":math:`T_{NL} = 8\sum_3 I_2(ab)I_2(cd)` (the double integral factorises: no propagator joins x and y)."""
        I2 = self.vertex(2)
        M = self.M
        idx = multiset_indices(M, 4)
        out = np.zeros(len(idx))
        for (a, b), (c, d) in perfect_matchings(4):
            out += I2[multiset_position(M, idx[:, [a, b]])] * I2[multiset_position(M, idx[:, [c, d]])]
        return 8.0 * out

    def design(self, terms: Sequence[str] = ("local0",)) -> np.ndarray:
        r"""Columns X with :math:`\delta G_4 = X\cdot(\lambda_0, \lambda_2, \lambda_{NL})` in the action convention.

        ``"local0"``: :math:`-T_0`; ``"local2"``: :math:`-T_2`; ``"nonlocal"``: :math:`-T_{NL}`.
        """
        cols = {"local0": self.T0, "local2": self.T2, "nonlocal": self.TNL}
        bad = [t for t in terms if t not in cols]
        if bad or not terms:
            raise NNFTInputError("terms", f"choose from {', '.join(cols)}; got {list(terms)!r}")
        return np.stack([-cols[t]() for t in terms], axis=1)

    def exchange(self, *, order: int | None = None) -> np.ndarray:
        r""":math:`\sum_{10}\iint K_aK_bK_c(x)\,K(x,y)\,K_dK_eK_f(y)` on the sorted 6-tuples (the λ² diagram).

        The internal line uses the same propagator as the legs. On a (coarser, ``order``) product rule;
        blocked so memory stays O(P·block).
        """
        ordr = order or {1: 24, 2: 6}.get(self.net.input_dim, 3)
        nodes, w = box_rule(self.net.input_dim, self.box, order=ordr)
        legs = self._legs(nodes)
        M = self.M
        i3 = multiset_indices(M, 3)
        A = legs[i3[:, 0]] * legs[i3[:, 1]] * legs[i3[:, 2]] * w  # (U3, P)
        Q = np.zeros((len(i3), len(i3)))
        blk = max(1, (1 << 22) // nodes.shape[0])
        for lo in range(0, nodes.shape[0], blk):
            Kxy = self.net.propagator(nodes, nodes[lo : lo + blk], self.propagator)  # (P, b)
            Q += (A @ Kxy) @ A[:, lo : lo + blk].T
        L, R = _split_table(M)
        return np.sum(Q[L, R], axis=1)


@dataclass(frozen=True)
class CouplingFit:
    r"""Least-squares couplings of :math:`\delta G_4 = X\lambda` (action convention).

    ``se``: chunk-jackknife standard errors when chunk data were given, else the weighted-LS ones;
    ``cov_wls``: the formal WLS covariance; ``chi2``/``dof`` with the per-element s.e. (ignores correlations);
    ``mape``/``max_ape``: of the fitted δG4 (percent).
    """

    terms: tuple[str, ...]
    value: np.ndarray
    se: np.ndarray
    cov_wls: np.ndarray
    chi2: float
    dof: int
    mape: float
    max_ape: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "terms": list(self.terms), "value": self.value.tolist(), "se": self.se.tolist(),
            "chi2": self.chi2, "dof": self.dof, "mape": self.mape, "max_ape": self.max_ape,
        }  # fmt: skip


def _wls(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sw = np.sqrt(w)
    Xw, yw = X * sw[:, None], y * sw
    scale = np.linalg.norm(Xw, axis=0)
    scale[scale == 0] = 1.0
    beta, *_ = np.linalg.lstsq(Xw / scale, yw, rcond=None)
    cov = np.linalg.pinv((Xw / scale).T @ (Xw / scale)) / np.outer(scale, scale)
    return beta / scale, cov


def fit_couplings(
    delta_g4: Any,
    design: Any,
    *,
    se: Any = None,
    chunks: Any = None,
    counts: Any = None,
    terms: Sequence[str] | None = None,
) -> CouplingFit:
    r"""Fit :math:`\delta G_4 \approx X\lambda` by least squares, weighted by 1/se² (unweighted without ``se``).

    ``chunks`` (C, U) per-chunk δG4 (with ``counts``, networks per chunk) gives a leave-one-chunk-out
    jackknife error for the couplings, which accounts for the strong correlations between elements.
    """
    y = np.asarray(delta_g4, dtype=_F64)
    X = np.asarray(design, dtype=_F64)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != y.shape[0]:
        raise NNFTInputError("design", f"has {X.shape[0]} rows for {y.shape[0]} data")
    ok = np.isfinite(y) & np.all(np.isfinite(X), axis=1)
    if se is not None:
        s = np.asarray(se, dtype=_F64)
        ok &= np.isfinite(s) & (s > 0)
        w = np.where(ok, 1.0 / np.where(ok, s, 1.0) ** 2, 0.0)
    else:
        w = ok.astype(_F64)
    beta, cov = _wls(np.where(ok, y, 0.0), np.where(ok[:, None], X, 0.0), w)
    resid = y - X @ beta
    chi2 = float(np.sum(w * np.where(ok, resid, 0.0) ** 2)) if se is not None else float("nan")
    ape = 100 * np.abs(resid[ok] / np.where(y[ok] != 0, y[ok], np.nan))
    err = np.sqrt(np.clip(np.diag(cov), 0, None))
    if chunks is not None:
        Yc = np.asarray(chunks, dtype=_F64)
        c = np.ones(Yc.shape[0]) if counts is None else np.asarray(counts, dtype=_F64)
        tot, S = c.sum(), np.einsum("c,cu->u", c, np.where(np.isfinite(Yc), Yc, 0.0))
        loo = []
        for k in range(Yc.shape[0]):
            yk = (S - c[k] * np.where(np.isfinite(Yc[k]), Yc[k], 0.0)) / (tot - c[k])
            loo.append(_wls(np.where(ok, yk, 0.0), np.where(ok[:, None], X, 0.0), w)[0])
        loo = np.asarray(loo)
        C = len(loo)
        err = np.sqrt((C - 1) / C * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    names = tuple(terms) if terms is not None else tuple(f"c{i}" for i in range(X.shape[1]))
    return CouplingFit(
        names, beta, err, cov, chi2, int(ok.sum() - X.shape[1]),
        float(np.nanmean(ape)) if ape.size else float("nan"),
        float(np.nanmax(ape)) if ape.size else float("nan"),
    )  # fmt: skip


def lambda_elements(delta_g4: Any, eft: EFTIntegrals) -> np.ndarray:
    r"""Per-element :math:`\lambda = -\delta G_4/T_0` (action convention; the code's λ_m is −this). NaN where T0 = 0."""
    T0 = eft.T0()
    y = np.asarray(delta_g4, dtype=_F64)
    return np.where(T0 != 0, -y / np.where(T0 != 0, T0, 1.0), np.nan)


@dataclass(frozen=True)
class RGFit:
    """Pooled regression of log10|λ| on log10 Λ over all elements and cutoffs (the code's rg.py)."""

    slope: float
    intercept: float
    r2: float
    slope_se: float
    intercept_se: float
    n_points: int


def rg_fit(cutoffs: Any, lam: Any) -> RGFit:
    """``lam`` (n_cutoffs, U): per-element couplings at each cutoff. Zero/NaN elements are left out."""
    L = np.asarray(cutoffs, dtype=_F64)
    lam = np.asarray(lam, dtype=_F64)
    if lam.ndim == 1:
        lam = lam[:, None]
    if lam.shape[0] != L.shape[0]:
        raise NNFTInputError("lam", f"needs one row per cutoff ({L.shape[0]}), got {lam.shape}")
    x = np.broadcast_to(np.log10(L)[:, None], lam.shape)
    ok = np.isfinite(lam) & (lam != 0)
    xs, ys = x[ok], np.log10(np.abs(lam[ok]))
    n = xs.size
    if n < 3:
        raise NNFTInputError("lam", "need at least 3 finite non-zero couplings to fit a slope")
    xm, ym = xs.mean(), ys.mean()
    sxx = np.sum((xs - xm) ** 2)
    slope = np.sum((xs - xm) * (ys - ym)) / sxx
    icpt = ym - slope * xm
    res = ys - (icpt + slope * xs)
    syy = np.sum((ys - ym) ** 2)
    r2 = 1.0 - np.sum(res**2) / syy if syy > 0 else 1.0
    s2 = np.sum(res**2) / (n - 2)
    return RGFit(float(slope), float(icpt), float(r2), float(math.sqrt(s2 / sxx)),
                 float(math.sqrt(s2 * (1 / n + xm**2 / sxx))), int(n))  # fmt: skip


def g6_prediction(
    net: HMSNet, X: Any, g4c_model: Any, *, spectator: str = "full", K: Any = None
) -> np.ndarray:
    r"""Tree-level λ prediction of the 6-point function: :math:`G_{6,GP} + \sum_{15}G_{4,c}^{\rm model}(\text{rest})\,K_{sp}`.

    ``g4c_model`` on the sorted 4-tuples, e.g. ``eft.design() @ lam`` (−24 λ ∫Π₄K). Spectators use the full
    K (``spectator="full"``, the corrected version) or K − σb² (``"eft"``, the public code).
    """
    X = net.inputs(X)
    Kf = net.kernel(X) if K is None else np.asarray(K, dtype=_F64)
    if spectator not in ("full", "eft"):
        raise NNFTInputError("spectator", f"must be 'full' or 'eft', got {spectator!r}")
    Ks = Kf if spectator == "full" else Kf - net.sb2
    return wick(Kf, 6) + sum_over_pairs(np.asarray(g4c_model, dtype=_F64), Ks, 6)


def kappa_elements(g6c: Any, lam: float, eft: EFTIntegrals, *, exchange: np.ndarray | None = None) -> np.ndarray:
    r"""Per-element κ from :math:`G_c^{(6)} = -720\kappa\int\prod_6K + 576\lambda^2\,\mathrm{Exch}` (action convention)."""
    I6 = eft.vertex(6)
    X = eft.exchange() if exchange is None else exchange
    y = np.asarray(g6c, dtype=_F64) - 576.0 * lam**2 * X
    return np.where(I6 != 0, -y / (720.0 * np.where(I6 != 0, I6, 1.0)), np.nan)


def couplings_vs_width(
    net: HMSNet, X: Any, widths: Iterable[int], cutoff: float, *, propagator: str = "eft", with_kappa: bool = True
) -> dict[str, np.ndarray]:
    r"""λ̄(N) (element mean of the per-element λ) and κ̄(N) from the *exact* cumulants: λN and κN² are constant.

    Returns arrays over ``widths``: ``width, lam, lam_N, kappa, kappa_N2`` (κ uses λ̄ in the exchange diagram).
    """
    X = net.inputs(X)
    eft = EFTIntegrals(net, X, cutoff, propagator=propagator)
    mom = neuron_moments(net, X, (2, 4, 6))
    exch = eft.exchange() if with_kappa else None
    ws, lam, kap = [], [], []
    for N in widths:
        ex = exact_npoint(net, X, N, moments=mom)
        lm = float(np.nanmean(lambda_elements(ex.Gc[4], eft)))
        ws.append(N)
        lam.append(lm)
        kap.append(float(np.nanmean(kappa_elements(ex.Gc[6], lm, eft, exchange=exch))) if with_kappa else np.nan)
    w = np.asarray(ws, dtype=_F64)
    lam_a, kap_a = np.asarray(lam), np.asarray(kap)
    return {"width": w, "lam": lam_a, "lam_N": lam_a * w, "kappa": kap_a, "kappa_N2": kap_a * w**2}


# ============================================================================ 5b. EFT from Monte Carlo data
def extract_lambda(
    corr: Correlators,
    cutoff: float,
    *,
    terms: Sequence[str] = ("local0",),
    propagator: str = "eft",
    eft: EFTIntegrals | None = None,
) -> CouplingFit:
    r"""Least-squares couplings from the measured :math:`\delta G_4 = \bar G_4 - G_{4,GP}` of an ensemble.

    Weights 1/se² from each element's own sample variance; errors by the leave-one-chunk-out jackknife.
    ``terms`` ⊂ {"local0", "local2", "nonlocal"} (:meth:`EFTIntegrals.design`).
    """
    eft = eft or EFTIntegrals(corr.net, corr.inputs, cutoff, propagator=propagator)
    gp4 = corr.gp(4)
    return fit_couplings(
        corr.mean(4) - gp4, eft.design(terms), se=corr.se(4), chunks=corr.chunk_means(4) - gp4,
        counts=corr.counts, terms=tuple(terms),
    )  # fmt: skip


def rg_flow(corr: Correlators, cutoffs: Iterable[float], *, propagator: str = "eft") -> tuple[RGFit, RGFit]:
    r"""The code's RG analysis on Monte Carlo data: per-element λ(Λ) = −δG4/T0(Λ) at every cutoff, pooled fit
    of log10|λ| on log10 Λ. Returns (fit, jackknife standard errors of slope and intercept, as an RGFit whose
    ``slope``/``intercept`` fields hold the errors)."""
    L = np.asarray(list(cutoffs), dtype=_F64)
    T0 = np.stack([EFTIntegrals(corr.net, corr.inputs, c, propagator=propagator).T0() for c in L])
    gp4 = corr.gp(4)

    def lam(G):
        dg = G(4) - gp4
        return np.where(T0 != 0, -dg[None, :] / np.where(T0 != 0, T0, 1.0), np.nan)

    fit = rg_fit(L, lam(lambda n: corr.mean(n)))

    def coefs(G):
        f = rg_fit(L, lam(G))
        return np.array([f.slope, f.intercept])

    _, se = corr.jackknife(coefs, [4])
    err = RGFit(float(se[0]), float(se[1]), float("nan"), float("nan"), float("nan"), fit.n_points)
    return fit, err


def g6_prediction_ratios(
    corr: Correlators,
    cutoffs: Iterable[float],
    *,
    propagator: str = "eft",
    spectator: str = "full",
) -> dict[str, np.ndarray]:
    r"""The code's 6-point test (note §3.3, corrected): per cutoff, element means of :math:`G_{6,GP}/\bar G_6`
    and :math:`(G_{6,GP} + \lambda\text{-term})/\bar G_6`, with λ̄ the element mean of the per-element λ
    re-estimated in every jackknife replicate. All 462 sorted 6-tuples, full-K spectators by default.

    Returns arrays over cutoffs: ``cutoff, lam, lam_se, gp_ratio, gp_ratio_se, pred_ratio, pred_ratio_se``.
    """
    L = np.asarray(list(cutoffs), dtype=_F64)
    gp4, gp6 = corr.gp(4), corr.gp(6)
    K = corr.K
    Ks = K if spectator == "full" else K - corr.net.sb2
    if spectator not in ("full", "eft"):
        raise NNFTInputError("spectator", f"must be 'full' or 'eft', got {spectator!r}")
    out: dict[str, list[float]] = {k: [] for k in ("lam", "lam_se", "gp_ratio", "gp_ratio_se", "pred_ratio", "pred_ratio_se")}
    for c in L:
        T0 = EFTIntegrals(corr.net, corr.inputs, c, propagator=propagator).T0()

        def stats(G, T0=T0):
            lam_e = np.where(T0 != 0, -(G(4) - gp4) / np.where(T0 != 0, T0, 1.0), np.nan)
            lam = np.nanmean(lam_e)
            g6 = G(6)
            ok = np.abs(g6) > 0
            pred = gp6 + sum_over_pairs(-T0 * lam, Ks, 6)
            return np.array([lam, np.mean(gp6[ok] / g6[ok]), np.mean(pred[ok] / g6[ok])])

        val, se = corr.jackknife(stats, [4, 6])
        for k, v, s in zip(("lam", "gp_ratio", "pred_ratio"), val, se):
            out[k].append(float(v))
            out[k + "_se"].append(float(s))
    res = {k: np.asarray(v) for k, v in out.items()}
    res["cutoff"] = L
    return res
