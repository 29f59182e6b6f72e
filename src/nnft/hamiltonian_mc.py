r"""Monte Carlo on finite random MLPs viewed as Hamiltonians over their inputs (issue 7, item 3).

Network and normalisation (identical to :mod:`nnft.hamiltonian`, note §1.3): widths
:math:`N_0\to N_1\dots N_L\to 1`, :math:`W^{(\ell)}_{ij}\sim\mathcal N(0, C_W/N_{\ell-1})`,
:math:`b\sim\mathcal N(0, C_b)` (drawn with :func:`nnft.sampling.weights.layer_weights`), and

.. math:: H(x) = \sqrt{N_0}\, z^{(L+1)}(x),\qquad \mathbb E_\theta[H(x)H(y)] \to N_0\, G(q; d_x, d_y)

as the hidden widths grow (exact at any width for the linear net). ``depth`` = L hidden layers.

Gibbs measures (the state is a batch ``x`` of shape ``(T, R, N0)``: T temperatures × R replicas)

* convention ``"A"``: density :math:`\propto \exp(-|x|^2/2 - \beta H(x))` on :math:`\mathbb R^{N_0}`,
  sampled with MALA (Metropolis-adjusted Langevin, gradient by ``jax.grad``);
* convention ``"B"``: uniform measure on the sphere :math:`|x|^2 = N_0` tilted by :math:`e^{-\beta H}`,
  sampled with Metropolis moves ``x' = sqrt(N0)·(x + s ξ)/|x + s ξ|`` (ξ standard normal). The proposal
  density depends only on :math:`x\cdot x'` at fixed norm, hence is symmetric, so plain Metropolis
  acceptance is exact (no gradient drift: a geodesic MALA is left for later).

Parallel tempering: after every sweep, neighbouring temperatures swap configurations (per replica) with
probability :math:`\min(1, e^{(\beta_i-\beta_j)(H_i-H_j)})` (even/odd pairs alternately); the reference
term is β-independent so it cancels.

Observables per stored sample: e = H/N0, d = |x|²/N0, and the overlaps
:math:`q_{ab} = x_a\cdot x_b/N_0` between distinct replicas at the same temperature (P(q) histogram).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .activations import get_activation
from .sampling.weights import layer_weights

Array = jnp.ndarray

__all__ = ["RandomMLP", "sample_mlp", "MCResult", "gibbs_sample", "overlap_histogram"]


@dataclass(frozen=True)
class RandomMLP:
    """One sampled network: ``layers`` = [(W, b)] (input layer first, read-out (1, N_L) last)."""

    layers: tuple
    activation: str
    n0: int

    def energy(self, x: Array) -> Array:
        r"""H(x) = √N0 · z^{(L+1)}(x) for one input x of shape (N0,)."""
        return _energy(self.layers, x, self.activation, self.n0)


def _energy(layers, x, activation: str, n0: int) -> Array:
    act = (lambda z: z) if activation == "linear" else get_activation(activation)
    z = layers[0][0] @ x + layers[0][1]
    for w, b in layers[1:]:
        z = w @ act(z) + b
    return jnp.sqrt(n0) * z[0]


def sample_mlp(key: Array, n0: int, width: int, depth: int = 1, activation: str = "linear",
               sw2: float = 1.0, sb2: float = 0.0) -> RandomMLP:
    """Draw a random MLP with input dim ``n0``, ``depth`` hidden layers of ``width`` neurons, scalar output."""
    dims = [n0] + [width] * depth + [1]
    keys = jax.random.split(key, depth + 1)
    layers = tuple(layer_weights(keys[i], dims[i + 1], dims[i], sw2, sb2, jnp.float64) for i in range(depth + 1))
    return RandomMLP(layers=layers, activation=activation, n0=n0)


@dataclass(frozen=True)
class MCResult:
    """Samples (after burn-in): ``e``, ``d`` of shape (S, T, R); ``q`` of shape (S, T, R(R-1)/2);
    acceptance rates per temperature (``accept``) and of PT swaps (``swap``)."""

    betas: np.ndarray
    e: np.ndarray
    d: np.ndarray
    q: np.ndarray
    accept: np.ndarray
    swap: np.ndarray


def _default_step(convention: str, beta: np.ndarray) -> np.ndarray:
    if convention == "A":
        return 0.5 / (1.0 + beta)
    return 0.25 / (1.0 + beta)


def gibbs_sample(net: RandomMLP, betas, key: Array, *, convention: str = "A", replicas: int = 4,
                 n_sweeps: int = 2000, burn_in: int = 500, thin: int = 5, step=None,
                 x0: Array | None = None) -> MCResult:
    """Sample the Gibbs measure of ``net`` at every β in ``betas`` (PT ladder) with ``replicas`` replicas.

    ``step``: MALA step ε (A) or proposal scale s (B), per temperature (default 0.5/(1+β), 0.25/(1+β)).
    """
    if convention not in ("A", "B"):
        raise ValueError("convention must be 'A' or 'B'")
    betas_np = np.asarray(betas, float)
    T, R, n0 = len(betas_np), int(replicas), net.n0
    eps = np.asarray(_default_step(convention, betas_np) if step is None else np.broadcast_to(step, (T,)), float)
    k0, kr = jax.random.split(key)
    if x0 is None:
        x0 = jax.random.normal(k0, (T, R, n0))
        if convention == "B":
            x0 = jnp.sqrt(n0) * x0 / jnp.linalg.norm(x0, axis=-1, keepdims=True)
    run = _runner(convention, net.activation, n0, T, R, int(n_sweeps))
    obs = run(net.layers, jnp.asarray(betas_np), jnp.asarray(eps), jnp.asarray(x0), kr)
    e, d, q, acc, sw = (np.asarray(o) for o in obs)
    sl = slice(burn_in, None, thin)
    return MCResult(betas=betas_np, e=e[sl], d=d[sl], q=q[sl], accept=acc[burn_in:].mean(axis=(0, 2)),
                    swap=sw[burn_in:].mean(axis=(0, 2)))


@functools.lru_cache(maxsize=32)
def _runner(convention: str, activation: str, n0: int, T: int, R: int, n_sweeps: int):
    """The jitted sampler for one static configuration (network weights, β, ε, x0 and key are arguments)."""

    @jax.jit
    def run(layers, betas_j, eps, x0, kr):
        H = functools.partial(_energy, layers, activation=activation, n0=n0)
        HvG = jax.vmap(jax.vmap(jax.value_and_grad(H)))  # over (T, R)

        def U(x, Hx):
            ref = 0.5 * jnp.sum(x * x, -1) if convention == "A" else 0.0
            return ref + betas_j[:, None] * Hx

        def mala(x, Hx, gH, k):
            b = betas_j[:, None, None]
            e = eps[:, None, None]
            grad = x + b * gH
            y = x - e * grad + jnp.sqrt(2 * e) * jax.random.normal(k, x.shape)
            Hy, gHy = HvG(y)
            grady = y + b * gHy
            logq_xy = -jnp.sum((y - x + e * grad) ** 2, -1) / (4 * eps[:, None])
            logq_yx = -jnp.sum((x - y + e * grady) ** 2, -1) / (4 * eps[:, None])
            return y, Hy, gHy, U(x, Hx) - U(y, Hy) + logq_yx - logq_xy

        def sphere(x, Hx, gH, k):
            y = x + eps[:, None, None] * jax.random.normal(k, x.shape)
            y = jnp.sqrt(n0) * y / jnp.linalg.norm(y, axis=-1, keepdims=True)
            Hy, gHy = HvG(y)
            return y, Hy, gHy, betas_j[:, None] * (Hx - Hy)

        move = mala if convention == "A" else sphere

        def sweep(carry, k):
            x, Hx, gH, parity = carry
            k1, k2, k3 = jax.random.split(k, 3)
            y, Hy, gHy, log_a = move(x, Hx, gH, k1)
            acc = jnp.log(jax.random.uniform(k2, log_a.shape)) < log_a
            x = jnp.where(acc[..., None], y, x)
            Hx = jnp.where(acc, Hy, Hx)
            gH = jnp.where(acc[..., None], gHy, gH)
            # parallel tempering: pairs (i, i+1) with i ≡ parity (mod 2)
            idx = jnp.arange(T)
            lo = (idx % 2 == parity) & (idx + 1 < T)
            partner = jnp.where(lo, idx + 1, jnp.where((idx % 2 != parity) & (idx >= 1), idx - 1, idx))
            lo_i, hi_i = jnp.minimum(idx, partner), jnp.maximum(idx, partner)
            log_s = (betas_j[lo_i] - betas_j[hi_i])[:, None] * (Hx[lo_i] - Hx[hi_i])
            u = jax.random.uniform(k3, (T, R))[lo_i]  # one uniform per pair
            sw = (partner != idx)[:, None] & (jnp.log(u) < log_s)
            x = jnp.where(sw[..., None], x[partner], x)
            Hx = jnp.where(sw, Hx[partner], Hx)
            gH = jnp.where(sw[..., None], gH[partner], gH)
            obs = (Hx / n0, jnp.sum(x * x, -1) / n0, _pair_overlaps(x) / n0, acc, sw)
            return (x, Hx, gH, 1 - parity), obs

        H0, g0 = HvG(x0)
        _, obs = jax.lax.scan(sweep, (x0, H0, g0, 0), jax.random.split(kr, n_sweeps))
        return obs

    return run


def _pair_overlaps(x: Array) -> Array:
    """x·x' over distinct replica pairs a < b at each temperature: (T, R(R-1)/2)."""
    R = x.shape[1]
    ia, ib = np.triu_indices(R, 1)
    return jnp.sum(x[:, ia] * x[:, ib], -1)


def overlap_histogram(q: np.ndarray, bins=41, range=(-1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Normalised histogram P(q) of overlaps (any shape, flattened): (density, bin centres)."""
    h, edges = np.histogram(np.ravel(q), bins=bins, range=range, density=True)
    return h, 0.5 * (edges[1:] + edges[:-1])
