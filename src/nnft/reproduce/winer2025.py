r"""``nnft reproduce winer2025``: Winer & Hanin 2025, "Deep Neural Nets as Hamiltonians" (arXiv:2503.23982).

Formalisation and conventions: ``shared/notes/hamiltonians.md`` (§1.3; H(x) = √N0 z^{(L+1)}(x),
convention A = Gaussian reference measure, B = sphere |x|² = N0). Pieces:

1. linear net, exact solution (note §7 item 3) vs the replica solver (A and B; allowance 1e-8) vs Monte
   Carlo on finite networks (A; e, d vs β). In A the network average of the Gibbs averages is exact at
   any N0 and width (E_θ|u|² = b, see ``tests/test_hamiltonian_mc.py``), so no finite-size allowance.
2. Solver checks against known spherical spin glasses (pure 3-spin T_s, ground states of q², q³, q⁴) and
   the note's closed-form AT points (sin, erf, ReLU), as metrics.
3. s(E) curves from the solver per activation and depth (convention A, RS branch; figure only).
4. Phase tables. (a) Infinite width (GP; :func:`nnft.theory.replica.classification_table`), conventions B
   (and A at paper scale), compared row by row with the abstract's claims, with the continuous-band
   fraction of :func:`nnft.theory.replica.continuous_rsb_fraction` (0: at most 1RSB by Talagrand's
   criterion). (b) Finite width ratio α = N1/N0 (:mod:`nnft.theory.replica_finite_width`, the note's
   alternative convention, L = 1, sphere). Findings, recorded in ``parameters`` and the description, not
   pass/fail metrics.
5. RS point (tanh, L = 1, C_W = 1, β = 1, sphere): Monte Carlo (geodesic HMC + parallel tempering) at
   N0 = 100, 200, 400 with N1 = α N0; q and e extrapolated in 1/N0 vs the finite-α RS theory.
6. RSB point (sin, L = 1, C_W = 4, T = 0.8, sphere, N0 = 100): e(T) along the PT ladder vs finite-α RS
   above the transition, e(0.8) and the two-peak P(q) (weight below (q0 + q1)/2 vs the Parisi m) vs the
   finite-α 1RSB solution.

Monte Carlo networks have finite hidden width, so they are compared with the theory at their own α; the
GP (α = ∞) values are drawn for contrast (they differ by O(1/α), measured in
``tests/test_replica_finite_width.py``).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..hamiltonian import hamiltonian_covariance, mixed_pspin  # noqa: E402
from ..hamiltonian_mc import (  # noqa: E402
    gibbs_sample,
    overlap_histogram,
    overlap_summary,
    pair_swap_rates,
    round_trips,
    sample_mlp,
)
from ..theory.replica import (  # noqa: E402
    at_point,
    classification_table,
    continuous_rsb_fraction,
    entropy_curve,
    ground_state_energy,
    solve,
    solve_rs,
    static_transition,
)
from ..theory.replica_finite_width import (  # noqa: E402
    at_point_finite_width,
    classify_finite_width,
    solve_1rsb_finite_width,
    solve_rs_finite_width,
)
from .base import Metric, ProgressCallback, ReproductionResult, register  # noqa: E402

SCALE_SETTINGS = {
    "quick": {"n0": 60, "width": 128, "n_nets": 6, "sweeps": 600,
              "table": [("sin", 1, 2.0), ("tanh", 1, 1.0), ("shaped_tanh", 4, "np")], "table_conventions": ("B",),
              "fw_table": [], "fw_alphas": (),
              "rs_scan": {"n0s": (100, 200, 400), "alpha": 2.0, "n_nets": 6, "sweeps": 500},
              "rsb": [{"alpha": 10, "n_nets": 3, "sweeps": 1000}]},
    "paper": {"n0": 200, "width": 1024, "n_nets": 16, "sweeps": 4000,
              "table": [(a, L, s) for a in ("sin", "tanh", "relu") for L in (1, 2, 3) for s in (1.0, 2.0)]
              + [("shaped_tanh", L, "np") for L in (4, 16)] + [("shaped_relu", L, "np") for L in (4, 16)],
              "table_conventions": ("B", "A"),
              "fw_table": [("sin", 1.0), ("sin", 2.0), ("sin", 4.0), ("tanh", 1.0), ("tanh", 2.0), ("tanh", 4.0),
                           ("relu", 1.0), ("relu", 2.0)], "fw_alphas": (1.0, 2.0, 4.0, 16.0),
              "rs_scan": {"n0s": (100, 200, 400), "alpha": 2.0, "n_nets": 16, "sweeps": 1500},
              "rsb": [{"alpha": 10, "n_nets": 8, "sweeps": 4000}, {"alpha": 40, "n_nets": 4, "sweeps": 2500}]},
}

CLAIMS = {"sin": "full RSB", "tanh": "RS (shallow)", "relu": "RS (shallow)", "shaped_tanh": "RS (deep shaped)",
          "shaped_relu": "RS (deep shaped)"}


def _agrees(act: str, phase: str) -> bool:
    return phase == "FRSB" if act == "sin" else phase == "RS"


def _solver_checks() -> list[Metric]:
    r"""Known spherical spin glasses and the closed-form AT points (note §7 items 4–5), as metrics.

    References are independent of the solver: literature values (Crisanti & Sommers 1992 for the pure
    3-spin static transition; the 1RSB ground states of the pure p-spin, quoted by the note to 4–5
    digits, whose rounding is the allowance), the GOE edge −√2, and roots of the note's closed-form AT
    conditions found here with Brent's method.
    """
    from scipy.optimize import brentq

    out = []
    st = static_transition(mixed_pspin({3: 0.5}), "B")
    out.append(Metric.compare("pure 3-spin (xi=q^3/2) static T_s", st.temperature, 0.58605, std_error=None,
                              allowance=5e-5, allowance_reason="reference quoted to 5 digits (Crisanti-Sommers 1992)"))
    for coeffs, ref, allow, label in [({2: 1.0}, -math.sqrt(2), 1e-9, "xi=q^2 (GOE edge -sqrt 2)"),
                                      ({3: 1.0}, -1.6570, 1e-4, "xi=q^3"), ({4: 1.0}, -1.7941, 1e-4, "xi=q^4")]:
        gs = ground_state_energy(mixed_pspin(coeffs), "B", kmax=1)
        out.append(Metric.compare(f"spherical ground state {label}", gs.energy, ref, std_error=None, allowance=allow,
                                  allowance_reason="reference rounding" if allow > 1e-9 else "solver tolerance"))
    u_star = brentq(lambda u: u * math.tanh(u) - 1, 0.5, 2.0, xtol=1e-14)
    at = at_point(hamiltonian_covariance("sin", depth=1, sw2=2.0), "B")
    out.append(Metric.compare("sin L=1 C_W=2 (B): AT at C_W q* = u*, u* tanh u* = 1", 2.0 * at.q, u_star,
                              std_error=None, allowance=1e-6, allowance_reason="root-finder tolerance"))
    cw = 2.0
    at = at_point(hamiltonian_covariance("erf", depth=1, sw2=cw), "B")
    out.append(Metric.compare("erf L=1 C_W=2 (B): AT pre-activation correlation 1/sqrt 2",
                              2 * cw * at.q / (1 + 2 * cw * at.d), 1 / math.sqrt(2), std_error=None,
                              allowance=1e-6, allowance_reason="root-finder tolerance"))
    t_star = brentq(lambda t: t / (math.sqrt(1 - t * t) * (math.pi - math.acos(t))) - 1, 0.5, 0.999, xtol=1e-14)
    cov = hamiltonian_covariance("relu", depth=1, sw2=2.0)
    for conv, kw in [("B", {}), ("A", {"beta_min": 1.0, "beta_max": 10.0, "n_grid": 12})]:
        at = at_point(cov, conv, **kw)
        out.append(Metric.compare(f"relu L=1 C_W=2 ({conv}): AT at q*/d = t*, t*/(sqrt(1-t*^2)(pi-arccos t*)) = 1",
                                  at.t, t_star, std_error=None, allowance=1e-6, allowance_reason="root-finder tolerance"))
    return out


def _wls_intercept(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares y = a + b x: (a, s.e.(a), b)."""
    X = np.stack([np.ones_like(x), x], 1)
    w = 1.0 / se**2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    a, b = cov @ (X.T @ (w * y))
    return float(a), float(np.sqrt(cov[0, 0])), float(b)


def _rs_point_scan(cfg: dict, root, out_dir: Path) -> tuple[list[Metric], dict]:
    r"""RS point (tanh, L = 1, C_W = 1, β = 1, sphere B) at N0 ∈ {100, 200, 400}, hidden width N1 = α N0.

    Geodesic HMC with a two-temperature PT ladder (β = 0.5, 1), 4 replicas, per-network time averages; the
    s.e. is the network-to-network spread. The finite-N0 correction of a spherical model's overlap and energy
    is O(1/N0), so y(N0) = y∞ + b/N0 is fitted by weighted least squares over the three N0 and the
    extrapolated y∞ is compared with the finite-α RS theory (:mod:`nnft.theory.replica_finite_width`) at the
    same α, within 4 s.e. of the fit and no allowance. The GP (α = ∞) value is shown for contrast.
    """
    act, sw2, beta, alpha = "tanh", 1.0, 1.0, float(cfg["alpha"])
    fw = solve_rs_finite_width(act, alpha, beta, "B", sw2=sw2)
    gp = solve_rs(hamiltonian_covariance(act, depth=1, sw2=sw2), beta, "B")
    sweeps, n_nets = cfg["sweeps"], cfg["n_nets"]
    rows, hists = [], []
    for j, n0 in enumerate(cfg["n0s"]):
        width = int(round(alpha * n0))
        qn, en, Q = [], [], []
        for i in range(n_nets):
            knet, kmc = jax.random.split(jax.random.fold_in(root, 10_000 + 1000 * j + i))
            net = sample_mlp(knet, n0, width, depth=1, activation=act, sw2=sw2)
            r = gibbs_sample(net, [0.5, beta], kmc, convention="B", method="hmc", replicas=4, n_sweeps=sweeps,
                             burn_in=sweeps // 4, thin=2, n_leapfrog=8, adapt_step=True)
            Q.append(r.q[:, -1])
            qn.append(r.q[:, -1].mean())
            en.append(r.e[:, -1].mean())
        qn, en = np.array(qn), np.array(en)
        rows.append({"n0": n0, "width": width, "q": qn.mean(), "q_se": qn.std(ddof=1) / np.sqrt(n_nets),
                     "e": en.mean(), "e_se": en.std(ddof=1) / np.sqrt(n_nets)})
        hists.append(overlap_histogram(np.array(Q), bins=40, range=(-0.4, 0.8)))
    inv = np.array([1.0 / r["n0"] for r in rows])
    metrics, fits = [], {}
    for key, ref, ref_gp in [("q", float(fw.q[-1]), float(gp.q[-1])), ("e", fw.energy, gp.energy)]:
        a, a_se, b = _wls_intercept(inv, np.array([r[key] for r in rows]), np.array([r[key + "_se"] for r in rows]))
        fits[key] = {"intercept": a, "se": a_se, "slope": b, "finite_alpha": ref, "gp": ref_gp}
        metrics.append(Metric.compare(
            f"tanh L=1 B beta=1: MC {key} extrapolated N0->inf vs finite-alpha RS (alpha={alpha:g})", a, ref,
            std_error=a_se, note=f"fit {key}(N0) = {key}_inf + b/N0 over N0 = {list(cfg['n0s'])}, N1 = {alpha:g} N0, "
            f"{n_nets} networks each; GP (alpha = inf) value {ref_gp:.4f}"))
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for r, (h, c) in zip(rows, hists):
        ax[0].plot(c, h, label=f"N0={r['n0']}")
    ax[0].axvline(float(fw.q[-1]), color="k", label=f"finite-α RS q (α={alpha:g})")
    ax[0].axvline(float(gp.q[-1]), color="k", ls=":", label="GP RS q (α=∞)")
    ax[0].set(xlabel="q", ylabel="P(q)", title="tanh L=1, C_W=1, β=1, sphere (RS point)")
    ax[0].legend(fontsize=7)
    for key, col in [("q", "C0"), ("e", "C1")]:
        y = np.array([r[key] for r in rows])
        ye = np.array([r[key + "_se"] for r in rows])
        f = fits[key]
        ax[1].errorbar(inv, y - f["finite_alpha"], 4 * ye, fmt="o", color=col, label=f"{key}: MC − finite-α theory (±4 s.e.)")
        xx = np.linspace(0, inv.max() * 1.1, 20)
        ax[1].plot(xx, f["intercept"] + f["slope"] * xx - f["finite_alpha"], color=col, lw=0.8)
        ax[1].plot([0], [f["gp"] - f["finite_alpha"]], "x", color=col, ms=8, label=f"{key}: GP − finite-α")
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set(xlabel="1/N0", ylabel="difference", title="finite-N0 extrapolation")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "rs_point_n0_scan.png", dpi=100)
    plt.close(fig)
    return metrics, {"alpha": alpha, "rows": rows, "fits": fits}


def _rsb_point(runs: list[dict], root, out_dir: Path) -> tuple[list[Metric], dict]:
    r"""RSB point: sin, L = 1, C_W = 4, sphere B, T = 0.8 (GP: RS → 1RSB by a jump at T_s ≈ 0.993).

    N0 = 100, hidden width N1 = α N0; geodesic HMC with a 10-temperature PT ladder T = 2 … 0.8, 4 replicas.
    Theory at the same α from :mod:`nnft.theory.replica_finite_width`: RS above the transition, 1RSB
    (q0, q1, m) at T = 0.8; GP (α = ∞) values from :mod:`nnft.theory.replica` shown for contrast.
    Scored: e(T) at T = 2, 1.5, 1.2 vs finite-α RS; e(0.8) vs finite-α 1RSB; the weight of P(q) below
    (q0 + q1)/2 vs m. Tolerance 4 s.e. (network-to-network spread: in an RSB phase P_J(q) does not
    self-average, so the weight varies strongly between networks) plus an O(1/N0) allowance |e|/N0 on the
    energies, fixed a priori.
    """
    act, sw2, n0 = "sin", 4.0, 100
    betas = np.linspace(0.5, 1.25, 10)
    bt = float(betas[-1])
    cov = hamiltonian_covariance(act, depth=1, sw2=sw2)
    gp_rs, gp_1 = solve_rs(cov, bt, "B"), solve(cov, bt, 1, "B")
    metrics: list[Metric] = []
    out: dict = {"betas": betas.tolist(), "gp_rs": {"e": gp_rs.energy, "q": float(gp_rs.q[0])},
                 "gp_1rsb": {"e": gp_1.energy, "q": gp_1.q.tolist(), "m": gp_1.m.tolist()}, "runs": []}
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    bb = np.linspace(0.5, bt, 16)
    ax[0].plot(1 / bb, [solve_rs(cov, b, "B").energy for b in bb], "k:", label="GP RS (α=∞)")
    ax[0].plot([1 / bt], [gp_1.energy], "k*", ms=10, label="GP 1RSB (α=∞)")
    for j, run in enumerate(runs):
        alpha, n_nets, sweeps = float(run["alpha"]), run["n_nets"], run["sweeps"]
        width = int(round(alpha * n0))
        scored = [int(np.argmin(np.abs(1 / betas - t))) for t in (2.0, 1.5, 1.2)]
        fw_rs = {i: solve_rs_finite_width(act, alpha, float(betas[i]), "B", sw2=sw2) for i in scored + [len(betas) - 1]}
        fw_1 = solve_1rsb_finite_width(act, alpha, bt, "B", sw2=sw2)
        q0, q1, m = float(fw_1.q[0]), float(fw_1.q[-1]), float(fw_1.m[0])
        split = 0.5 * (q0 + q1)
        E, Q, frac = [], [], []
        diag = []
        for i in range(n_nets):
            knet, kmc = jax.random.split(jax.random.fold_in(root, 20_000 + 1000 * j + i))
            net = sample_mlp(knet, n0, width, depth=1, activation=act, sw2=sw2)
            r = gibbs_sample(net, betas, kmc, convention="B", method="hmc", replicas=4, n_sweeps=sweeps,
                             burn_in=sweeps // 4, thin=2, n_leapfrog=5, adapt_step=True)
            E.append(r.e.mean(axis=(0, 2)))
            Q.append(r.q[:, -1])
            frac.append(float(np.mean(r.q[:, -1] < split)))
            diag.append({"round_trips": round_trips(r.walker).tolist(), "min_swap": float(pair_swap_rates(r.walker).min())})
        E, frac = np.array(E), np.array(frac)
        e_se = E.std(0, ddof=1) / np.sqrt(n_nets)
        note = f"N0={n0}, N1={width} (alpha={alpha:g}), {n_nets} networks x {sweeps} HMC sweeps"
        for i in scored:
            ref = fw_rs[i].energy
            metrics.append(Metric.compare(f"sin C_W=4 B alpha={alpha:g}: MC e(T={1 / betas[i]:.2f}) vs finite-alpha RS",
                                          E[:, i].mean(), ref, std_error=e_se[i], allowance=abs(ref) / n0,
                                          allowance_reason="O(1/N0) finite-size correction", note=note))
        metrics.append(Metric.compare(f"sin C_W=4 B alpha={alpha:g}: MC e(T=0.8) vs finite-alpha 1RSB",
                                      E[:, -1].mean(), fw_1.energy, std_error=e_se[-1], allowance=abs(fw_1.energy) / n0,
                                      allowance_reason="O(1/N0) finite-size correction",
                                      note=note + f"; finite-alpha RS {fw_rs[len(betas) - 1].energy:.4f}, GP 1RSB {gp_1.energy:.4f}, "
                                      f"GP RS {gp_rs.energy:.4f}"))
        metrics.append(Metric.compare(f"sin C_W=4 B alpha={alpha:g}: weight of P(q) below (q0+q1)/2 vs Parisi m (T=0.8)",
                                      frac.mean(), m, std_error=frac.std(ddof=1) / np.sqrt(n_nets),
                                      note=note + f"; finite-alpha 1RSB q0={q0:.3f}, q1={q1:.3f}; per-network weights "
                                      + ", ".join(f"{x:.2f}" for x in frac)))
        summ = overlap_summary(np.array(Q), split)
        out["runs"].append({"alpha": alpha, "width": width, "n_nets": n_nets, "sweeps": sweeps,
                            "e_T": E.mean(0).tolist(), "e_T_se": e_se.tolist(),
                            "fw_rs_e": {f"{1 / betas[i]:.3f}": x.energy for i, x in fw_rs.items()}, "fw_1rsb": {"e": fw_1.energy, "q": fw_1.q.tolist(),
                                                                           "m": fw_1.m.tolist(), "phi": fw_1.phi},
                            "fw_rs_phi_T08": fw_rs[len(betas) - 1].phi, "overlap_summary": summ, "weights_below": frac.tolist(),
                            "diagnostics": diag})
        col = f"C{j}"
        ax[0].errorbar(1 / betas, E.mean(0), 4 * e_se, fmt="o", ms=3, color=col, label=f"MC α={alpha:g} (±4 s.e.)")
        ax[0].plot([1 / betas[i] for i in fw_rs], [x.energy for x in fw_rs.values()], "s", mfc="none", color=col,
                   label=f"finite-α RS (α={alpha:g})")
        ax[0].plot([1 / bt], [fw_1.energy], "*", color=col, ms=10, label=f"finite-α 1RSB (α={alpha:g})")
        h, c = overlap_histogram(np.array(Q), bins=30, range=(-0.2, 1.0))
        ax[1].plot(c, h, color=col, label=f"MC α={alpha:g}: weight below split {frac.mean():.2f}±{frac.std(ddof=1) / np.sqrt(n_nets):.2f}")
        for qq in (q0, q1):
            ax[1].axvline(qq, color=col, ls="--", lw=0.8)
    for qq in gp_1.q:
        ax[1].axvline(float(qq), color="k", ls=":", lw=0.8)
    ax[0].set(xlabel="T", ylabel="e", title="sin L=1, C_W=4, sphere: energy")
    ax[0].legend(fontsize=6)
    ax[1].set(xlabel="q", ylabel="P(q)", title=f"T=0.8: P(q) (dashed: finite-α q0,q1; dotted: GP; GP m={gp_1.m[0]:.2f})")
    ax[1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out_dir / "rsb_point_overlaps.png", dpi=100)
    plt.close(fig)
    return metrics, out


def _finite_width_table(rows_spec, alphas, full: bool) -> list[dict]:
    """Finite-α phase table (L = 1, sphere B): AT temperature per (activation, C_W, α) and, if ``full``, the
    phase at 1.25 β_AT (:func:`nnft.theory.replica_finite_width.classify_finite_width`)."""
    table = []
    for act, sw in rows_spec:
        for a in alphas:
            at = at_point_finite_width(act, a, "B", sw2=sw, beta_max=12.0)
            row = {"activation": act, "sw2": sw, "alpha": a, "T_AT": at.temperature if at else 0.0,
                   "phase": "RS (beta <= 12)" if at is None else "RSB below T_AT"}
            if at is not None and full:
                c = classify_finite_width(act, a, 1.25 * at.beta, "B", sw2=sw)
                row.update(phase=c.phase, reason=c.reason)
            table.append(row)
    return table


@register
class Winer2025Reproduction:
    name = "winer2025"
    title = "Random MLPs as Hamiltonians over their inputs: replica theory vs Monte Carlo"

    def run(self, scale: str, out_dir: Path, *, seed: int, progress: ProgressCallback) -> ReproductionResult:
        s = SCALE_SETTINGS[scale]
        n0, width, n_nets, sweeps = s["n0"], s["width"], s["n_nets"], s["sweeps"]
        out_dir = Path(out_dir)
        metrics: list[Metric] = []
        total = 5
        root = jax.random.key(seed)

        # 1. linear: exact vs solver vs MC
        progress(0, total, "linear net: exact, solver, Monte Carlo")
        b = 1.0  # C_W = 1, L = 1: b = C_W^{L+1}
        cov_lin = hamiltonian_covariance("linear", depth=1, sw2=1.0)
        betas = np.array([0.5, 1.0, 2.0])
        for beta in betas:
            sa = solve_rs(cov_lin, beta, "A")
            for nm, v, ref in [("e", sa.energy, -beta * b), ("d", sa.d, 1 + beta**2 * b), ("q", float(sa.q[-1]), beta**2 * b)]:
                metrics.append(Metric.compare(f"linear A solver {nm}(beta={beta:g})", v, ref, std_error=None,
                                              allowance=1e-8, allowance_reason="solver tolerance"))
            sb = solve_rs(cov_lin, beta, "B")
            qb = ((2 * beta**2 * b + 1) - np.sqrt(4 * beta**2 * b + 1)) / (2 * beta**2 * b)  # q/(1-q)^2 = β²b
            for nm, v, ref in [("q", float(sb.q[-1]), qb), ("e", sb.energy, -beta * b * (1 - qb))]:
                metrics.append(Metric.compare(f"linear B solver {nm}(beta={beta:g})", v, ref, std_error=None,
                                              allowance=1e-8, allowance_reason="solver tolerance"))
        E, D, U2 = [], [], []
        for i in range(n_nets):
            net = sample_mlp(jax.random.fold_in(root, i), n0, width, depth=1, activation="linear")
            r = gibbs_sample(net, betas, jax.random.fold_in(root, 1000 + i), replicas=2, n_sweeps=sweeps, burn_in=sweeps // 4)
            E.append(r.e.mean(axis=(0, 2)))
            D.append(r.d.mean(axis=(0, 2)))
            u = (net.layers[1][0] @ net.layers[0][0])[0]
            U2.append(float(u @ u))
        E, D, U2 = np.array(E), np.array(D), np.array(U2)
        # per-network exact Gibbs averages (Gaussian measure N(-β√N0 u, I)): <e> = -β|u|², <d> = 1 + β²|u|²
        dE, dD = E + betas * U2[:, None], D - 1 - betas**2 * U2[:, None]
        se_e, se_d = E.std(0, ddof=1) / np.sqrt(n_nets), D.std(0, ddof=1) / np.sqrt(n_nets)
        for j, beta in enumerate(betas):
            metrics.append(Metric.compare(f"linear A MC e(beta={beta:g})", E[:, j].mean(), -beta * b, std_error=se_e[j],
                                          note=f"N0={n0}, width={width}, {n_nets} networks; exact at any N0 after the network average"))
            metrics.append(Metric.compare(f"linear A MC d(beta={beta:g})", D[:, j].mean(), 1 + beta**2 * b, std_error=se_d[j],
                                          note=f"N0={n0}, width={width}, {n_nets} networks"))
            metrics.append(Metric.compare(f"linear A MC e + beta|u|^2 per network (beta={beta:g})", dE[:, j].mean(), 0.0,
                                          std_error=dE[:, j].std(ddof=1) / np.sqrt(n_nets),
                                          note="exact Gibbs average of each sampled network (detailed-balance check)"))
            metrics.append(Metric.compare(f"linear A MC d - 1 - beta^2|u|^2 per network (beta={beta:g})", dD[:, j].mean(), 0.0,
                                          std_error=dD[:, j].std(ddof=1) / np.sqrt(n_nets),
                                          note="exact Gibbs average of each sampled network"))
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
        bb = np.linspace(0, 2.2, 50)
        ax[0].plot(bb, -bb * b, label="exact")
        ax[0].plot(betas, [solve_rs(cov_lin, x, "A").energy for x in betas], "s", mfc="none", label="solver")
        ax[0].errorbar(betas, E.mean(0), 4 * se_e, fmt="o", label="MC (±4 s.e.)")
        ax[0].set(xlabel="β", ylabel="e")
        ax[1].plot(bb, 1 + bb**2 * b, label="exact")
        ax[1].errorbar(betas, D.mean(0), 4 * se_d, fmt="o", label="MC (±4 s.e.)")
        ax[1].set(xlabel="β", ylabel="d")
        ax[0].legend()
        fig.tight_layout()
        fig.savefig(out_dir / "linear_e_d.png", dpi=100)
        plt.close(fig)

        metrics += _solver_checks()

        # 2. s(E) curves (convention A, RS)
        progress(1, total, "entropy curves")
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for act, L in [("linear", 1), ("tanh", 1), ("tanh", 2), ("sin", 1)]:
            cov = hamiltonian_covariance(act, depth=L, sw2=1.0)
            Es, ss, _ = entropy_curve(cov, np.linspace(0.2, 2.0, 6), "A")
            ax.plot(Es, ss, "o-", ms=3, label=f"{act} L={L}")
        ax.set(xlabel="E", ylabel="s(E)", title="convention A, RS")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "entropy_curves.png", dpi=100)
        plt.close(fig)

        # 3. phase tables: GP limit (per convention) and finite width ratio α (sphere, L = 1)
        progress(2, total, "phase tables")
        table = []
        for conv in s["table_conventions"]:
            for act, L, sw in s["table"]:
                row = classification_table((act,), (L,), (sw,), conv)[0]
                row = {k: row[k] for k in ("activation", "depth", "sw2", "convention", "beta_AT", "beta_s", "phase",
                                           "reason", "continuous_fraction") if k in row}
                row["claim"] = CLAIMS[act]
                row["agrees"] = _agrees(act, row["phase"])
                table.append(row)
        fw_table = _finite_width_table(s["fw_table"], s["fw_alphas"], full=True)  # paper scale only (minutes)

        # 4. RS point: P(q), q and e at N0 = 100, 200, 400 vs the finite-α RS theory
        progress(3, total, "RS point: N0 = 100, 200, 400")
        m_rs, rs_scan = _rs_point_scan(s["rs_scan"], root, out_dir)
        metrics += m_rs

        # 5. RSB point: sin C_W = 4 at T = 0.8, P(q) vs the 1RSB solution
        progress(4, total, "RSB point: sin, C_W = 4, T = 0.8")
        m_rsb, rsb = _rsb_point(s["rsb"], root, out_dir)
        metrics += m_rsb
        progress(total, total, "done")

        lines = [f"{r['activation']} L={r['depth']} C_W={r['sw2']:g} (conv {r['convention']}): nnft {r['phase']} "
                 f"(beta_AT={r['beta_AT']:.3g}; continuous-band fraction of (0,d) {r['continuous_fraction']:.2f}); "
                 f"abstract: {r['claim']} -> {'agrees' if r['agrees'] else 'DISAGREES'}"
                 for r in table]
        fw_lines = [f"{r['activation']} L=1 C_W={r['sw2']:g} alpha={r['alpha']:g} (B): T_AT={r['T_AT']:.3g}, {r['phase']}"
                    for r in fw_table]
        figs = ["linear_e_d.png", "entropy_curves.png", "rs_point_n0_scan.png", "rsb_point_overlaps.png"]
        description = (
            "Linear net: exact vs solver vs Monte Carlo. Solver checks on known spherical spin glasses and the "
            "closed-form AT points. s(E) curves. RS point (tanh): Monte Carlo at N0 = 100, 200, 400, extrapolated "
            "in 1/N0, against the finite-width-ratio theory. RSB point (sin, C_W = 4, T = 0.8): energy and the "
            "two-peak P(q) against the finite-alpha 1RSB solution.\n"
            "Phase table, infinite width (GP), against the abstract:\n" + "\n".join(lines)
            + "\nFinite width ratio alpha = N1/N0 (the note's alternative convention; paper scale only, see "
            "docs/errata.md):\n" + ("\n".join(fw_lines) or "(not computed at this scale)")
        )
        return ReproductionResult(
            name=self.name, title=self.title, description=description, metrics=metrics,
            figures=[f"{out_dir.name}/{f}" for f in figs],
            parameters={"n0": n0, "width": width, "n_nets": n_nets, "sweeps": sweeps, "phase_table": table,
                        "finite_width_table": fw_table, "rs_point": rs_scan, "rsb_point": rsb},
        )
