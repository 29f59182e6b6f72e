"""Benchmark of the NN-QFT ensemble engine (issue 5): 6-input 6-point accumulation at hidden width N = 1000.

Usage::

    .venv/bin/python benchmarks/nnqft.py                  # 100k networks (ours), 5000 (loop baseline)
    .venv/bin/python benchmarks/nnqft.py --quick          # 20k / 500: a smoke run
    .venv/bin/python benchmarks/nnqft.py --paper-estimate # + per-width rates -> time of the paper-scale run

What is timed (same run, same machine, same net: the ReLU-net on the paper's six inputs, σW² = 1, σb² = 0):

* **nnft**: :func:`nnft.theory.nnqft.npoint_ensemble` — networks sampled by a jitted ``vmap`` over per-network
  keys ``fold_in(root, j)`` (float32 sampling), G2, G4, G6 accumulated on the 21 + 126 + 462 index-sorted
  entries as mergeable float64 moment states in 10 chunks (count, mean, M2 per entry). First call includes
  JAX compilation; the second call (a fresh seed) is the steady-state rate.
  ``method="conditional"`` draws the outputs from their exact Gaussian law given the hidden layer (M normals
  instead of N + 1), which is what makes a difference at N = 1000, where drawing random numbers dominates.
* **baseline**: a plain per-network NumPy loop in the spirit of the public code (``create_networks``): draw
  W0, b0, W1, b1 for one network, forward pass, then add that network's products on the same sorted entries
  to running sums and sums of squares (float64 throughout).

Both give the same statistics (independent random streams); the script prints the largest |z| between the
two G6 estimates as a sanity check. Networks/second = networks / wall time; CPU time is printed too (the
machine is shared). It asserts nothing.

``--paper-estimate`` measures the steady-state rate of ``npoint_ensemble`` at every paper width
(2 … 1000) for the three nets and extrapolates the paper-scale run (10^6 networks per width, 10 widths,
3 nets) linearly in the number of networks.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import nnft  # noqa: F401  (x64)
from nnft.stats import multiset_indices
from nnft.theory import nnqft as Q


def timed(fn, *a, **k):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    return out, time.perf_counter() - w0, time.process_time() - c0


def loop_baseline(net: Q.HMSNet, X: np.ndarray, width: int, n: int, seed: int = 0):
    """Per-network loop: sample one network, forward, accumulate sorted-entry products (sums, sums of squares)."""
    rng = np.random.default_rng(seed)
    M, d = X.shape
    idx = {k: multiset_indices(M, k) for k in (2, 4, 6)}
    s1 = {k: np.zeros(len(v)) for k, v in idx.items()}
    s2 = {k: np.zeros(len(v)) for k, v in idx.items()}
    sw, sb = np.sqrt(net.sw2), np.sqrt(net.sb2)
    for _ in range(n):
        w0 = rng.standard_normal((width, d)) * (sw / np.sqrt(d))
        b0 = rng.standard_normal(width) * sb
        g = np.maximum(w0 @ X.T + b0[:, None], 0.0)
        f = (rng.standard_normal(width) * (sw / np.sqrt(width))) @ g + rng.standard_normal() * sb
        for k, ix in idx.items():
            p = f[ix].prod(axis=1)
            s1[k] += p
            s2[k] += p * p
    mean = {k: s1[k] / n for k in idx}
    se = {k: np.sqrt((s2[k] / n - mean[k] ** 2) / (n - 1)) for k in idx}
    return mean, se


def _timed_sampling_only(net, X, N, n, method):
    Q.sample_outputs(net, X, N, 1024, key=0, method=method)
    return timed(Q.sample_outputs, net, X, N, n, key=3, method=method)[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--paper-estimate", action="store_true")
    ap.add_argument("--width", type=int, default=1000)
    args = ap.parse_args()
    n_ours, n_base = (20_000, 500) if args.quick else (100_000, 5_000)
    N = args.width
    net = Q.HMSNet("relu")
    X = Q.paper_inputs("relu")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}")
    print(f"ReLU-net, 6 inputs, N = {N}, orders 2, 4, 6 (21 + 126 + 462 sorted entries), 10 chunks\n")

    (bm, bse), wb, pb = timed(loop_baseline, net, X, N, n_base)
    rb = n_base / wb
    print("| | networks | wall | CPU | networks/s (wall) | ratio to the loop (wall / CPU) |")
    print("|---|---|---|---|---|---|")
    print(f"| per-network NumPy loop (baseline) | {n_base} | {wb:.2f} s | {pb:.2f} s | {rb:,.0f} | 1 |")
    for method in Q.SAMPLER_METHODS:
        c1, w1, p1 = timed(Q.npoint_ensemble, net, X, N, n_ours, key=1, method=method)
        c2, w2, p2 = timed(Q.npoint_ensemble, net, X, N, n_ours, key=2, method=method)
        for label, w, p in (("first call (incl. compile)", w1, p1), ("second call", w2, p2)):
            print(f"| nnft npoint_ensemble, method={method}, {label} | {n_ours} | {w:.2f} s | {p:.2f} s | "
                  f"{n_ours / w:,.0f} | {(n_ours / w) / rb:.1f}x / {(n_ours / p) / (n_base / pb):.1f}x |")  # fmt: skip
    z = (c2.mean(6) - bm[6]) / np.sqrt(c2.se(6) ** 2 + bse[6] ** 2)
    print(f"agreement: max |z| between the two G6 estimates over 462 entries = {np.max(np.abs(z)):.2f}")
    print(f"m4 = {c2.deviation(4).value:.4f} ± {c2.deviation(4).se:.4f} (exact 5/N = {5 / N:.4f})")
    ws = _timed_sampling_only(net, X, N, n_ours, "weights")
    wc = _timed_sampling_only(net, X, N, n_ours, "conditional")
    print(f"sampling alone ({n_ours} networks): weights {ws:.2f} s, conditional {wc:.2f} s; the rest is the "
          "n-point accumulation")

    if args.paper_estimate:
        n_rate = 5_000 if args.quick else 20_000
        total = 0.0
        print(f"\nsteady-state rate per width ({n_rate} networks after a warm-up call), extrapolated to 10^6 networks")
        print("| net | " + " | ".join(str(w) for w in Q.PAPER_WIDTHS) + " | total for 10^6 per width |")
        print("|---|" + "---|" * (len(Q.PAPER_WIDTHS) + 1))
        for act in ("relu", "erf", "gauss"):
            nt = Q.HMSNet(act)
            Xa = Q.paper_inputs(act)
            cells, t_net = [], 0.0
            for w in Q.PAPER_WIDTHS:
                Q.npoint_ensemble(nt, Xa, w, 2_000, key=0)
                _, wall, _ = timed(Q.npoint_ensemble, nt, Xa, w, n_rate, key=1)
                cells.append(f"{n_rate / wall:,.0f}/s")
                t_net += wall * 1e6 / n_rate
            total += t_net
            print(f"| {act} | " + " | ".join(cells) + f" | {t_net / 60:.1f} min |")
        print(f"\npaper-scale run (3 nets x 10 widths x 10^6 networks), extrapolated: {total / 60:.1f} min wall")


if __name__ == "__main__":
    main()
