r"""Monte Carlo on finite random MLPs viewed as Hamiltonians over their inputs (issue 7, item 3).

Network and normalisation (identical to :mod:`nnft.hamiltonian`, note §1.3): widths
:math:`N_0\to N_1\dots N_L\to 1`, :math:`W^{(\ell)}_{ij}\sim\mathcal N(0, C_W/N_{\ell-1})`,
:math:`b\sim\mathcal N(0, C_b)` (drawn with :func:`nnft.sampling.weights.layer_weights`), and

.. math:: H(x) = \sqrt{N_0}\, z^{(L+1)}(x),\qquad \mathbb E_\theta[H(x)H(y)] \to N_0\, G(q; d_x, d_y)

as the hidden widths grow (exact at any width for the linear net). ``depth`` = L hidden layers.

Gibbs measures (the state is a batch ``x`` of shape ``(T, R, N0)``: T temperatures × R replicas), with
potential :math:`U(x)` and reference measure:

* convention ``"A"``: density :math:`\propto e^{-U}`, :math:`U = |x|^2/2 + \beta H(x)` on :math:`\mathbb R^{N_0}`;
* convention ``"B"``: :math:`U = \beta H(x)` with respect to the uniform (surface) measure on the sphere
  :math:`S = \{|x| = r\}`, :math:`r = \sqrt{N_0}`.

Moves (``method``; one *sweep* = one move of every (temperature, replica) state, then one PT swap round)

* ``"mala"`` (A, default for A): Metropolis-adjusted Langevin,
  :math:`y = x - \epsilon\nabla U(x) + \sqrt{2\epsilon}\,\xi`, accepted with the Metropolis–Hastings ratio
  including the Gaussian proposal densities :math:`q(y|x) \propto e^{-|y-x+\epsilon\nabla U(x)|^2/4\epsilon}`.
  One gradient per sweep.
* ``"hmc"`` (A): Hamiltonian Monte Carlo with identity mass: draw :math:`p\sim\mathcal N(0, I)`, apply
  ``n_leapfrog`` leapfrog steps :math:`p \leftarrow p - \tfrac\epsilon2\nabla U,\ x \leftarrow x + \epsilon p,\
  p \leftarrow p - \tfrac\epsilon2\nabla U` and accept with :math:`\min(1, e^{-\Delta E})`,
  :math:`E = U + |p|^2/2`. The leapfrog map is volume preserving and reversible under :math:`p\to-p`, so
  the kernel satisfies detailed balance exactly. ``n_leapfrog`` gradients per sweep.
* ``"hmc"`` (B, default for B): **geodesic HMC** (Byrne & Girolami 2013, "Geodesic Monte Carlo on embedded
  manifolds"). Extended target on the tangent bundle: :math:`\propto e^{-U(x) - |v|^2/2}` with
  :math:`v \in T_xS`, i.e. :math:`v = P_x\xi`, :math:`\xi\sim\mathcal N(0, I_{N_0})`,
  :math:`P_x = I - xx^\top/r^2` (a standard Gaussian on the (N0−1)-dim tangent space). One step of size ε
  is :math:`\Phi_\epsilon = K_{\epsilon/2}\circ G_\epsilon\circ K_{\epsilon/2}` with the kick
  :math:`K_h: v \leftarrow v - h\,P_x\nabla U(x)` (a shear along the tangent fibre: volume preserving) and
  the exact geodesic (great-circle) flow, with :math:`s = |v|` and :math:`\alpha = st/r`,

  .. math:: G_t:\ x \leftarrow x\cos\alpha + \tfrac{r}{s}\,v\sin\alpha,\qquad
            v \leftarrow v\cos\alpha - \tfrac{s}{r}\,x\sin\alpha ,

  which preserves |x| = r, |v| = s, x·v = 0 and the Liouville measure of the tangent bundle. Both maps
  are reversible under :math:`v\to-v`, so :math:`\Phi_\epsilon^{n}` is a volume-preserving involution up to
  the momentum flip and the Metropolis test :math:`\min(1, e^{-\Delta E})`, :math:`E = U + |v|^2/2`, leaves
  the Gibbs measure on the sphere invariant exactly. After each step x is rescaled to radius r and v
  re-projected onto :math:`T_xS`; in exact arithmetic these are identities (they only remove rounding
  drift). Velocities are fully refreshed every sweep. ``n_leapfrog`` gradients per sweep.
* ``"metropolis"`` (B): random walk ``x' = r (x + s ξ)/|x + s ξ|`` (ξ standard normal). The proposal
  density depends only on x·x' at fixed norm, hence is symmetric, so plain Metropolis acceptance
  :math:`\min(1, e^{-\beta(H(x')-H(x))})` is exact. One energy (no gradient) per sweep.

``step`` is ε (mala, hmc) or s (metropolis), one value per temperature. With ``adapt_step=True`` the step of
each temperature is tuned *during burn-in only* by Robbins–Monro on the acceptance probability,
:math:`\log\epsilon_t \leftarrow \log\epsilon_t + \gamma_k(\bar a_t - a^*)`, :math:`\gamma_k = 0.5(k+1)^{-0.6}`,
:math:`\bar a_t` = mean over replicas of :math:`\min(1, e^{\log a})` (:math:`a^*` = 0.57 mala, 0.75 hmc,
0.3 metropolis), capped at ε ≤ π/(2 n_leapfrog) (hmc: at most a quarter period / a quarter great circle per
trajectory at β = 0), ε ≤ 1 (mala), s ≤ 10 (metropolis). Production sweeps use the final, fixed steps, so
the stored chain is a time-homogeneous chain with an exact kernel (burn-in is discarded).

Parallel tempering: after every sweep, neighbouring temperatures swap configurations (per replica) with
probability :math:`\min(1, e^{(\beta_i-\beta_j)(H_i-H_j)})` (even/odd pairs alternately); the reference
term is β-independent so it cancels. ``MCResult.walker`` records which walker (labelled by its starting
temperature index) sits at each temperature, every production sweep (for :func:`round_trips`).

Observables per stored sample: e = H/N0, d = |x|²/N0, and the overlaps
:math:`q_{ab} = x_a\cdot x_b/N_0` between distinct replicas at the same temperature (P(q) histogram).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .activations import get_activation
from .errors import NNFTInputError, check_finite_array, check_positive_int
from .sampling.weights import layer_weights

Array = jnp.ndarray

__all__ = ["RandomMLP", "sample_mlp", "MCResult", "gibbs_sample", "overlap_histogram", "overlap_summary",
           "round_trips", "pair_swap_rates", "batch_mean_error", "METHODS"]

#: valid ``method`` values per convention (the first is the default)
METHODS = {"A": ("mala", "hmc"), "B": ("hmc", "metropolis")}
_TARGET_ACCEPT = {"mala": 0.57, "hmc": 0.75, "metropolis": 0.3}


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
    acceptance rates per temperature (``accept``) and the fraction of sweeps in which temperature slot t
    exchanged its configuration (``swap``; slot t pairs with t+1 and t-1 alternately, so the end slots are
    attempted only every other sweep — :func:`pair_swap_rates` gives the per-pair acceptance).

    Added with ``method``: ``step`` (the production step per temperature, after any adaptation),
    ``x`` (final state, shape (T, R, N0): pass it as ``x0`` to continue the chain), ``walker``
    (int array (n_sweeps - burn_in, T, R): the starting-temperature label of the configuration at each
    temperature after every production sweep, unthinned) and ``method``.
    """

    betas: np.ndarray
    e: np.ndarray
    d: np.ndarray
    q: np.ndarray
    accept: np.ndarray
    swap: np.ndarray
    step: np.ndarray | None = None
    x: np.ndarray | None = None
    walker: np.ndarray | None = None
    method: str = ""


def _default_step(convention: str, beta: np.ndarray, method: str = "") -> np.ndarray:
    if method == "hmc":
        return (0.3 if convention == "A" else 0.2) / (1.0 + beta)
    if convention == "A":
        return 0.5 / (1.0 + beta)
    return 0.25 / (1.0 + beta)


def _check_method(convention, method) -> str:
    if convention not in ("A", "B"):
        raise NNFTInputError("convention", f"must be 'A' (Gaussian reference) or 'B' (sphere), got {convention!r}")
    if method is None:
        return METHODS[convention][0]
    allowed = METHODS[convention]
    if method not in ("mala", "hmc", "metropolis"):
        raise NNFTInputError("method", f"unknown method {method!r}; allowed: 'mala', 'hmc', 'metropolis'")
    if method not in allowed:
        raise NNFTInputError("method", f"{method!r} is not available for convention {convention!r}; "
                                       f"allowed there: {', '.join(map(repr, allowed))}")
    return method


def gibbs_sample(net: RandomMLP, betas, key: Array, *, convention: str = "A", replicas: int = 4,
                 n_sweeps: int = 2000, burn_in: int = 500, thin: int = 5, step=None,
                 x0: Array | None = None, method: str | None = None, n_leapfrog: int = 10,
                 adapt_step: bool = False) -> MCResult:
    """Sample the Gibbs measure of ``net`` at every β in ``betas`` (PT ladder) with ``replicas`` replicas.

    ``method``: ``"mala"`` (default for convention A) or ``"hmc"`` (Euclidean leapfrog) for A;
    ``"hmc"`` (geodesic HMC, default for B: per CPU second it gives several times more effective samples
    of the energy than the random walk, see ``benchmarks/hamiltonian_mc.py``) or ``"metropolis"`` (random walk)
    for B. Cost per sweep: ``n_leapfrog`` gradients for hmc, one gradient for mala, one energy for metropolis.
    ``step``: ε (mala, hmc) or proposal scale s (metropolis), scalar or one per temperature (defaults:
    mala 0.5/(1+β); metropolis 0.25/(1+β); hmc 0.3/(1+β) in A, 0.2/(1+β) in B). ``adapt_step``: tune the
    steps during burn-in to a target acceptance (see module docstring); production steps are fixed and
    returned in ``MCResult.step``. ``x0``: initial state (T, R, N0); in B it is rescaled onto the sphere.
    Samples are taken every ``thin`` sweeps after the first ``burn_in`` sweeps.
    """
    method = _check_method(convention, method)
    betas_np = np.atleast_1d(check_finite_array("betas", betas))
    if betas_np.ndim != 1:
        raise NNFTInputError("betas", f"must be a scalar or a 1-D ladder, got shape {betas_np.shape}")
    if (betas_np < 0).any():
        raise NNFTInputError("betas", f"inverse temperatures must be >= 0, got {float(betas_np.min())!r}")
    R = check_positive_int("replicas", replicas)
    n_sweeps = check_positive_int("n_sweeps", n_sweeps)
    burn_in = check_positive_int("burn_in", burn_in, minimum=0)
    if burn_in >= n_sweeps:
        raise NNFTInputError("burn_in", f"must be < n_sweeps = {n_sweeps}, got {burn_in}")
    thin = check_positive_int("thin", thin)
    n_leapfrog = check_positive_int("n_leapfrog", n_leapfrog)
    T, n0 = len(betas_np), net.n0
    if step is None:
        eps = _default_step(convention, betas_np, method)
    else:
        eps = np.atleast_1d(check_finite_array("step", step))
        if eps.ndim != 1 or eps.size not in (1, T):
            raise NNFTInputError("step", f"must be a scalar or one value per temperature ({T}), got shape {eps.shape}")
        if (eps <= 0).any():
            raise NNFTInputError("step", f"must be > 0, got {float(eps.min())!r}")
        eps = np.broadcast_to(eps, (T,))
    eps = np.asarray(eps, float)
    k0, kr = jax.random.split(key)
    if x0 is None:
        x0 = jax.random.normal(k0, (T, R, n0))
    else:
        x0 = check_finite_array("x0", x0)
        if x0.shape != (T, R, n0):
            raise NNFTInputError("x0", f"must have shape (T, R, N0) = {(T, R, n0)}, got {x0.shape}")
        x0 = jnp.asarray(x0)
    if convention == "B":
        x0 = jnp.sqrt(n0) * x0 / jnp.linalg.norm(x0, axis=-1, keepdims=True)
    run = _runner(convention, method, net.activation, n0, T, R, n_sweeps, n_leapfrog, bool(adapt_step))
    obs, x_end, eps_end = run(net.layers, jnp.asarray(betas_np), jnp.asarray(eps), x0, kr, burn_in)
    e, d, q, acc, sw, walker = (np.asarray(o)[burn_in:] for o in obs)
    sl = slice(None, None, thin)
    return MCResult(betas=betas_np, e=e[sl], d=d[sl], q=q[sl], accept=acc.mean(axis=(0, 2)),
                    swap=sw.mean(axis=(0, 2)), step=np.asarray(eps_end), x=np.asarray(x_end), walker=walker,
                    method=method)


def _project(x: Array, g: Array, r2) -> Array:
    """Tangent projection P_x g = g − (x·g) x / r² (last axis)."""
    return g - jnp.sum(x * g, -1, keepdims=True) * x / r2


def _geodesic_flow(x: Array, v: Array, t, r) -> tuple[Array, Array]:
    """Exact great-circle flow for time t on the sphere of radius r (x·v = 0), then rounding cleanup."""
    s = jnp.linalg.norm(v, axis=-1, keepdims=True)
    safe = jnp.where(s > 0, s, 1.0)
    a = s * t / r
    c, sn = jnp.cos(a), jnp.sin(a)
    x1 = x * c + v * (r / safe) * sn
    v1 = v * c - x * (safe / r) * sn
    x1 = r * x1 / jnp.linalg.norm(x1, axis=-1, keepdims=True)
    return x1, _project(x1, v1, r * r)


def _geodesic_integrate(vg, force, x, v, Hx, gH, eps, n, r):
    """n geodesic-leapfrog steps: kick(ε/2) · flow(ε) · kick(ε/2) with the projected force ∇U.

    ``vg(x) -> (H, ∇H)``, ``force(x, ∇H) -> ∇U``; returns (x, v, H, ∇H) at the end. ``eps`` broadcasts
    against x (shape (..., 1))."""
    r2 = r * r

    def body(_, c):
        x, v, Hx, gH = c
        v = v - 0.5 * eps * _project(x, force(x, gH), r2)
        x, v = _geodesic_flow(x, v, eps, r)
        Hx, gH = vg(x)
        v = v - 0.5 * eps * _project(x, force(x, gH), r2)
        return x, v, Hx, gH

    return jax.lax.fori_loop(0, n, body, (x, v, Hx, gH))


def _leapfrog_integrate(vg, force, x, p, Hx, gH, eps, n):
    """n Euclidean leapfrog steps with force ∇U = force(x, ∇H); returns (x, p, H, ∇H)."""

    def body(_, c):
        x, p, Hx, gH = c
        p = p - 0.5 * eps * force(x, gH)
        x = x + eps * p
        Hx, gH = vg(x)
        p = p - 0.5 * eps * force(x, gH)
        return x, p, Hx, gH

    return jax.lax.fori_loop(0, n, body, (x, p, Hx, gH))


@functools.lru_cache(maxsize=32)
def _runner(convention: str, method: str, activation: str, n0: int, T: int, R: int, n_sweeps: int,
            n_leapfrog: int, adapt: bool):
    """The jitted sampler for one static configuration (network weights, β, ε, x0 and key are arguments)."""
    r = float(np.sqrt(n0))
    target = _TARGET_ACCEPT[method]
    # caps for the adaptation: hmc travels at most a quarter period (β = 0: angle π/2 on the sphere,
    # harmonic quarter period in A); mala ε ≤ 1 (β = 0: y = √2 ξ, independence proposal); metropolis s ≤ 10
    eps_max = {"hmc": 0.5 * np.pi / n_leapfrog, "mala": 1.0, "metropolis": 10.0}[method]

    @jax.jit
    def run(layers, betas_j, eps0, x0, kr, n_burn):
        H = functools.partial(_energy, layers, activation=activation, n0=n0)
        Hv = jax.vmap(jax.vmap(H))
        HvG = jax.vmap(jax.vmap(jax.value_and_grad(H)))  # over (T, R)
        bcol = betas_j[:, None]

        def ref(x):
            return 0.5 * jnp.sum(x * x, -1) if convention == "A" else 0.0

        def gradU(x, gH):
            return (x if convention == "A" else 0.0) + bcol[..., None] * gH

        def U(x, Hx):
            return ref(x) + bcol * Hx

        def mala(x, Hx, gH, k, eps):
            e = eps[:, None, None]
            grad = gradU(x, gH)
            y = x - e * grad + jnp.sqrt(2 * e) * jax.random.normal(k, x.shape)
            Hy, gHy = HvG(y)
            grady = gradU(y, gHy)
            logq_xy = -jnp.sum((y - x + e * grad) ** 2, -1) / (4 * eps[:, None])
            logq_yx = -jnp.sum((x - y + e * grady) ** 2, -1) / (4 * eps[:, None])
            return y, Hy, gHy, U(x, Hx) - U(y, Hy) + logq_yx - logq_xy

        def hmc(x, Hx, gH, k, eps):
            e = eps[:, None, None]
            p = jax.random.normal(k, x.shape)
            if convention == "B":
                p = _project(x, p, r * r)
                y, p1, Hy, gHy = _geodesic_integrate(HvG, gradU, x, p, Hx, gH, e, n_leapfrog, r)
            else:
                y, p1, Hy, gHy = _leapfrog_integrate(HvG, gradU, x, p, Hx, gH, e, n_leapfrog)
            log_a = (U(x, Hx) + 0.5 * jnp.sum(p * p, -1)) - (U(y, Hy) + 0.5 * jnp.sum(p1 * p1, -1))
            return y, Hy, gHy, log_a

        def sphere(x, Hx, gH, k, eps):
            y = x + eps[:, None, None] * jax.random.normal(k, x.shape)
            y = r * y / jnp.linalg.norm(y, axis=-1, keepdims=True)
            Hy = Hv(y)
            return y, Hy, gH, bcol * (Hx - Hy)

        move = {"mala": mala, "hmc": hmc, "metropolis": sphere}[method]

        def sweep(carry, k):
            x, Hx, gH, parity, lab, eps, it = carry
            k1, k2, k3 = jax.random.split(k, 3)
            y, Hy, gHy, log_a = move(x, Hx, gH, k1, eps)
            log_a = jnp.where(jnp.isnan(log_a), -jnp.inf, log_a)
            acc = jnp.log(jax.random.uniform(k2, log_a.shape)) < log_a
            x = jnp.where(acc[..., None], y, x)
            Hx = jnp.where(acc, Hy, Hx)
            gH = jnp.where(acc[..., None], gHy, gH)
            if adapt:  # burn-in only: production sweeps keep the final steps fixed
                gamma = 0.5 * (it + 1.0) ** -0.6
                new = eps * jnp.exp(gamma * (jnp.mean(jnp.minimum(1.0, jnp.exp(log_a)), -1) - target))
                eps = jnp.where(it < n_burn, jnp.minimum(new, eps_max), eps)
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
            lab = jnp.where(sw, lab[partner], lab)
            obs = (Hx / n0, jnp.sum(x * x, -1) / n0, _pair_overlaps(x) / n0, acc, sw, lab)
            return (x, Hx, gH, 1 - parity, lab, eps, it + 1), obs

        H0, g0 = HvG(x0)
        lab0 = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32)[:, None], (T, R))
        carry = (x0, H0, g0, 0, lab0, eps0, 0)
        carry, obs = jax.lax.scan(sweep, carry, jax.random.split(kr, n_sweeps))
        return obs, carry[0], carry[5]

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


def overlap_summary(q: np.ndarray, q_split: float) -> dict:
    """Two-peak summary of overlap samples (any shape, flattened), split at ``q_split``.

    Returns ``mean``, ``frac_below`` (fraction of overlaps < q_split; for a 1RSB P(q) this estimates m),
    ``mean_below`` / ``mean_above`` (the peak positions, estimates of q0 / q1; NaN if a side is empty) and
    ``n``. For 1RSB, ``mean`` → m q0 + (1 − m) q1.
    """
    q = np.ravel(np.asarray(q, float))
    below = q < q_split
    return {"mean": float(q.mean()), "frac_below": float(below.mean()),
            "mean_below": float(q[below].mean()) if below.any() else float("nan"),
            "mean_above": float(q[~below].mean()) if (~below).any() else float("nan"), "n": int(q.size)}


def round_trips(walker: np.ndarray) -> np.ndarray:
    """Completed replica-exchange round trips per walker: (R,) array, summed over walkers of each replica.

    ``walker``: ``MCResult.walker`` (S, T, R). A round trip is a walker's passage from the first temperature
    slot to the last and back to the first (either end counts as the start).
    """
    w = np.asarray(walker)
    S, T, R = w.shape
    if T < 2:
        return np.zeros(R, int)
    out = np.zeros(R, int)
    for rep in range(R):
        # pos[s, label] = temperature index of walker `label` at sweep s
        pos = np.argsort(w[:, :, rep], axis=1)
        for lab in range(T):
            p = pos[:, lab]
            ends = p[(p == 0) | (p == T - 1)]
            if ends.size == 0:
                continue
            changes = np.flatnonzero(np.diff(ends) != 0)  # end switches
            out[rep] += (len(changes)) // 2
    return out


def batch_mean_error(samples: np.ndarray, n_batches: int = 10, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard error) along ``axis`` from ``n_batches`` contiguous batch means (accounts for the
    autocorrelation of a Markov chain as long as a batch is much longer than the correlation time)."""
    x = np.moveaxis(np.asarray(samples, float), axis, 0)
    n = x.shape[0] // n_batches * n_batches
    if n == 0:
        raise NNFTInputError("n_batches", f"needs at least {n_batches} samples, got {x.shape[0]}")
    b = x[:n].reshape(n_batches, n // n_batches, *x.shape[1:]).mean(1)
    return b.mean(0), b.std(0, ddof=1) / np.sqrt(n_batches)


def pair_swap_rates(walker: np.ndarray) -> np.ndarray:
    """Acceptance rate of each PT pair (t, t+1), shape (T-1,), from ``MCResult.walker`` (S, T, R).

    A pair is attempted every other sweep (even/odd alternation), so the rate is the number of exchanges
    (the two slots' labels trade places between consecutive sweeps) divided by (S - 1)/2, averaged over replicas.
    """
    w = np.asarray(walker)
    ex = (w[1:, 1:] == w[:-1, :-1]) & (w[1:, :-1] == w[:-1, 1:])  # (S-1, T-1, R)
    return ex.sum(0).mean(-1) / ((w.shape[0] - 1) / 2)
