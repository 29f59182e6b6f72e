"""Benchmark: weight-space vs lattice vs collective samplers (prints figures and ratios; never pass/fail).

1. Single-input ensembles of depth L = 1024 and 200 networks at N ∈ {100, 200, 1000}: time per ensemble of
   the weight-space and lattice samplers (tanh) and of the collective samplers (linear and ReLU), after a
   warm-up call whose time (compile + one batch of networks) is reported separately. Expected: lattice ≈ N/2 × faster
   than weight space (N + 1 instead of N² + N Gaussian draws per layer), collective flat in N.
2. M = 8 inputs, depth 10, N = 512, 4096 networks: the empirical NNGP kernel K̂ = E[zᵀz/N] at the last
   layer from the lattice and the weight-space samplers — time, and max_ab |K̂_ab − K_ab|/s.e._ab against
   :func:`nnft.kernels.nngp_kernel` (the infinite-width kernel; at N = 512 the O(1/N) finite-width shift
   is itself ~1–2 s.e. here).

``--quick`` times the weight-space sampler on fewer networks (``--weights-networks``, default 16 for part 1
and 512 for part 2) and extrapolates linearly to the full ensemble (its cost is exactly linear in the
number of networks: networks are independent and batched in fixed blocks); extrapolated figures are
marked ``*``. Without ``--quick`` everything runs in full (weight space at N = 1000 is ~2·10¹¹ Gaussian
draws: about an hour on a 2-core machine).

    python benchmarks/samplers.py --quick
    python benchmarks/samplers.py            # full
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np

import nnft
from nnft.kernels import nngp_kernel
from nnft.sampling import block_size, sample_chunk
from nnft.sampling._plan import Plan
from nnft.spec import NetworkSpec

SB2 = 0.01


def _divisor_block(network: NetworkSpec, method: str, m: int, n: int, record) -> int:
    """A batch size that divides n (no padded networks), at most the sampler's memory-budget block."""
    plan = Plan(method, False, network.input_dim, network.widths, network.activations(), m, tuple(record), "float32",
                "shared", 1.0, False)
    cap = block_size(plan) if method == "weights" else n
    return max(d for d in range(1, min(cap, n) + 1) if n % d == 0)


def timed(network, x, n, method, record, seed, repeats):
    bs = _divisor_block(network, method, x.shape[0], n, record)
    t0 = time.perf_counter()  # warm-up: compile + one batch
    sample_chunk(network, x, bs, key=jax.random.key(seed), method=method, record=record, batch_size=bs)
    first = time.perf_counter() - t0
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        out = sample_chunk(network, x, n, key=jax.random.key(seed + 1 + r), method=method, record=record, batch_size=bs)
        best = min(best, time.perf_counter() - t0)
    return first, best, out


def part1(args) -> None:
    L, n = args.depth, args.networks
    print(f"\n## 1. Single input, depth {L}, {n} networks per ensemble (float32, σb² = {SB2})\n")
    print("| N | sampler | activation | networks timed | warm-up (compile + 1 batch) s | time per ensemble s | vs weights | vs lattice |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for N in args.widths:
        x = np.ones((1, N))  # |x|²/d = 1
        rows = []
        for method, act, sw2 in (("weights", "tanh", 1.5), ("lattice", "tanh", 1.5), ("collective", "linear", 0.9),
                                 ("collective", "relu", 1.8)):
            net = NetworkSpec(depth=L, width=N, activation=act, sw2=sw2, sb2=SB2, input_dim=N)
            n_run = n
            if method == "weights" and args.quick:
                n_run = min(n, args.weights_networks)
            reps = 1 if method == "weights" else args.repeats
            first, best, _ = timed(net, x, n_run, method, ("norm",), 10, reps)
            per_ensemble = best * n / n_run
            rows.append((method, act, n_run, first, per_ensemble))
        t_w = rows[0][4]
        t_l = rows[1][4]
        for method, act, n_run, first, t in rows:
            star = "*" if n_run < n else ""
            print(f"| {N} | {method} | {act} | {n_run} | {first:.2f} | {t:.3f}{star} | {t_w / t:.1f}× | {t_l / t:.2f}× |")
        summary.append((N, t_w / t_l, rows[2][4], rows[3][4]))
    print("\nweights/lattice speed-up vs N/2:", ", ".join(f"N={N}: {r:.0f}× (N/2 = {N // 2})" for N, r, _, _ in summary))
    print("collective time per ensemble (linear, relu):", ", ".join(f"N={N}: {a:.3f} s, {b:.3f} s" for N, _, a, b in summary))


def part2(args) -> None:
    N, L, M, n = 512, 10, 8, args.nngp_networks
    sw2, sb2 = 1.5, 0.05
    x = np.random.default_rng(0).normal(size=(M, 16))
    net = NetworkSpec(depth=L, width=N, activation="tanh", sw2=sw2, sb2=sb2, input_dim=16)
    k_th = np.asarray(nngp_kernel(x, L, "tanh", sw2, sb2))
    print(f"\n## 2. Empirical NNGP: M = {M} inputs, depth {L}, N = {N}, {n} networks (tanh, σw² = {sw2}, σb² = {sb2})\n")
    print("| sampler | networks | warm-up s | time for the ensemble s | max |K̂ − K_NNGP|/s.e. | mean |K̂ − K_NNGP|/s.e. |")
    print("|---|---|---|---|---|---|")
    times, est = {}, {}
    for method in ("lattice", "weights"):
        n_run = min(n, args.weights_nngp_networks) if (method == "weights" and args.quick) else n
        first, best, out = timed(net, x, n_run, method, ("gram",), 20, 1)
        g = out["gram"][:, -1]
        iu = np.triu_indices(M)
        mean, se = g.mean(0)[iu], g.std(0, ddof=1)[iu] / np.sqrt(n_run)
        z = np.abs(mean - k_th[iu]) / se
        t = best * n / n_run
        times[method] = t
        est[method] = (mean, se)
        star = "*" if n_run < n else ""
        print(f"| {method} | {n_run} | {first:.2f} | {t:.2f}{star} | {z.max():.2f} | {z.mean():.2f} |")
    (ml, sl), (mw, sw) = est["lattice"], est["weights"]
    z2 = np.abs(ml - mw) / np.sqrt(sl**2 + sw**2)
    print(f"\nweights/lattice time: {times['weights'] / times['lattice']:.1f}×; lattice vs weight space "
          f"(two-sample, same finite N): max |K̂_lattice − K̂_weights|/s.e. = {z2.max():.2f} over {z2.size} entries")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="time weight space on fewer networks and extrapolate")
    p.add_argument("--depth", type=int, default=1024)
    p.add_argument("--networks", type=int, default=200)
    p.add_argument("--widths", type=int, nargs="+", default=[100, 200, 1000])
    p.add_argument("--weights-networks", type=int, default=16, help="networks timed for weight space with --quick")
    p.add_argument("--nngp-networks", type=int, default=4096)
    p.add_argument("--weights-nngp-networks", type=int, default=512, help="part 2 weight-space networks with --quick")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (best of) for lattice and collective")
    p.add_argument("--skip-nngp", action="store_true")
    args = p.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print("# nnft sampler benchmark")
    print(f"\nmachine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs, "
          f"{platform.system()} {platform.release()}; jax {jax.__version__} ({jax.default_backend()}), "
          f"nnft {nnft.__version__}; load average at start {tuple(round(v, 2) for v in load)}")
    part1(args)
    if not args.skip_nngp:
        part2(args)


if __name__ == "__main__":
    main()
