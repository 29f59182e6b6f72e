r"""MCMC on the stochastic neural network *on a ring* (SPS17 eq. 11), in radial / collective fields.

The paper's fluctuation theory is derived on the ring (layer L feeds layer 0, eq. 11) but tested on the
bulk of an open chain. The ring density is :math:`\prod_l p(x^l\mid x^{l-1})` with periodic identification,
i.e. :math:`\mathrm{tr}\,K^L`-normalised, so its correlations equal those of the stationary open chain up
to :math:`O(e^{-L/\xi})`: this module samples the ring itself so that claim can be checked.

Targets (exact at finite N, see :mod:`nnft.theory.lattice_model`):

* ``linear``: eq. 12 with the exact radial Jacobian :math:`(r^l)^{N-1}`,
  :math:`E=\sum_l[r_l^2/(2D_{l-1})+\tfrac N2\ln D_{l-1}-(N-1)\ln r_l]`, :math:`D=\sigma_w^2r^2/N+\sigma_b^2`.
* ``relu``: eq. 19 (:func:`~nnft.theory.lattice_model.energy_relu_orthant`), fields (r₊, r₋, k) with k the
  number of positive units. Metropolis-within-Gibbs: HMC on (r₊, r₋) at fixed k, then an exact Gibbs
  sweep of every k_l from :math:`p(k\mid r_+,r_-)\propto\binom Nk r_+^{k-1}r_-^{N-k-1}/(\Gamma(\tfrac k2)\Gamma(\tfrac{N-k}2))`
  (D cancels), 0 < k < N.

**Algorithm.** Hamiltonian Monte Carlo (leapfrog, Metropolis correction) with a *circulant mass matrix*
equal to the Gaussian theory's Hessian at the saddle (:func:`~nnft.theory.lattice_model.hessian_blocks`):
momenta :math:`p = M^{1/2}w` and velocities :math:`M^{-1}p` are applied per Fourier mode with the 1×1 or
2×2 symbol :math:`\Sigma^{-1}(q)=A_0+A_1e^{-iq}+A_1^Te^{iq}`. In the Gaussian limit this makes every mode
unit-scale, so the sampler mixes the long-wavelength modes (variance ∝ ξ²) as fast as the short ones.
Chains are vmapped, iterations run under ``lax.scan``; chain c uses ``fold_in(key, c)``.

Entry point :func:`sample_ring` returns the per-chain samples (and acceptance rates).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from ..errors import NNFTInputError, check_positive_int, check_variance

Array = jnp.ndarray

__all__ = ["RingSamples", "sample_ring", "ring_energy"]


@dataclass(frozen=True)
class RingSamples:
    """``fields`` names; ``samples`` shape (chains, draws, F, L); ``accept`` mean HMC acceptance per chain."""

    fields: tuple[str, ...]
    samples: np.ndarray
    accept: np.ndarray
    saddle: np.ndarray
    step_size: float
    leapfrog_steps: int


def ring_energy(kind: str, sw2: float, sb2: float, width: int):
    """E(x) of the continuous fields (F, L) of the ring (k passed separately for ReLU): exact up to a constant."""
    N = float(width)
    if kind == "linear":

        def e(x, k=None):
            r = x[0]
            d = jnp.roll(sw2 * r**2 / N + sb2, 1)
            return jnp.sum(0.5 * r**2 / d + 0.5 * N * jnp.log(d) - (N - 1) * jnp.log(r))

        return e
    if kind == "relu":

        def e(x, k):
            rp, rm = x[0], x[1]
            d = jnp.roll(sw2 * rp**2 / N + sb2, 1)
            return jnp.sum((rp**2 + rm**2) / (2 * d) + 0.5 * N * jnp.log(d) - (k - 1) * jnp.log(rp) - (N - k - 1) * jnp.log(rm))

        return e
    raise NNFTInputError("kind", f"must be 'linear' or 'relu', got {kind!r}")


def _mass_symbol(kind: str, sw2: float, sb2: float, width: int, length: int) -> np.ndarray:
    """Σ⁻¹(q) of the continuous fields at q = 2πn/L, shape (L, F, F) (real symmetric per mode up to the phase)."""
    from ..theory import lattice_model as lm

    model = lm.linear_radial_model(sw2, sb2, width, exact_jacobian=True) if kind == "linear" else lm.relu_model(sw2, sb2, width)
    a0, a1 = lm.hessian_blocks(model)
    if kind == "relu":
        a0, a1 = a0[:2, :2], a1[:2, :2]  # (r₊, r₋) at fixed k
    qs = 2 * np.pi * np.arange(length) / length
    e = np.exp(-1j * qs)[:, None, None]
    return a0[None] + a1[None] * e + a1.T[None] * np.conj(e), model.saddle


def sample_ring(
    kind: str,
    sw2: float,
    sb2: float,
    *,
    width: int,
    length: int,
    chains: int,
    draws: int,
    key: Array,
    burn: int = 100,
    thin: int = 1,
    step_size: float = 0.3,
    leapfrog_steps: int = 5,
) -> RingSamples:
    r"""Sample the ring of ``length`` layers by preconditioned HMC (+ Gibbs for the ReLU k field).

    Returns ``draws`` states per chain after ``burn`` iterations, every ``thin``-th iteration. Fields:
    linear ``("r",)``; ReLU ``("r+", "r-", "k")``. ``step_size`` is in units of the Gaussian theory's
    per-mode standard deviation: every mode then oscillates with period 2π, so ``step_size·leapfrog_steps``
    ≈ π/2 decorrelates the Gaussian part in one iteration; the leapfrog energy error grows like
    step_size²·√(L·F), so keep step_size ≲ 0.3 for L ~ 10³.
    """
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2, allow_zero=False)
    N = check_positive_int("width", width, minimum=2)
    L = check_positive_int("length", length, minimum=2)
    C = check_positive_int("chains", chains)
    draws = check_positive_int("draws", draws)
    thin = check_positive_int("thin", thin)
    energy = ring_energy(kind, sw2, sb2, N)
    sym, saddle = _mass_symbol(kind, sw2, sb2, N, L)
    F = sym.shape[-1]
    # per-mode Hermitian square roots: M^{1/2} and M^{-1} as (L, F, F) complex arrays
    lam, vec = np.linalg.eigh(sym)
    if np.any(lam <= 0):
        raise NNFTInputError("sw2", f"the Gaussian theory is unstable at sw2={sw2} (no saddle minimum)")
    sqrt_m = jnp.asarray(np.einsum("qab,qb,qcb->qac", vec, np.sqrt(lam), vec.conj()))
    inv_m = jnp.asarray(np.einsum("qab,qb,qcb->qac", vec, 1 / lam, vec.conj()))
    x0 = jnp.asarray(np.repeat(saddle[:F, None], L, axis=1))
    k0 = jnp.full((L,), float(N) / 2)
    ks = jnp.arange(1, N, dtype=float)
    log_binom = gammaln(N + 1.0) - gammaln(ks + 1) - gammaln(N - ks + 1) - gammaln(ks / 2) - gammaln((N - ks) / 2)

    def apply(mat, v):  # v (F, L) real -> circulant operator per Fourier mode
        vh = jnp.fft.fft(v, axis=-1)  # (F, L)
        out = jnp.einsum("qab,bq->aq", mat, vh)
        return jnp.fft.ifft(out, axis=-1).real

    grad_e = jax.grad(energy)

    def hmc(x, k, key):
        k1, k2 = jax.random.split(key)
        p = apply(sqrt_m, jax.random.normal(k1, x.shape))

        def leap(carry, _):
            x, p = carry
            p = p - 0.5 * step_size * grad_e(x, k)
            x = x + step_size * apply(inv_m, p)
            p = p - 0.5 * step_size * grad_e(x, k)
            return (x, p), None

        (xn, pn), _ = jax.lax.scan(leap, (x, p), None, length=leapfrog_steps)
        h0 = energy(x, k) + 0.5 * jnp.sum(p * apply(inv_m, p))
        ok = jnp.all(xn > 0)
        h1 = jnp.where(ok, energy(jnp.where(ok, xn, x), k) + 0.5 * jnp.sum(pn * apply(inv_m, pn)), jnp.inf)
        acc = jnp.log(jax.random.uniform(k2)) < h0 - h1
        acc = acc & jnp.isfinite(h1)
        return jnp.where(acc, xn, x), acc

    def gibbs_k(x, key):
        rp, rm = x[0], x[1]
        logits = log_binom[None, :] + (ks[None, :] - 1) * jnp.log(rp)[:, None] + (N - ks[None, :] - 1) * jnp.log(rm)[:, None]
        return ks[jax.random.categorical(key, logits, axis=-1)]

    def step(state, key):
        x, k = state
        k1, k2 = jax.random.split(key)
        x, acc = hmc(x, k, k1)
        if kind == "relu":
            k = gibbs_k(x, k2)
        return (x, k), acc

    total = burn + draws * thin

    def chain(key):
        keys = jax.random.split(key, total)

        def body(state, kk):
            state, acc = step(state, kk)
            x, k = state
            full = jnp.concatenate([x, k[None]], axis=0) if kind == "relu" else x
            return state, (full, acc)

        _, (xs, acc) = jax.lax.scan(body, (x0, k0), keys)
        return xs[burn::thin], jnp.mean(acc[burn:])

    keys = jax.vmap(lambda c: jax.random.fold_in(key, c))(jnp.arange(C))
    xs, acc = jax.jit(jax.vmap(chain))(keys)
    fields = ("r",) if kind == "linear" else ("r+", "r-", "k")
    return RingSamples(
        fields=fields,
        samples=np.asarray(xs),
        accept=np.asarray(acc),
        saddle=np.asarray(saddle),
        step_size=float(step_size),
        leapfrog_steps=int(leapfrog_steps),
    )
