r"""Reproduction "halverson2020": Halverson, Maiti & Stoner, "Neural Networks and Quantum Field Theory" (2020).

Everything follows ``shared/notes/nnqft.md`` ("note") and is computed by :mod:`nnft.theory.nnqft`:

* **Simulation.** The paper's three single-hidden-layer nets (Gauss-, Erf-, ReLU-net, d_in = 1, σW² = 1,
  σb² = 1, ReLU σb² = 0) on their six inputs (note §2.2), at each width N; the networks are split into 10
  chunks ("experiments") by global index. Streaming n-point functions on the index-sorted entries
  (21, 126, 462 of them), never the networks × 6⁶ tensors. The quick scale samples in memory; the paper
  scale writes one resumable :mod:`nnft.run` store per (net, width) under ``<out>/runs/``.
* **Exact theory** at every N (note §3.2): exact finite-N cumulants from single-neuron moments, so each
  Monte Carlo number has an exact target — not just the GP. The heavy-tail diagnostics
  (:func:`~nnft.theory.nnqft.tail_diagnostics`) say in advance which (net, order, width) cells a sample of
  this size can resolve.
* **Metrics** (tolerance 4 s.e. + a stated allowance, :meth:`Metric.compare`):

  - deterministic: kernel spot values (note check 1), exact coefficients c4, c6c (note §4.2), RG slope and
    intercept for ReLU at N = 20 over the 21 cutoffs (§4.4), G6 prediction ratios (§4.4), Gauss-net Nλ (§3.5);
  - Monte Carlo against the exact finite-N values: m₂ (exactly 0), m₄ and m₆,c in every *resolved* cell, with
    an allowance equal to the noise floor background/√10 (the average of |·| is biased up by the noise; note
    §2.4); the RG intercept and the corrected G6 ratios from the simulated 4- and 6-point functions (chunk
    jackknife errors; λ̄ re-estimated in each replicate); λ·N per width (1/N scaling);
  - every *unresolved* cell (a typical sample misses more than 5 % of the exact signal: the Gauss-net's
    log-normal tails) and every 6-point cell whose sample standard error is unreliable (kurtosis of f⁶ above
    the sample size) is kept out of the pass/fail metrics, drawn with open red markers in the figures and
    listed with its Monte Carlo value, exact value and predicted typical value in the description and in
    ``parameters["unresolved_cells"]``: the run shows where Monte Carlo cannot resolve the values instead of
    hiding them (or failing on them).

Conventions stated once (note, "Conventions to pin down"): σb = 0 for ReLU everywhere; EFT vertex legs use the
v2 code's K − σb² (equal to K for ReLU); 6-point spectators use the full K (the code's K_EFT spectators and its
132-of-462 loop are bugs, note §6.1); λ is the coupling of the action (λ ≤ 0 here; the code's λ_m is −λ);
backgrounds use ddof = 0; m₂ averages all 36 entries, m₄ and m₆ the sorted tuples.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..theory import nnqft as Q
from .base import Metric, ProgressCallback, ReproductionResult, register

NETS: tuple[str, ...] = ("relu", "erf", "gauss")
SCALE_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "widths": (2, 20, 100),
        "n_networks": 20_000,
        "rg_cutoffs": (7.0, 100.0, 1e3, 1e4, 1e5),
        "store": False,
    },
    "paper": {
        "widths": Q.PAPER_WIDTHS,
        "n_networks": 1_000_000,
        "rg_cutoffs": Q.RG_CUTOFFS,
        "store": True,
        "chunk_size": 100_000,
    },
}
N_CHUNKS = 10
NGP_WIDTH = 20  # the code's "defines NGP" width for the ReLU RG and 6-point prediction (note §3.3)
LAMBDA_CUTOFF = 10.0
# note values (shared/notes/nnqft.md)
NOTE_KERNELS = (("erf", [[1.0]], 1.59033, 5e-6), ("relu", [[1.2]], 0.72, 1e-12))
NOTE_COEFFS = {"relu": (5.0, 44.0), "erf": (0.0563, 0.0069), "gauss": (13.40, 2.03e4)}
NOTE_COEFF_TOL = {"relu": (1e-9, 1e-9), "erf": (5e-5, 5e-5), "gauss": (5e-3, 50.0)}
NOTE_RG = (-5.0, -0.2041)
NOTE_G6 = (0.5376, 0.9409)
NOTE_GAUSS_NLAMBDA = -5.346


@dataclass
class _Cell:
    act: str
    width: int
    corr: Q.Correlators
    exact: Q.ExactCorrelators
    diag: dict[int, Q.TailDiagnostic]
    est: dict[str, Q.Estimate] = field(default_factory=dict)


def _simulate(net: Q.HMSNet, X: np.ndarray, width: int, n: int, seed: int, settings: dict, out_dir: Path) -> Q.Correlators:
    seed_w = seed * 1000 + width + 100_000 * NETS.index(net.activation)
    if not settings.get("store"):
        return Q.npoint_ensemble(net, X, width, n, key=seed_w, n_chunks=N_CHUNKS)
    from ..run import load_statistics, run

    task = Q.NPointTask.make(net, X, width, seed=seed_w)
    path = out_dir / "runs" / f"{net.activation}_N{width}"
    summary = run(task, path, n_networks=n, chunk_size=min(settings["chunk_size"], n), n_batches=N_CHUNKS, quiet=True)
    return Q.Correlators.from_run(task, load_statistics(summary.result)["f"])


def _exact_curves(ex: Q.ExactCorrelators, widths: np.ndarray) -> dict[str, list[float]]:
    """Exact m4, m6, m6c at real-valued widths: G4c ∝ 1/N and G6c ∝ 1/N² exactly (one hidden layer)."""
    gp4, gp6 = ex.gp(4), ex.gp(6)
    g4c1, g6c1 = ex.Gc[4] * ex.width, ex.Gc[6] * ex.width**2
    pair = Q.sum_over_pairs(g4c1, ex.K, 6)
    ok4, ok6 = np.abs(gp4) > 0, np.abs(gp6) > 0
    out: dict[str, list[float]] = {"m4": [], "m6": [], "m6c": []}
    for w in widths:
        out["m4"].append(float(np.mean(np.abs(g4c1[ok4] / w) / gp4[ok4])))
        out["m6"].append(float(np.mean(np.abs(pair[ok6] / w + g6c1[ok6] / w**2) / gp6[ok6])))
        out["m6c"].append(float(np.mean(np.abs(g6c1[ok6] / w**2) / gp6[ok6])))
    return out


@register
class Halverson2020Reproduction:
    """NN-QFT n-point functions, EFT couplings and RG against exact finite-N theory; see the module docstring."""

    name = "halverson2020"
    title = "Neural networks and QFT (Halverson–Maiti–Stoner 2020): n-point functions, EFT couplings, RG"

    def run(self, scale: str, out_dir: Path, *, seed: int, progress: ProgressCallback) -> ReproductionResult:
        s = SCALE_SETTINGS[scale]
        widths, n = tuple(s["widths"]), int(s["n_networks"])
        total = len(NETS) * len(widths) + 3
        step = 0
        t0 = time.perf_counter()
        metrics: list[Metric] = self._deterministic_metrics(s["rg_cutoffs"])
        cells: list[_Cell] = []
        for act in NETS:
            net = Q.HMSNet(act)
            X = Q.paper_inputs(act)
            mom = Q.neuron_moments(net, X)
            for w in widths:
                progress(step, total, f"simulating {net.label}, N = {w} ({n} networks)")
                corr = _simulate(net, X, w, n, seed, s, out_dir)
                ex = Q.exact_npoint(net, X, w, moments=mom)
                diag = {t.order: t for t in Q.tail_diagnostics(net, X, w, n, n_chunks=N_CHUNKS)}
                cell = _Cell(act, w, corr, ex, diag)
                cell.est = {
                    "m2": corr.deviation(2), "m4": corr.deviation(4), "m6": corr.deviation(6),
                    "m6c": corr.connected_deviation(),
                }  # fmt: skip
                cells.append(cell)
                metrics.extend(self._cell_metrics(cell))
                step += 1
        progress(step, total, "EFT: RG flow and the 6-point prediction")
        eft = self._eft(cells, s["rg_cutoffs"], metrics)
        step += 1
        progress(step, total, "couplings vs width")
        coup = self._couplings(cells, metrics)
        step += 1
        progress(step, total, "figures")
        figures, captions = self._figures(cells, eft, coup, out_dir)
        progress(total, total, "done")
        rel = [f"{out_dir.name}/{f}" for f in figures]
        return ReproductionResult(
            name=self.name,
            title=self.title,
            description=self._description(widths, n, cells),
            metrics=metrics,
            figures=rel,
            figure_captions={f"{out_dir.name}/{k}": v for k, v in captions.items()},
            parameters={
                "widths": list(widths), "n_networks": n, "n_chunks": N_CHUNKS, "nets": list(NETS),
                "sw2": 1.0, "sb2": {"relu": 0.0, "erf": 1.0, "gauss": 1.0}, "input_dim": 1,
                "rg_cutoffs": list(s["rg_cutoffs"]), "ngp_width": NGP_WIDTH, "lambda_cutoff": LAMBDA_CUTOFF,
                "sampler": "conditional (exact), float32 sampling, float64 statistics", "z_tol": 4.0,
                "unresolved_cells": [
                    {"net": c.act, "width": c.width, "order": o, "mean_resolved": c.diag[o].resolved,
                     "se_reliable": c.diag[o].se_reliable, "typical/exact": c.diag[o].deviation_typical
                     / c.diag[o].deviation_exact if c.diag[o].deviation_exact else None}
                    for c in cells for o in (4, 6) if not c.diag[o].resolved or not c.diag[o].se_reliable
                ],
                "elapsed_s": time.perf_counter() - t0,
            },
        )  # fmt: skip

    # ------------------------------------------------------------------ metrics
    @staticmethod
    def _deterministic_metrics(cutoffs) -> list[Metric]:
        out = []
        for act, x, ref, tol in NOTE_KERNELS:
            out.append(Metric.compare(
                f"{act}: GP kernel K({x[0][0]:g}, {x[0][0]:g}) (closed form vs note)", Q.HMSNet(act).kernel(x)[0, 0], ref,
                std_error=None, allowance=tol, allowance_reason="the note's printed digits",
            ))  # fmt: skip
        kg = Q.HMSNet("gauss").kernel([[-0.01], [0.01]])[0, 1]
        out.append(Metric.compare("gauss: GP kernel K(-0.01, 0.01) (closed form vs note)", kg, 1.99980, std_error=None,
                                  allowance=5e-6, allowance_reason="the note's printed digits"))  # fmt: skip
        for act in NETS:
            ex = Q.exact_npoint(Q.HMSNet(act), Q.paper_inputs(act), 1)
            (c4, c6), (t4, t6) = NOTE_COEFFS[act], NOTE_COEFF_TOL[act]
            out.append(Metric.compare(f"{act}: exact m4·N (single-neuron cumulants vs note §4.2)", ex.deviation(4), c4,
                                      std_error=None, allowance=t4, allowance_reason="the note's printed digits"))  # fmt: skip
            out.append(Metric.compare(f"{act}: exact m6c·N² (vs note §4.2)", ex.connected_deviation(), c6,
                                      std_error=None, allowance=t6, allowance_reason="the note's printed digits"))  # fmt: skip
        net, X = Q.HMSNet("relu"), Q.paper_inputs("relu")
        ex = Q.exact_npoint(net, X, NGP_WIDTH)
        lam = np.stack([Q.lambda_elements(ex.Gc[4], Q.EFTIntegrals(net, X, L)) for L in Q.RG_CUTOFFS])
        fit = Q.rg_fit(Q.RG_CUTOFFS, lam)
        out.append(Metric.compare("relu N=20: exact RG slope of log10|λ| vs log10 Λ (21 cutoffs)", fit.slope, NOTE_RG[0],
                                  std_error=None, allowance=1e-6, allowance_reason="homogeneity: exactly −(d+4)"))  # fmt: skip
        out.append(Metric.compare("relu N=20: exact RG intercept", fit.intercept, NOTE_RG[1], std_error=None,
                                  allowance=1e-4, allowance_reason="the note's 4 decimals"))  # fmt: skip
        eft = Q.EFTIntegrals(net, X, 100.0)
        pred = Q.g6_prediction(net, X, eft.design() @ [np.nanmean(Q.lambda_elements(ex.Gc[4], eft))])
        out.append(Metric.compare("relu N=20: exact G6_GP/G6", np.mean(ex.gp(6) / ex.G[6]), NOTE_G6[0], std_error=None,
                                  allowance=1e-4, allowance_reason="the note's 4 decimals"))  # fmt: skip
        out.append(Metric.compare("relu N=20: exact (G6_GP + λ term)/G6", np.mean(pred / ex.G[6]), NOTE_G6[1],
                                  std_error=None, allowance=1e-4, allowance_reason="the note's 4 decimals"))  # fmt: skip
        g = Q.HMSNet("gauss")
        Xg = Q.paper_inputs("gauss")
        lam_g = np.nanmean(Q.lambda_elements(Q.exact_npoint(g, Xg, 100).Gc[4], Q.EFTIntegrals(g, Xg, math.inf)))
        out.append(Metric.compare("gauss: exact N·λ at Λ = ∞ (action sign; code's λ_m = −λ)", 100 * lam_g,
                                  NOTE_GAUSS_NLAMBDA, std_error=None, allowance=5e-3,
                                  allowance_reason="the note's 4 digits"))  # fmt: skip
        return out

    @staticmethod
    def _cell_metrics(c: _Cell) -> list[Metric]:
        lab = f"{c.act} N={c.width}"
        out = []
        floor = math.sqrt(N_CHUNKS)
        e2 = c.est["m2"]
        out.append(Metric.compare(
            f"{lab}: m2 (MC) vs 0", e2.value, 0.0, std_error=e2.se, allowance=e2.background / floor,
            allowance_reason="noise floor background/√chunks of an average of |·| (note §2.4)",
            note="E[f f'] = K exactly at every N",
        ))  # fmt: skip
        for key, order, exact in (("m4", 4, c.exact.deviation(4)), ("m6c", 6, c.exact.connected_deviation())):
            d = c.diag[order]
            e = c.est[key]
            if d.resolved and (order == 4 or d.se_reliable):
                out.append(Metric.compare(
                    f"{lab}: {key} (MC) vs exact finite-N", e.value, exact, std_error=e.se,
                    allowance=e.background / floor, allowance_reason="noise floor background/√chunks",
                    note=f"exact from the single-neuron cumulants; GP value 0; background {e.background:.3g}",
                ))  # fmt: skip
        return out

    @staticmethod
    def _eft(cells: list[_Cell], cutoffs, metrics: list[Metric]) -> dict[str, Any]:
        sel = [c for c in cells if c.act == "relu" and c.width == NGP_WIDTH]
        if not sel:
            return {}
        c = sel[0]
        fit, err = Q.rg_flow(c.corr, cutoffs)
        metrics.append(Metric.compare("relu N=20: RG intercept from the simulated G4", fit.intercept, NOTE_RG[1],
                                      std_error=err.intercept, note=f"slope {fit.slope:.6f} (exactly −5 by homogeneity)"))  # fmt: skip
        r = Q.g6_prediction_ratios(c.corr, cutoffs)
        for k, L in enumerate(r["cutoff"]):
            metrics.append(Metric.compare(f"relu N=20, Λ={L:g}: G6_GP/G6 (MC)", r["gp_ratio"][k], NOTE_G6[0],
                                          std_error=r["gp_ratio_se"][k]))  # fmt: skip
            metrics.append(Metric.compare(f"relu N=20, Λ={L:g}: (G6_GP + λ̄ term)/G6 (MC)", r["pred_ratio"][k],
                                          NOTE_G6[1], std_error=r["pred_ratio_se"][k],
                                          note="λ̄ from the same simulated G4 at this Λ; full-K spectators"))  # fmt: skip
        net, X = c.corr.net, c.corr.inputs
        lam_exact = np.stack([Q.lambda_elements(c.exact.Gc[4], Q.EFTIntegrals(net, X, L)) for L in cutoffs])
        lam_mc = np.stack([Q.lambda_elements(c.corr.mean(4) - c.corr.gp(4), Q.EFTIntegrals(net, X, L)) for L in cutoffs])
        return {"rg": fit, "rg_err": err, "ratios": r, "cutoffs": np.asarray(cutoffs, float), "lam_exact": lam_exact,
                "lam_mc": lam_mc}  # fmt: skip

    @staticmethod
    def _couplings(cells: list[_Cell], metrics: list[Metric]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for act in ("relu", "gauss"):
            sel = [c for c in cells if c.act == act]
            if not sel:
                continue
            net, X = sel[0].corr.net, sel[0].corr.inputs
            L = LAMBDA_CUTOFF if act == "relu" else math.inf
            eft = Q.EFTIntegrals(net, X, L)
            ws = [c.width for c in sel]
            exact = Q.couplings_vs_width(net, X, ws, L)
            mc, mc_se = [], []
            for c in sel:
                fit = Q.extract_lambda(c.corr, L, eft=eft)
                mc.append(fit.value[0] * c.width)
                mc_se.append(fit.se[0] * c.width)
                if act == "relu" or c.diag[4].resolved:
                    metrics.append(Metric.compare(
                        f"{act} N={c.width}: λ·N (MC least squares, Λ={L:g}) vs exact", mc[-1], exact["lam_N"][0],
                        std_error=mc_se[-1], note="1/N scaling: λN is the same at every width",
                    ))  # fmt: skip
            out[act] = {"widths": np.asarray(ws), "exact": exact, "mc": np.asarray(mc), "mc_se": np.asarray(mc_se),
                        "resolved": np.array([c.diag[4].resolved for c in sel])}  # fmt: skip
        return out

    # ------------------------------------------------------------------ text and figures
    @staticmethod
    def _description(widths, n: int, cells: list[_Cell]) -> str:
        rows = []
        for c in cells:
            for key, o, ex in (("m4", 4, c.exact.deviation(4)), ("m6c", 6, c.exact.connected_deviation())):
                d = c.diag[o]
                if not d.resolved or (o == 6 and not d.se_reliable):
                    why = "mean unresolved" if not d.resolved else "s.e. unreliable"
                    typ = d.deviation_typical / d.deviation_exact if d.deviation_exact else float("nan")
                    rows.append(f"{c.act} N={c.width} {key}: MC {c.est[key].value:.3g} ± {c.est[key].se:.2g}, exact "
                                f"{ex:.3g} ({why}; a typical sample captures {typ:.2f} of the diagonal signal)")  # fmt: skip
        txt = "; ".join(rows) or "none"
        return (
            f"Gauss-, Erf- and ReLU-nets (one hidden layer, d_in = 1, σW² = 1, σb² = 1, ReLU σb² = 0) on the "
            f"paper's six inputs, widths {', '.join(map(str, widths))}, {n} networks per width in {N_CHUNKS} "
            "chunks (network j in chunk ⌊10j/n⌋; exact conditional sampler, float32 draws, float64 statistics). "
            "m_n = ⟨|Ḡn − G_GP|/G_GP⟩ (n = 2 over all 36 entries, n = 4, 6 over the sorted tuples), background = "
            "⟨std over chunks (ddof = 0)/G_GP⟩, m6c from G6c = Ḡ6 − Σ15 Ḡ4 K + 2 G6_GP (note §2.4–2.5). Every "
            "Monte Carlo number is compared with the *exact* finite-N value (single-neuron cumulants, note §3.2), "
            "not only with the GP: e.g. ReLU m4 = 5/N, m6c = 44/N². Errors are chunk-jackknife standard errors. "
            "EFT: λ from G4_c = −24λ∫Π₄K over [−Λ, Λ] (legs K − σb², action sign), the RG slope of log10|λ| vs "
            "log10 Λ, and the 6-point prediction G6_GP + Σ15 G4_c(λ̄) K with full-K spectators over all 462 "
            "sorted tuples (the public code's loop reaches 132 of them, note §6.1). "
            "Heavy tails (exact-moment diagnostics, decided before looking at the simulation; the Gauss-net's "
            "log-normal hidden units put most of E f⁶ in neurons beyond the largest one a sample contains, note "
            f"§4.3) — cells left out of the metrics and drawn with open red markers: {txt}."
        )

    @staticmethod
    def _figures(cells: list[_Cell], eft: dict, coup: dict, out_dir: Path):
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        figs: list[str] = []
        captions: dict[str, str] = {}
        fig, axes = plt.subplots(3, 4, figsize=(16, 11), constrained_layout=True)
        for i, act in enumerate(NETS):
            sel = [c for c in cells if c.act == act]
            ws = np.array([c.width for c in sel], float)
            dense = np.geomspace(ws.min(), ws.max(), 60)
            net = sel[0].corr.net
            ex_curves = _exact_curves(sel[0].exact, dense)
            for j, (key, order) in enumerate((("m2", 2), ("m4", 4), ("m6", 6), ("m6c", 6))):
                ax = axes[i, j]
                vals = np.array([c.est[key].value for c in sel])
                ses = np.array([c.est[key].se for c in sel])
                bgs = np.array([c.est[key].background for c in sel])
                res = np.array([c.diag[order].resolved and (order < 6 or c.diag[6].se_reliable) for c in sel])
                yerr = np.stack([np.minimum(ses, 0.9 * np.abs(vals)), ses])  # log axis: keep the lower bar positive
                ax.errorbar(ws[res], vals[res], yerr=yerr[:, res], fmt="o", color="C0", label="Monte Carlo")
                if (~res).any():
                    ax.errorbar(ws[~res], vals[~res], yerr=yerr[:, ~res], fmt="o", mfc="none", color="C3",
                                label="MC, unresolved / unreliable s.e.")  # fmt: skip
                ax.plot(ws, bgs, "--", color="gray", label="background (one chunk)")
                if key != "m2":
                    ax.plot(dense, ex_curves[key], "-", color="k", lw=1, label="exact finite N")
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_title(f"{net.label}: {key}", fontsize=10)
                ax.set_xlabel("N")
                if i == 0 and j == 1:
                    ax.legend(fontsize=7)
        fig.savefig(out_dir / "deviations_vs_width.png", dpi=100)
        plt.close(fig)
        figs.append("deviations_vs_width.png")
        captions["deviations_vs_width.png"] = (
            "Normalised deviations from the GP, m2, m4, m6 and the connected m6c, against width (log-log), for the "
            "three nets: Monte Carlo (± chunk-jackknife s.e.), the exact finite-N value (line; m2 is exactly 0) and "
            "the single-chunk background (dashed). Open red markers: cells whose mean the sample cannot resolve "
            "(heavy tails; predicted from exact moments before the run)."
        )
        if eft:
            fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
            L = eft["cutoffs"]
            lx = np.log10(L)
            ax = axes[0]
            ax.plot(np.repeat(lx[:, None], eft["lam_mc"].shape[1], 1).ravel(), np.log10(np.abs(eft["lam_mc"])).ravel(),
                    "o", ms=3, alpha=0.5, label="MC, every element")  # fmt: skip
            ax.plot(lx, np.log10(np.abs(eft["lam_exact"][:, 0])), "-", color="k", lw=1, label="exact")
            f = eft["rg"]
            ax.set_title(f"ReLU-net N=20: log10|λ| vs log10 Λ; slope {f.slope:.3f}, R² = {f.r2:.4f}", fontsize=10)
            ax.set_xlabel("log10 Λ")
            ax.legend(fontsize=8)
            ax = axes[1]
            r = eft["ratios"]
            ax.errorbar(lx, r["gp_ratio"], yerr=r["gp_ratio_se"], fmt="s", label="G6_GP / G6 (MC)")
            ax.errorbar(lx, r["pred_ratio"], yerr=r["pred_ratio_se"], fmt="o", label="(G6_GP + λ̄ term) / G6 (MC)")
            ax.axhline(NOTE_G6[0], color="C0", ls=":", lw=1)
            ax.axhline(NOTE_G6[1], color="C1", ls=":", lw=1)
            ax.set_ylim(0, 1.2)
            ax.set_xlabel("log10 Λ")
            ax.set_title("ReLU-net N=20: 6-point prediction (exact values dotted)", fontsize=10)
            ax.legend(fontsize=8)
            fig.savefig(out_dir / "rg_and_g6_prediction.png", dpi=100)
            plt.close(fig)
            figs.append("rg_and_g6_prediction.png")
            captions["rg_and_g6_prediction.png"] = (
                "Left: the quartic coupling λ(Λ) = −δG4/(24∫Π₄K) of every sorted 4-tuple at every cutoff (simulated "
                "G4, ReLU-net N = 20) with the exact line: a power law Λ^−5 = Λ^−(d+4). Right: the 6-point function "
                "predicted by the GP alone and with the tree-level λ term (λ̄ from the same simulation), divided by "
                "the simulated G6, against the cutoff: flat, near the exact 0.538 and 0.941."
            )
        if coup:
            fig, ax = plt.subplots(1, 1, figsize=(6.5, 4.5), constrained_layout=True)
            for k, (act, d) in enumerate(coup.items()):
                ex = d["exact"]
                ax.plot(ex["width"], np.abs(ex["lam_N"]), "-", color=f"C{k}", lw=1, label=f"{act}: |λ|N exact")
                v, e, ok = np.abs(d["mc"]), d["mc_se"], d["resolved"]
                yerr = np.stack([np.minimum(e, 0.9 * v), e])  # log axis: keep the lower bar positive
                ax.errorbar(d["widths"][ok], v[ok], yerr=yerr[:, ok], fmt="o", color=f"C{k}", label=f"{act}: |λ|N MC")
                if (~ok).any():
                    ax.errorbar(d["widths"][~ok], v[~ok], yerr=yerr[:, ~ok], fmt="o", mfc="none", color=f"C{k}",
                                label=f"{act}: |λ|N MC, G4 unresolved (heavy tails)")  # fmt: skip
                ax.plot(ex["width"], np.abs(ex["kappa_N2"]), "--", color=f"C{k}", lw=1, label=f"{act}: |κ|N² exact")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("N")
            ax.set_title("Couplings × powers of N: constant (λ ~ 1/N, κ ~ 1/N²)", fontsize=10)
            ax.legend(fontsize=7)
            fig.savefig(out_dir / "couplings_vs_width.png", dpi=100)
            plt.close(fig)
            figs.append("couplings_vs_width.png")
            captions["couplings_vs_width.png"] = (
                f"|λ|·N (ReLU-net at Λ = {LAMBDA_CUTOFF:g}, Gauss-net at Λ = ∞; least squares on the simulated G4 "
                "with jackknife errors, and exact) and the exact |κ|·N² (after the λ² exchange diagram) against width."
            )
        return figs, captions
