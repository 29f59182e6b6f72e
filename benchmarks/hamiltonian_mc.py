"""Benchmark: effective samples per second of the Gibbs samplers in :mod:`nnft.hamiltonian_mc` (prints
figures and ratios; never pass/fail).

One network (default tanh, L = 1, C_W = 1, N0 = 200, N1 = 2000), one β (default 2), R = 4 independent chains:

* convention B (sphere): random-walk ``metropolis`` vs geodesic ``hmc``;
* convention A (Gaussian reference): ``mala`` vs Euclidean ``hmc``.

Every sampler tunes its step during burn-in (``adapt_step=True``, same target acceptances as the module);
the timed call is the second one with the same static configuration (compilation excluded) and includes
burn-in. ESS of the energy per chain = n / τ_int, with τ_int = 1 + 2 Σ_t ρ(t) summed up to the first
window W ≥ 5 τ_int (Sokal's automatic window); ESS is summed over the R chains. Also reported: ESS of
the replica overlap q (mean over the 6 pairs).

    python benchmarks/hamiltonian_mc.py                       # tanh, N0 = 200, N1 = 2000, β = 2
    python benchmarks/hamiltonian_mc.py --act sin --sw2 4 --beta 1.25 --n0 100 --width 600
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np

import nnft  # noqa: F401  (x64)
from nnft.hamiltonian_mc import gibbs_sample, sample_mlp


def tau_int(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time of a 1-D series (FFT autocorrelation, Sokal window)."""
    x = np.asarray(x, float) - np.mean(x)
    n = len(x)
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    if acf[0] <= 0:
        return 1.0
    rho = acf / acf[0]
    tau = 1.0
    for w in range(1, n):
        tau = 1.0 + 2.0 * rho[1:w + 1].sum()
        if w >= c * tau:
            break
    return max(tau, 1.0)


def ess(samples: np.ndarray) -> float:
    """Summed ESS over chains; samples (S, chains)."""
    return float(sum(samples.shape[0] / tau_int(samples[:, j]) for j in range(samples.shape[1])))


def bench(net, beta, convention, method, sweeps, burn, n_leapfrog, seed):
    kw = dict(convention=convention, method=method, replicas=4, n_sweeps=sweeps, burn_in=burn, thin=1,
              adapt_step=True, n_leapfrog=n_leapfrog)
    gibbs_sample(net, [beta], jax.random.PRNGKey(seed), **kw)  # compile
    t0 = time.perf_counter()
    r = gibbs_sample(net, [beta], jax.random.PRNGKey(seed + 1), **kw)
    wall = time.perf_counter() - t0
    e, q = r.e[:, 0, :], r.q[:, 0, :]
    return dict(method=method, wall=wall, ess_e=ess(e), ess_q=ess(q), acc=float(r.accept[0]), step=float(r.step[0]),
                e=float(e.mean()), sweeps=sweeps, tau_e=float(np.mean([tau_int(e[:, j]) for j in range(e.shape[1])])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--act", default="tanh")
    ap.add_argument("--sw2", type=float, default=1.0)
    ap.add_argument("--n0", type=int, default=200)
    ap.add_argument("--width", type=int, default=2000)
    ap.add_argument("--beta", type=float, default=2.0)
    ap.add_argument("--n-leapfrog", type=int, default=10)
    ap.add_argument("--grad-budget", type=int, default=20000,
                    help="sweeps × gradients-per-sweep per sampler (metropolis/mala get the same number of sweeps "
                         "as the gradient budget, hmc budget/n_leapfrog sweeps)")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, jax {jax.__version__} "
          f"({jax.devices()[0].platform})")
    print(f"network: {args.act}, L = 1, C_W = {args.sw2:g}, N0 = {args.n0}, N1 = {args.width}; beta = {args.beta:g}; "
          f"R = 4 chains, burn-in 20%")
    net = sample_mlp(jax.random.PRNGKey(0), args.n0, args.width, depth=1, activation=args.act, sw2=args.sw2)
    nl = args.n_leapfrog
    n_cheap, n_hmc = args.grad_budget, max(args.grad_budget // nl, 200)
    for conv, cheap in (("B", "metropolis"), ("A", "mala")):
        rows = [bench(net, args.beta, conv, cheap, n_cheap, n_cheap // 5, nl, 10),
                bench(net, args.beta, conv, "hmc", n_hmc, n_hmc // 5, nl, 20)]
        print(f"\nconvention {conv}")
        print(f"  {'method':<11}{'sweeps':>7}{'wall s':>8}{'accept':>8}{'step':>8}{'<e>':>9}{'tau_e':>8}"
              f"{'ESS_e':>8}{'ESS_e/s':>9}{'ESS_q/s':>9}")
        for r in rows:
            print(f"  {r['method']:<11}{r['sweeps']:>7}{r['wall']:>8.1f}{r['acc']:>8.2f}{r['step']:>8.3g}{r['e']:>9.4f}"
                  f"{r['tau_e']:>8.1f}{r['ess_e']:>8.0f}{r['ess_e'] / r['wall']:>9.1f}{r['ess_q'] / r['wall']:>9.1f}")
        a, b = rows
        print(f"  ratio hmc/{cheap}: ESS_e/s = {b['ess_e'] / b['wall'] / (a['ess_e'] / a['wall']):.2f}, "
              f"ESS_q/s = {b['ess_q'] / b['wall'] / (a['ess_q'] / a['wall']):.2f}")


if __name__ == "__main__":
    main()
