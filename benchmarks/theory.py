"""Benchmark of the theory core: the 200×200 tanh phase diagram and depth-10 NNGP kernels on 1000 inputs.

Usage::

    .venv/bin/python benchmarks/theory.py            # full sizes (a few minutes, mostly the baselines)
    .venv/bin/python benchmarks/theory.py --small    # smoke run with tiny sizes

It prints wall-clock times and a speed ratio against a naive baseline measured *in the same run*; it
asserts nothing (DESIGN.md: benchmarks print ratios, never pass/fail). The baselines are deliberately
simple per-point code, timed on a small subset and extrapolated linearly (the printout says so):

* phase diagram: for each (σw², σb²) point separately, iterate q ← σw² E[tanh(√q z)²] + σb² with
  ``scipy.integrate.quad`` until |Δq| < 1e-10 (at most 1000 steps), then χ₁ = σw² E[tanh'(√q* z)²]
  by ``quad``; timed on a 6×6 subgrid of the same range, extrapolated ×(200²/36). Its q*, χ₁ are
  compared with nnft's on that subgrid, to show that both compute the same thing.
* NNGP kernel: a Python loop over input pairs and layers; tanh uses a 64×64 Gauss–Hermite rule per pair
  (NumPy), ReLU the arc-cosine closed form per pair (scalar math). Timed on 40 inputs and extrapolated by
  the number of pairs, ×(1000·1001)/(40·41).

First calls include JAX compilation; second calls reuse the compiled code.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import jax
import numpy as np
from scipy import integrate

import nnft  # noqa: F401  (x64)
from nnft.kernels import nngp_kernel
from nnft.meanfield import phase_diagram


def _block(x):
    if hasattr(x, "q_star"):
        return x
    return jax.block_until_ready(x)


class Clock:
    """Wall-clock and process CPU time (all threads) of a block; on a shared machine CPU time is the steadier."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0

    def __str__(self):
        return f"{self.wall:8.2f} s wall ({self.cpu:7.2f} s CPU)"


def timed(fn):
    with Clock() as c:
        out = _block(fn())
    return out, c


# ---------------------------------------------------------------------------- naive baselines
def _gauss_expect(f, q):
    s = math.sqrt(q)
    return integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12, limit=200)[0]


def naive_point(sw2: float, sb2: float) -> tuple[float, float]:
    q = 1.0
    for _ in range(1000):
        qn = sw2 * _gauss_expect(lambda u: math.tanh(u) ** 2, q) + sb2
        done = abs(qn - q) < 1e-10
        q = qn
        if done:
            break
    chi = sw2 * _gauss_expect(lambda u: (1 - math.tanh(u) ** 2) ** 2, q) if q > 0 else sw2
    return q, chi


_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(64)
_GH_W = _GH_W / math.sqrt(2 * math.pi)
_Z1, _Z2 = np.meshgrid(_GH_X, _GH_X, indexing="ij")
_W2 = np.outer(_GH_W, _GH_W)


def _pair_tanh(k11, k12, k22):
    l11 = math.sqrt(k11)
    l21 = k12 / l11
    l22 = math.sqrt(max(k22 - l21 * l21, 0.0))
    u = l11 * _Z1
    v = l21 * _Z1 + l22 * _Z2
    return float(np.sum(_W2 * np.tanh(u) * np.tanh(v)))


def _pair_relu(k11, k12, k22):
    s = math.sqrt(k11 * k22)
    c = max(-1.0, min(1.0, k12 / s))
    th = math.acos(c)
    return s * (math.sin(th) + (math.pi - th) * c) / (2 * math.pi)


def naive_kernel(X: np.ndarray, depth: int, act: str, sw2: float, sb2: float) -> np.ndarray:
    pair = _pair_tanh if act == "tanh" else _pair_relu
    M = X.shape[0]
    K = sw2 * X @ X.T / X.shape[1] + sb2
    for _ in range(depth - 1):
        Kn = np.empty_like(K)
        for i in range(M):
            for j in range(i, M):
                Kn[i, j] = Kn[j, i] = sw2 * pair(K[i, i], K[i, j], K[j, j]) + sb2
        K = Kn
    return K


# ---------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="tiny sizes (smoke test)")
    args = ap.parse_args()
    n_grid, n_inputs, n_sub, n_naive_in = (20, 50, 3, 8) if args.small else (200, 1000, 6, 40)

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    print(f"machine: {cpu}, {os.cpu_count()} CPUs; jax {jax.__version__} on {jax.default_backend()}; nnft {nnft.__version__}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes share these CPUs)")
    print()

    # ---- phase diagram
    sw = np.linspace(0.5, 4.0, n_grid)
    sb = np.linspace(0.0, 0.5, n_grid)
    pd1, t_first = timed(lambda: phase_diagram("tanh", sw, sb))
    pd2, t_second = timed(lambda: phase_diagram("tanh", sw, sb))
    sub_w = np.linspace(0.5, 4.0, n_sub)
    sub_b = np.linspace(0.01, 0.5, n_sub)
    with Clock() as cn:
        naive = np.array([[naive_point(w, b) for w in sub_w] for b in sub_b])
    scale = (n_grid * n_grid) / (n_sub * n_sub)
    ref = phase_diagram("tanh", sub_w, sub_b)
    dq = float(np.max(np.abs(naive[..., 0] - ref.q_star)))
    dchi = float(np.max(np.abs(naive[..., 1] - ref.chi1)))
    print(f"## phase diagram, tanh, {n_grid}×{n_grid} grid (σw² ∈ [0.5, 4], σb² ∈ [0, 0.5])")
    print(f"  nnft first call (incl. compile) : {t_first}")
    print(f"  nnft second call                : {t_second}")
    print(
        f"  naive per-point scipy.quad loop : {cn.wall * scale:8.1f} s wall ({cn.cpu * scale:7.1f} s CPU), "
        f"extrapolated ×{scale:.0f} from {n_sub}×{n_sub} points"
    )
    print(
        f"  ratio naive / nnft (second call): {cn.wall * scale / t_second.wall:8.0f}× wall, "
        f"{cn.cpu * scale / t_second.cpu:.0f}× CPU"
    )
    print(f"  agreement on the subgrid: max|Δq*| = {dq:.1e}, max|Δχ₁| = {dchi:.1e}")
    print()

    # ---- NNGP kernels
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_inputs, 10))
    Xs = X[:n_naive_in]
    pairs_ratio = (n_inputs * (n_inputs + 1)) / (n_naive_in * (n_naive_in + 1))
    for act, sw2, sb2 in (("tanh", 1.5, 0.05), ("relu", 2.0, 0.05)):
        _, k_first = timed(lambda: nngp_kernel(X, 10, act, sw2, sb2))
        K2, k_second = timed(lambda: nngp_kernel(X, 10, act, sw2, sb2))
        with Clock() as cn:
            Kn = naive_kernel(Xs, 10, act, sw2, sb2)
        err = float(np.max(np.abs(Kn - np.asarray(K2)[:n_naive_in, :n_naive_in])))
        print(f"## NNGP kernel, depth 10, {n_inputs} inputs (d_in = 10), {act} (σw² = {sw2}, σb² = {sb2})")
        print(f"  nnft first call (incl. compile) : {k_first}")
        print(f"  nnft second call                : {k_second}")
        print(
            f"  naive per-pair Python loop      : {cn.wall * pairs_ratio:8.1f} s wall ({cn.cpu * pairs_ratio:7.1f} s CPU), "
            f"extrapolated ×{pairs_ratio:.0f} from {n_naive_in} inputs"
        )
        print(
            f"  ratio naive / nnft (second call): {cn.wall * pairs_ratio / k_second.wall:8.0f}× wall, "
            f"{cn.cpu * pairs_ratio / k_second.cpu:.0f}× CPU"
        )
        why = " (limited by the baseline's 64-point rule near c = 1)" if act == "tanh" else ""
        print(f"  agreement on the subset: max|ΔK| = {err:.1e}{why}")
        print()


if __name__ == "__main__":
    main()
