"""Benchmark of the finite-width ensemble simulations (issue 6): M = 1e5 networks at N = 16–64.

Usage::

    .venv/bin/python benchmarks/finite_width.py            # M = 1e5, N = 16, 32, 64, depth 16
    .venv/bin/python benchmarks/finite_width.py --small    # smoke run

For each width it times :func:`nnft.finite_width_sim.kernel_ensemble` with the exact conditional-Gaussian
("lattice") sampler on one tanh input (σw², σb²) = (1.5, 0.05), depth 16 — the note §9.3 experiment — and,
as the baseline measured in the same run, the explicit weight-space sampler on M/10 networks, extrapolated
×10 (the printout says so). It also prints the resulting G(16) and V(16) against the 1/N theory, the
1/N recursion's own time, and the Lyapunov measurement (conditional law vs jax.jvp through weights).
First calls include JAX compilation (each width compiles once); it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import nnft  # noqa: F401
from nnft.finite_width_sim import kernel_ensemble
from nnft.theory.finite_width import finite_width_theory, lyapunov_exponent, measure_lyapunov


def timed(fn, *a, **k):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    M = 10_000 if args.small else 100_000
    widths = (16, 32) if args.small else (16, 32, 64)
    depth = 16
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}")
    th, w, c = timed(finite_width_theory, [[1.0]], depth, "tanh", 1.5, 0.05)
    print(f"1/N recursion, one input, depth {depth}: {w:.2f} s wall / {c:.2f} s CPU (incl. compile)")
    X2 = np.array([[1.0, 0.0], [0.5, np.sqrt(0.75)]]) * np.sqrt(2)
    _, w, c = timed(finite_width_theory, X2, 64, "tanh", 1.5, 0.05)
    print(f"1/N recursion, two inputs, depth 64: {w:.2f} s wall / {c:.2f} s CPU (incl. compile)")
    print(f"\nM = {M} networks, depth {depth}, tanh (1.5, 0.05), one input")
    print("| N | conditional (lattice) sampler | weight space, M/10 nets ×10 (extrapolated) | ratio (wall) | G(16) sim ± s.e. | K + K1/N | V(16) sim ± s.e. | V theory |")
    print("|---|---|---|---|---|---|---|---|")
    for n in widths:
        e, w1, c1 = timed(kernel_ensemble, [[1.0]], depth, "tanh", 1.5, 0.05, n, M, chunk=M // 10, seed=1)
        _, w2, c2 = timed(kernel_ensemble, [[1.0]], depth, "tanh", 1.5, 0.05, n, M // 10, chunk=M // 100, seed=2, method="weights")
        G, Gse = e.G()
        V, Vse = e.V()
        print(
            f"| {n} | {w1:.1f} s wall / {c1:.1f} s CPU | {10 * w2:.1f} s wall / {10 * c2:.1f} s CPU | {10 * w2 / w1:.1f}× "
            f"| {G[-1, 0, 0]:.5f} ± {Gse[-1, 0, 0]:.5f} | {th.G(n)[-1, 0, 0]:.5f} | {V[-1, 0, 0]:.4f} ± {Vse[-1, 0, 0]:.4f} | {th.V[-1, 0, 0]:.4f} |"
        )
    n_net = 256 if args.small else 2048
    lt = lyapunov_exponent("tanh", 4.0, 0.3)
    for n in widths:
        (m, se), w1, c1 = timed(measure_lyapunov, "tanh", 4.0, 0.3, n, n_net, depth=200, seed=3)
        (mw, sew), w2, c2 = timed(measure_lyapunov, "tanh", 4.0, 0.3, n, n_net // 8, depth=200, method="weights", seed=4)
        print(
            f"Lyapunov (4.0, 0.3), N = {n}: conditional {m:.5f} ± {se:.5f} ({n_net} nets, {w1:.1f} s); "
            f"jvp/weights {mw:.5f} ± {sew:.5f} ({n_net // 8} nets, {w2:.1f} s); theory ½ln χ1 = {lt.lam_inf:.5f}, "
            f"+ λ1/N = {lt.at(n):.5f}"
        )


if __name__ == "__main__":
    main()
