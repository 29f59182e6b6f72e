r"""Reproduction "schoenholz2017": the lattice model of random networks (Schoenholz, Pennington & Sohl-Dickstein 2017).

Every figure of the paper is regenerated with simulation and theory overlaid:

* Fig. 1 — samples of |z^l| of a deep tanh network (L = 100, N = 500, σb² = 0.001, σw² from 0.1 to 1.5)
  with the mean-field line √(N q^l);
* Fig. 3 / Fig. 5 — the saddle points r* (linear, eq. 13) and r₊*, r₋*, k* (ReLU, eq. 20) against the bulk
  mean of simulated chains;
* Fig. 4 / Fig. 6 — Fourier-mode variances of the fluctuations (linear; ReLU 3×3 spectral matrix, every
  component, real and imaginary parts) against the derived Gaussian theory
  (:func:`nnft.theory.lattice_model.fluctuation_spectrum`), the printed eq. 15 / eq. 22 (``paper_*``) and the
  exact finite-N spectra (:func:`~nnft.theory.lattice_model.linear_exact_spectrum`,
  :func:`~nnft.theory.lattice_model.relu_exact_spectrum`);
* appendix Figs. 7–9 — transient and analysis window, mode histograms, mode means and variances (linear,
  σw² = 0.9).

**Protocol** (paper §5, appendix 8.3): N = 200, L = 1024, M = 200 networks, σb² = 0.01, one input with
|x|²/d = 1; the last L/2 layers are analysed; fluctuations are taken about the theoretical saddle
(r − r*, ...), Fourier transformed with ``numpy.fft.fft`` and normalised per layer (the variance of a mode of
``fft(..., norm="ortho")``, :data:`~nnft.theory.lattice_model.FOURIER_NORMALISATION`); the variance of each
mode is taken over networks. ReLU fields are the paper's rescaled ε̃ (ε̃± = √(2/D*) ε±, ε̃_k = ε_k/√N) with
**k = number of positive units**; the printed eq. 22 (k = negative units, opposite Fourier sign) is converted
before comparison. Networks come from :func:`nnft.sampling.sample_chunk` (exact collective chains for
linear/ReLU, the lattice sampler for tanh).

**Theory used for each comparison.** A finite window of an open chain does not have the ring's spectrum:
the expected periodogram is the Fejér-smoothed Σ(q) (:func:`~nnft.theory.lattice_model.windowed_spectrum`),
which is what the derived theory is compared with; the printed formulas are shown as printed (ring, no
window), as the paper plotted them.

**Metrics.** Modes are grouped in log-spaced bands; a band's estimate is the mean over networks of each
network's band-averaged periodogram, its s.e. the spread of that quantity over networks/√M.

* derived theory, per σw² and component: the worst band's |sim − theory|/(4 s.e. + a) (pass ≤ 1), with
  a = |exact finite-N − Gaussian| the O(1/N) error of the Gaussian theory (computed, not fitted); the note
  gives the median and max over bands of |sim/theory − 1|;
* printed formula, per σw² and component: the median over bands of (sim − paper)/scale against the
  discrepancy the exact theory predicts, (exact − paper)/scale (scale = √(S_aa S_bb) of the paper matrix):
  it passes when the simulation sees the predicted error of the printed formula;
* saddles: the bulk mean against r* (eq. 13/20) with the exact O(1/N) offset of the mean from the mode as
  allowance (footnote 1 of the paper); transient: E|z^l|²/N against the mean-field recursion (exact for linear
  nets at any N); modes: mean-square z-score of the mode means (→ 1) and the variance of standardised modes (→ 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from ..activations import get_activation
from ..theory import lattice_model as lm
from .base import Metric, ProgressCallback, ReproductionResult, register

__all__ = ["Schoenholz2017Reproduction", "Schoenholz2017Config", "SCALE_SETTINGS", "band_edges", "band_statistics"]


@dataclass(frozen=True)
class Schoenholz2017Config:
    width: int = 200
    depth: int = 1024
    networks: int = 200
    sb2: float = 0.01
    linear_sw2: tuple[float, ...] = (0.02, 0.18, 0.34, 0.5, 0.66, 0.82, 0.98)
    relu_sw2: tuple[float, ...] = (0.02, 0.34, 0.66, 0.98, 1.3, 1.62, 1.94)
    appendix_sw2: float = 0.9
    tanh_width: int = 500
    tanh_depth: int = 100
    tanh_sb2: float = 0.001
    tanh_sw2: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5)
    tanh_networks: int = 16
    exact_grid: int = 400

    @property
    def window(self) -> int:
        return self.depth // 2


SCALE_SETTINGS: dict[str, Schoenholz2017Config] = {
    "paper": Schoenholz2017Config(),
    "quick": Schoenholz2017Config(
        depth=256, networks=48, linear_sw2=(0.5, 0.9), relu_sw2=(0.98, 1.62), tanh_width=200, tanh_depth=50,
        tanh_sw2=(0.3, 0.9, 1.5), tanh_networks=8, exact_grid=300,
    ),
}

RELU_SERIES = [("r+", "r+", "re"), ("r-", "r-", "re"), ("k", "k", "re"), ("r+", "r-", "re"), ("r+", "k", "re"),
               ("r-", "k", "re"), ("r+", "r-", "im"), ("r+", "k", "im"), ("r-", "k", "im")]


def band_edges(window: int) -> list[tuple[int, int]]:
    """Log-spaced bands of positive modes 1..window/2 (about 3× wider each)."""
    hi = window // 2 + 1
    edges = [1]
    while edges[-1] * 3 < hi * 0.6:
        edges.append(edges[-1] * 3 + (1 if edges[-1] == 1 else 0))
    edges.append(hi)
    return list(zip(edges[:-1], edges[1:]))


def band_statistics(eps: np.ndarray, bands) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """eps (F, M, W) → band estimates (B, F, F) complex, s.e. of real and imaginary parts, per-mode spectrum (W, F, F)."""
    F_, M, W = eps.shape
    f = np.fft.fft(eps, axis=-1) / math.sqrt(W)
    f = f - f.mean(axis=1, keepdims=True)
    per = np.einsum("amq,bmq->mqab", f, f.conj()) * M / (M - 1)
    est, se_r, se_i = [], [], []
    for lo, hi in bands:
        b = per[:, lo:hi].mean(axis=1)
        est.append(b.mean(0))
        se_r.append(b.real.std(0, ddof=1) / math.sqrt(M))
        se_i.append(b.imag.std(0, ddof=1) / math.sqrt(M))
    return np.array(est), np.array(se_r), np.array(se_i), per.mean(0)


def _bands_of(S: np.ndarray, bands) -> np.ndarray:
    return np.array([S[lo:hi].mean(axis=0) for lo, hi in bands])


def _simulate(activation: str, sw2: float, cfg: Schoenholz2017Config, key, record, *, width=None, depth=None, networks=None, method="collective"):
    from ..sampling import sample_chunk
    from ..spec import NetworkSpec

    width = width or cfg.width
    depth = depth or cfg.depth
    net = NetworkSpec(depth=depth, width=width, activation=activation, sw2=sw2, sb2=cfg.tanh_sb2 if activation == "tanh" else cfg.sb2, input_dim=width)
    x = np.ones(width)  # |x|²/d = 1
    out = sample_chunk(net, x, networks or cfg.networks, key=key, method=method, record=record, dtype="float64")
    return {k: np.asarray(v)[..., 0] for k, v in out.items()}  # (M, L)


def _part(z, part):
    return z.real if part == "re" else z.imag


def _spectral_metrics(tag, series, est, se_r, se_i, gauss_b, exact_b, paper_b, fields, sw2) -> list[Metric]:
    out = []
    for a, b, part in series:
        i, j = fields.index(a), fields.index(b)
        se = (se_r if part == "re" else se_i)[:, i, j]
        sim = _part(est[:, i, j], part)
        th = _part(gauss_b[:, i, j], part)
        ex = _part(exact_b[:, i, j], part)
        allow = np.abs(ex - th)
        tol = 4 * se + allow
        d = np.abs(sim - th) / np.where(tol > 0, tol, np.inf)
        rel = np.abs(sim / np.where(th != 0, th, np.nan) - 1)
        label = f"S[{a},{b}]" + ("" if a == b else f" {part}")
        out.append(Metric(
            name=f"{tag} sw2={sw2:.2f} {label}: derived theory, worst band |sim-theory|/tol",
            value=float(np.max(d)), reference=0.0, tolerance=1.0, passed=bool(np.max(d) <= 1.0),
            note=(f"tol = 4 s.e. + |exact finite-N - Gaussian| per band (max allowance {allow.max():.3g}); "
                  f"|sim/theory - 1|: median {np.nanmedian(rel):.3g}, max {np.nanmax(rel):.3g} over {len(sim)} bands"),
        ))
        if part == "re":
            scale = np.sqrt(np.abs(paper_b[:, i, i].real * paper_b[:, j, j].real))
            dev = np.median((sim - _part(paper_b[:, i, j], part)) / scale)
            pred = np.median((ex - _part(paper_b[:, i, j], part)) / scale)
            out.append(Metric.compare(
                f"{tag} sw2={sw2:.2f} {label}: printed formula, median band (sim-paper)/scale",
                dev, pred, std_error=float(np.median(se / scale)),
                note="reference = the discrepancy predicted by the exact finite-N theory (exact-paper)/scale; "
                     "scale = sqrt(S_aa S_bb) of the printed matrix; the printed formula is the ring (no window)",
            ))
    return out


def _palette(n):
    import matplotlib.cm as cm

    return [cm.coolwarm(t) for t in np.linspace(0, 1, max(n, 2))][:n]


@register
class Schoenholz2017Reproduction:
    name = "schoenholz2017"
    title = "Random networks as lattice models (Schoenholz, Pennington & Sohl-Dickstein 2017)"

    def run(self, scale: str, out_dir: Path, *, seed: int, progress: ProgressCallback) -> ReproductionResult:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        cfg = SCALE_SETTINGS[scale]
        out_dir = Path(out_dir)
        root = jax.random.key(seed)
        W, N, sb2 = cfg.window, cfg.width, cfg.sb2
        bands = band_edges(W)
        qs = 2 * np.pi * np.arange(W) / W
        metrics: list[Metric] = []
        figures: list[str] = []
        captions: dict[str, str] = {}
        total = len(cfg.linear_sw2) + len(cfg.relu_sw2) + len(cfg.tanh_sw2) + 2
        step = 0

        def save(fig, name, caption):
            fig.savefig(out_dir / name, dpi=110, bbox_inches="tight")
            plt.close(fig)
            rel = f"{out_dir.name}/{name}"
            figures.append(rel)
            captions[rel] = caption

        # ------------------------------------------------------------------ linear: Figs. 3, 4
        lin = {}
        for i, sw2 in enumerate(cfg.linear_sw2):
            progress(step, total, f"linear sw2={sw2}")
            r = _simulate("linear", sw2, cfg, jax.random.fold_in(root, 100 + i), ("norm",))["norm"][:, -W:]
            r_star = lm.linear_saddle(sw2, sb2, N)
            est, se_r, se_i, per = band_statistics((r - r_star)[None], bands)
            fs = lm.fluctuation_spectrum("linear", sw2, sb2, [0.0], width=N)
            _, gauss = lm.windowed_spectrum(fs.blocks, W, qs)
            ex = lm.linear_exact_spectrum(sw2, sb2, N, qs, observable="r", window=W, grid=cfg.exact_grid)
            exact = ex["spectrum"][:, None, None]
            paper = lm.paper_linear_spectrum(qs, sw2, sb2)[:, None, None]
            metrics += _spectral_metrics("fig4", [("r", "r", "re")], est, se_r, se_i, _bands_of(gauss, bands),
                                         _bands_of(exact, bands), _bands_of(paper, bands), ("r",), sw2)
            means = r.mean(axis=1)
            metrics.append(Metric.compare(
                f"fig3 sw2={sw2:.2f} bulk mean |z| vs r* (eq. 13)", means.mean(), r_star,
                std_error=means.std(ddof=1) / math.sqrt(len(means)), allowance=abs(ex["mean"]),
                allowance_reason="exact finite-N offset E r - r* (mean vs mode, footnote 1)",
            ))
            lin[sw2] = dict(per=per[:, 0, 0].real, gauss=gauss[:, 0, 0].real, exact=exact[:, 0, 0], paper=paper[:, 0, 0],
                            mean=means.mean(), se=means.std(ddof=1) / math.sqrt(len(means)), r_star=r_star)
            step += 1
        cols = _palette(len(cfg.linear_sw2))
        fig, ax = plt.subplots(figsize=(6, 4))
        m = slice(1, W // 2 + 1)
        for c, (sw2, d) in zip(cols, lin.items()):
            ax.plot(qs[m], d["per"][m], color=c, lw=1, label=f"σw²={sw2}")
            ax.plot(qs[m], d["gauss"][m], color="k", lw=0.8)
            ax.plot(qs[m], d["paper"][m], color="k", lw=0.8, ls=":")
        ax.set_yscale("log"), ax.set_xlabel("q"), ax.set_ylabel("variance of mode (per layer)")
        ax.legend(fontsize=7, ncol=2)
        save(fig, "fig4_linear_spectra.png", "Fig. 4: linear Fourier-mode variances; colour: simulation, solid black: "
             "derived Gaussian theory (Fejér-windowed), dotted: printed eq. 15 (ring, no window).")
        fig, ax = plt.subplots(figsize=(5, 3.5))
        grid = np.linspace(0.01, 0.985, 200)
        ax.plot(grid, [lm.linear_saddle(s, sb2, N) for s in grid], "k--", label="eq. 13")
        ax.errorbar(list(lin), [d["mean"] for d in lin.values()], yerr=[d["se"] for d in lin.values()], fmt="o", color="r", label="simulation")
        ax.set_xlabel("σw²"), ax.set_ylabel("r*"), ax.set_yscale("log"), ax.legend()
        save(fig, "fig3_linear_rstar.png", "Fig. 3: linear saddle r* (eq. 13) vs the bulk mean norm.")

        # ------------------------------------------------------------------ ReLU: Figs. 5, 6
        relu = {}
        for i, sw2 in enumerate(cfg.relu_sw2):
            progress(step, total, f"relu sw2={sw2}")
            rec = _simulate("relu", sw2, cfg, jax.random.fold_in(root, 200 + i), ("r_plus", "r_minus", "k"))
            x = np.stack([rec["r_plus"], rec["r_minus"], rec["k"].astype(float)])[:, :, -W:]
            fs = lm.fluctuation_spectrum("relu", sw2, sb2, [0.0], width=N, rescaled=True)
            sc = fs.scales
            sad = np.array([fs.saddle[f] for f in fs.fields])
            est, se_r, se_i, per = band_statistics((x - sad[:, None, None]) * sc[:, None, None], bands)
            _, gauss = lm.windowed_spectrum(fs.blocks, W, qs)
            gauss = gauss * np.outer(sc, sc)[None]
            exr = lm.relu_exact_spectrum(sw2, sb2, N, qs, window=W, rescaled=True, grid=cfg.exact_grid)
            paper = lm.paper_relu_spectrum(qs, sw2)
            metrics += _spectral_metrics("fig6", RELU_SERIES, est, se_r, se_i, _bands_of(gauss, bands),
                                         _bands_of(exr["covariance"], bands), _bands_of(paper, bands), fs.fields, sw2)
            means = x.mean(axis=2)  # (3, M)
            for f_i, f in enumerate(fs.fields):
                metrics.append(Metric.compare(
                    f"fig5 sw2={sw2:.2f} bulk mean {f} vs eq. 20", means[f_i].mean(), sad[f_i],
                    std_error=means[f_i].std(ddof=1) / math.sqrt(means.shape[1]), allowance=abs(exr["mean"][f_i]),
                    allowance_reason="exact finite-N offset of the mean from the saddle",
                ))
            relu[sw2] = dict(per=per, gauss=gauss, paper=paper, mean=means.mean(1), se=means.std(1, ddof=1) / math.sqrt(means.shape[1]), sad=sad)
            step += 1
        cols = _palette(len(cfg.relu_sw2))
        fig, axes = plt.subplots(3, 3, figsize=(11, 9))
        names = ("ε̃₊", "ε̃₋", "ε̃_k")
        for a in range(3):
            for b in range(3):
                ax = axes[a, b]
                i, j, part = (a, b, "re") if a <= b else (b, a, "im")
                for c, (sw2, d) in zip(cols, relu.items()):
                    ax.plot(qs[m], _part(d["per"][m, i, j], part), color=c, lw=1, label=f"{sw2}")
                    ax.plot(qs[m], _part(d["gauss"][m, i, j], part), color="k", lw=0.7)
                    ax.plot(qs[m], _part(d["paper"][m, i, j], part), color="k", lw=0.7, ls=":")
                if a == b:
                    ax.set_yscale("log")
                ax.set_title(f"{'Re' if part == 're' else 'Im'} Σ[{names[i]},{names[j]}]", fontsize=9)
        axes[0, 0].legend(fontsize=6, title="σw²", title_fontsize=6)
        save(fig, "fig6_relu_spectral_matrix.png", "Fig. 6: ReLU spectral matrix (k = positive count, ε̃ fields); upper "
             "triangle and diagonal: real parts, lower triangle: imaginary parts. Colour: simulation; solid: derived "
             "(windowed); dotted: printed eq. 22 converted to these conventions.")
        fig, ax = plt.subplots(figsize=(5, 3.5))
        grid = np.linspace(0.01, 1.97, 200)
        ax.plot(grid, [lm.relu_saddle(s, sb2, N)["r+"] for s in grid], "k--", label="eq. 20")
        sws = list(relu)
        ax.errorbar(sws, [d["mean"][0] for d in relu.values()], yerr=[d["se"][0] for d in relu.values()], fmt="o", color="r", label="r₊")
        ax.errorbar(sws, [d["mean"][1] for d in relu.values()], yerr=[d["se"][1] for d in relu.values()], fmt="s", color="b", mfc="none", label="r₋")
        ax.set_yscale("log"), ax.set_xlabel("σw²"), ax.set_ylabel("r*₊, r*₋"), ax.legend(loc="upper left")
        ins = ax.inset_axes([0.55, 0.12, 0.4, 0.3])
        ins.errorbar(sws, [d["mean"][2] for d in relu.values()], yerr=[d["se"][2] for d in relu.values()], fmt="o", color="k", ms=3)
        ins.axhline(N / 2, ls="--", color="gray")
        ins.set_title("k*", fontsize=7), ins.tick_params(labelsize=6)
        save(fig, "fig5_relu_saddle.png", "Fig. 5: ReLU saddle point r₊*, r₋* (eq. 20) and k* = N/2 (inset) vs bulk means.")

        # ------------------------------------------------------------------ appendix: Figs. 7–9 (linear, sw2 = 0.9)
        progress(step, total, "appendix (linear, transient and modes)")
        sw2 = cfg.appendix_sw2
        norm = _simulate("linear", sw2, cfg, jax.random.fold_in(root, 300), ("norm",))["norm"]
        r_star = lm.linear_saddle(sw2, sb2, N)
        s = norm**2 / N
        q_mf = np.empty(cfg.depth)
        qq = 1.0
        for l in range(cfg.depth):
            qq = sw2 * qq + sb2
            q_mf[l] = qq
        for l in (0, 9, 49, 99, 199):
            if l < cfg.depth // 2:
                metrics.append(Metric.compare(
                    f"fig7 transient: mean |z^l|²/N at l={l + 1} (sw2={sw2})", s[:, l].mean(), q_mf[l],
                    std_error=s[:, l].std(ddof=1) / math.sqrt(s.shape[0]), note="E|z^l|²/N obeys the mean-field recursion exactly (linear)",
                ))
        eps = norm[:, -W:] - r_star
        f = np.fft.fft(eps, axis=-1) / math.sqrt(W)
        ex = lm.linear_exact_spectrum(sw2, sb2, N, qs, observable="r", window=W, grid=cfg.exact_grid)["spectrum"]
        pos = np.arange(1, W // 2)
        zr = f[:, pos].real / np.sqrt(ex[pos] / 2)
        metrics.append(Metric.compare(
            f"fig8 variance of standardised Re ε_q (sw2={sw2})", zr.var(), 1.0,
            std_error=math.sqrt(2 / zr.size) * math.sqrt(1 + 0.5 * max(float(np.mean(zr**4)) - 3, 0)),
            note=f"pooled over modes 1..W/2-1 and networks; excess kurtosis {float(np.mean(zr**4) / zr.var()**2 - 3):.3f} (Gaussian modes: 0)",
        ))
        mean_q = f[:, pos].mean(axis=0)
        se_q = np.sqrt(ex[pos] / f.shape[0])
        z2 = np.mean(np.abs(mean_q) ** 2 / se_q**2)
        metrics.append(Metric.compare(
            f"fig9 mean-square z-score of the mode means (sw2={sw2})", z2, 1.0, std_error=math.sqrt(1 / len(pos)),
            note="|mean over networks of ε_q|²/(S(q)/M), averaged over modes q ≠ 0: 1 when every mode has mean zero",
        ))
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
        for c in range(min(5, norm.shape[0])):
            axes[0].plot(np.arange(1, cfg.depth + 1), norm[c], lw=0.6)
        axes[0].axhline(r_star, color="k", ls="--"), axes[0].axvline(cfg.depth - W, color="gray", ls=":")
        axes[0].set_xlabel("layer"), axes[0].set_ylabel("|z^l|"), axes[0].set_title("transient | analysis window", fontsize=9)
        for c in range(min(5, f.shape[0])):
            axes[1].plot(qs[1:W // 2], np.abs(f[c, 1:W // 2]), lw=0.6)
        axes[1].set_yscale("log"), axes[1].set_xlabel("q"), axes[1].set_ylabel("|ε_q|")
        save(fig, "fig7_transient_fft.png", f"Fig. 7: linear network, σw² = {sw2}: norms through the network (transient, "
             "then the analysis window) and the FFT of the window for a few networks.")
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for n_, c in zip((1, 8, 32, W // 4), _palette(4)):
            v = f[:, n_].real
            ax.hist(v, bins=30, density=True, histtype="step", color=c, label=f"q = 2π·{n_}/{W}")
            g = np.linspace(v.min(), v.max(), 200)
            ax.plot(g, np.exp(-g**2 / ex[n_]) / np.sqrt(np.pi * ex[n_]), color=c, lw=0.8, ls="--")
        ax.set_xlabel("Re ε_q"), ax.legend(fontsize=7)
        save(fig, "fig8_mode_histograms.png", "Fig. 8: histograms of Re ε_q for several q; dashed: Gaussian with the exact variance S(q)/2.")
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
        axes[0].errorbar(qs[pos], mean_q.real, yerr=se_q / math.sqrt(2), fmt=".", ms=2)
        axes[0].axhline(0, color="k"), axes[0].set_xlabel("q"), axes[0].set_ylabel("mean Re ε_q")
        var_q = (np.abs(f - f.mean(0)) ** 2).sum(0) / (f.shape[0] - 1)
        _, gl = lm.windowed_spectrum(lm.fluctuation_spectrum("linear", sw2, sb2, [0.0], width=N).blocks, W, qs)
        axes[1].plot(qs[pos], var_q[pos], ".", ms=2, label="simulation")
        axes[1].plot(qs[pos], gl[pos, 0, 0].real, "k", label="derived (windowed)")
        axes[1].plot(qs[pos], lm.paper_linear_spectrum(qs[pos], sw2, sb2), "k:", label="eq. 15")
        axes[1].set_yscale("log"), axes[1].set_xlabel("q"), axes[1].set_ylabel("⟨|ε_q|²⟩"), axes[1].legend(fontsize=7)
        save(fig, "fig9_mode_mean_variance.png", "Fig. 9: (a) mean of each mode, (b) variance of each mode with theory.")
        step += 1

        # ------------------------------------------------------------------ Fig. 1: tanh norms
        act = get_activation("tanh")
        cols = _palette(len(cfg.tanh_sw2))
        fig, ax = plt.subplots(figsize=(6, 4))
        for i, sw2 in enumerate(cfg.tanh_sw2):
            progress(step, total, f"tanh sw2={sw2}")
            norm = _simulate("tanh", sw2, cfg, jax.random.fold_in(root, 400 + i), ("norm",), width=cfg.tanh_width,
                             depth=cfg.tanh_depth, networks=cfg.tanh_networks, method="lattice")["norm"]
            q = np.empty(cfg.tanh_depth)
            qq = sw2 * 1.0 + cfg.tanh_sb2
            for l in range(cfg.tanh_depth):
                q[l] = qq
                qq = sw2 * float(act.second_moment(qq)) + cfg.tanh_sb2
            ax.plot(np.arange(1, cfg.tanh_depth + 1), norm[0], color=cols[i], lw=0.8, label=f"{sw2}")
            ax.plot(np.arange(1, cfg.tanh_depth + 1), np.sqrt(cfg.tanh_width * q), "k--", lw=0.6)
            bulk = (norm[:, cfg.tanh_depth // 2:] ** 2 / cfg.tanh_width).mean(axis=1)
            q_tail = q[cfg.tanh_depth // 2:].mean()
            metrics.append(Metric.compare(
                f"fig1 tanh sw2={sw2:.2f}: bulk mean |z|²/N vs mean-field q^l", bulk.mean(), q_tail,
                std_error=bulk.std(ddof=1) / math.sqrt(len(bulk)), allowance=2 * q_tail / cfg.tanh_width,
                allowance_reason="O(1/N) finite-width shift of the mean kernel, |K1/K| <= 2 (as in the meanfield reproduction)",
            ))
            step += 1
        ax.set_xlabel("layer l"), ax.set_ylabel("|z^l|"), ax.set_yscale("log")
        ax.legend(fontsize=6, title="σw²", title_fontsize=7, ncol=2)
        save(fig, "fig1_tanh_norms.png", f"Fig. 1: |z^l| of tanh networks (L = {cfg.tanh_depth}, N = {cfg.tanh_width}, "
             f"σb² = {cfg.tanh_sb2}); dashed: mean field √(N q^l). The mean field has no fluctuations.")
        progress(total, total, "done")

        description = (
            "The lattice model of SPS17: exact energies, saddles and an automatic (autodiff) Gaussian fluctuation "
            "theory, against exact simulation at the paper's parameters. Derived theory = Hessian of eq. 12 / eq. 79 "
            "at the saddle, compared Fejér-windowed (open-chain window). Printed-formula findings: eq. 15 is the "
            "right ring spectrum (its deviation from the open-chain simulation is the window, up to ~10% at high q "
            "for σw² = 0.98, plus O(1/N)); eq. 21/22 have the k row and column halved (Var ε̃_k = 0.40 instead of "
            "1/4, and ε̃±–ε̃_k couplings ½ instead of 1), the printed k counts negative units, and eq. 22 uses the "
            "opposite Fourier sign; eq. 23 has the wrong sign of the ε₊ε₋ coupling and twice the gradient term "
            "(its mass matrix is indefinite for σw² ≳ 1.1)."
        )
        return ReproductionResult(
            name=self.name, title=self.title, description=description, metrics=metrics, figures=figures,
            parameters={"width": N, "depth": cfg.depth, "networks": cfg.networks, "sb2": sb2, "window": W,
                        "bands": bands, "linear_sw2": cfg.linear_sw2, "relu_sw2": cfg.relu_sw2,
                        "k_convention": "positive count", "fourier_normalisation": lm.FOURIER_NORMALISATION,
                        "tanh": {"width": cfg.tanh_width, "depth": cfg.tanh_depth, "sb2": cfg.tanh_sb2, "sw2": cfg.tanh_sw2}},
            figure_captions=captions,
        )
