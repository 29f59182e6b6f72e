"""Phase vs width ratio α = N1/N0 for one-hidden-layer random-MLP Hamiltonians (nnft.theory.replica_finite_width).

For each (activation, C_W) and α: the finite-α AT point β_AT (first β where the RS replicon vanishes,
β ≤ beta_max), then RS / 1RSB / FRSB at β = factor·β_AT (k ≤ 2: the gains φ_RS − φ_1RSB, φ_1RSB − φ_2RSB, whether
the 2RSB optimum keeps 2 distinct steps, and the top-block replicon of the 1RSB solution: < 0 means the
1RSB solution is itself unstable, i.e. more steps, FRSB-like). Static check: a 1RSB solve at 0.85·β_AT
(or at beta_max when RS is replicon-stable throughout): a gain there with a distinct step means a
discontinuous (first-order) transition that the AT criterion misses.
α = ∞ is nnft.theory.replica (GP), classified with k ≤ 3. Compares with the abstract (sin: full RSB;
shallow tanh / ReLU: RS).

    .venv/bin/python benchmarks/replica_finite_width_table.py --convention B
    .venv/bin/python benchmarks/replica_finite_width_table.py --convention A --acts tanh --sw2 1

Not a test: no pass/fail.
"""

from __future__ import annotations

import argparse
import math
import time

import nnft  # noqa: F401  (x64)
from nnft.hamiltonian import hamiltonian_covariance
from nnft.theory import replica as R
from nnft.theory import replica_finite_width as F

CLASS_RULE = (32, 201, 8.0)  # (n_y, n_u, width): see the grid-convergence test in tests/test_replica_finite_width.py
TOL = 1e-7


def _static(act, cw, alpha, conv, beta):
    """1RSB (from starts that include large q_1 − q_0) at a β where RS is replicon-stable: a gain with a distinct
    step means a discontinuous (static, m < 1 at a jump of q_1 − q_0) transition at lower β."""
    rs = F.solve_rs_finite_width(act, alpha, beta, conv, sw2=cw, rule=CLASS_RULE)
    s1 = F.solve_1rsb_finite_width(act, alpha, beta, conv, sw2=cw, rule=CLASS_RULE, rs=rs)
    g = rs.phi - s1.phi
    return (g if s1.distinct_steps() == 1 else 0.0), s1


def row_fw(act, cw, alpha, conv, beta_max, factor):
    at = F.at_point_finite_width(act, alpha, conv, sw2=cw, beta_max=beta_max, n_grid=14, rule=CLASS_RULE)
    bs = 0.85 * at.beta if at is not None else beta_max
    gs, ss = _static(act, cw, alpha, conv, bs)
    jump = (f"static 1RSB gain {gs:.1e} at beta={bs:.3g} (q={ss.q.round(3).tolist()} m={ss.m.round(3).tolist()}); "
            if gs > TOL else f"no 1RSB at beta={bs:.3g}; ")
    if at is None:
        return {"beta_AT": math.inf, "phase": "RS" if gs <= TOL else "1RSB(jump)", "gain": gs, "gain2": math.nan,
                "rep1": ss.replicon if gs > TOL else math.nan, "note": jump + f"RS-stable, beta<={beta_max}"}
    b = factor * at.beta
    c = F.classify_finite_width(act, alpha, b, conv, sw2=cw, kmax=2, rule=CLASS_RULE, tol=TOL)
    s1, s2 = c.solutions[1], c.solutions[2]
    phase = c.phase
    if phase == "1RSB" and s1.replicon < 0:
        phase = "1RSB-unstable"
    return {"beta_AT": at.beta, "phase": phase, "gain": c.gains[0], "gain2": c.gains[1], "rep1": s1.replicon,
            "note": jump + f"1RSB q={s1.q.round(3).tolist()} m={s1.m.round(3).tolist()}; "
                           f"2RSB q={s2.q.round(3).tolist()} m={s2.m.round(3).tolist()} steps={s2.distinct_steps()}"}


def row_gp(act, cw, conv, beta_max, factor):
    cov = hamiltonian_covariance(act, 1, cw, 0.0)
    at = R.at_point(cov, conv, beta_max=beta_max, n_grid=24)
    st = R.static_transition(cov, conv, beta_max=beta_max, n_grid=24)
    bc = min(at.beta if at else math.inf, st.beta if st else math.inf)
    if not math.isfinite(bc):
        return {"beta_AT": math.inf, "phase": "RS", "gain": 0.0, "gain2": math.nan, "rep1": math.nan,
                "note": f"RS-stable, beta<={beta_max}"}
    c = R.classify(cov, factor * (at.beta if at else bc), conv, kmax=3)
    return {"beta_AT": at.beta if at else math.inf, "phase": c.phase, "gain": c.gains[0], "gain2": c.gains[1],
            "rep1": math.nan,
            "note": (f"static jump at beta_s={st.beta:.3f}; " if st and (not at or st.beta < at.beta) else "")
            + "gains " + " ".join(f"{g:.1e}" for g in c.gains)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convention", default="B", choices=["A", "B"])
    ap.add_argument("--acts", nargs="+", default=["sin", "tanh", "relu"])
    ap.add_argument("--sw2", nargs="+", type=float, default=None, help="default: sin/tanh 1 2 4, relu 1 2")
    ap.add_argument("--alphas", nargs="+", type=float, default=[1, 2, 4, 16])
    ap.add_argument("--beta-max", type=float, default=12.0)
    ap.add_argument("--factor", type=float, default=1.25, help="classify at factor * beta_AT")
    args = ap.parse_args()
    t0 = time.time()
    head = f"{'act':<6}{'C_W':>5}{'alpha':>7}{'beta_AT':>9}{'T_AT':>8}  {'phase@1.25bAT':<15}{'1RSB gain':>11}{'2RSB gain':>11}{'rep_1RSB':>10}  note"
    print(head)
    print("-" * len(head))
    for act in args.acts:
        sws = args.sw2 or ([1.0, 2.0] if act == "relu" else [1.0, 2.0, 4.0])
        for cw in sws:
            for alpha in list(args.alphas) + [math.inf]:
                t = time.time()
                try:
                    r = (row_gp(act, cw, args.convention, args.beta_max, args.factor) if math.isinf(alpha)
                         else row_fw(act, cw, alpha, args.convention, args.beta_max, args.factor))
                except Exception as e:  # report and continue: a table, not a test
                    r = {"beta_AT": math.nan, "phase": "error", "gain": math.nan, "gain2": math.nan, "rep1": math.nan,
                         "note": repr(e)[:80]}
                tat = 1 / r["beta_AT"] if math.isfinite(r["beta_AT"]) else 0.0
                print(f"{act:<6}{cw:>5g}{alpha:>7g}{r['beta_AT']:>9.4g}{tat:>8.4f}  {r['phase']:<15}{r['gain']:>11.2e}{r['gain2']:>11.2e}"
                      f"{r['rep1']:>10.3g}  {r['note']}  [{time.time() - t:.0f}s]", flush=True)
    print(f"\ntotal {time.time() - t0:.0f}s  (convention {args.convention})")


if __name__ == "__main__":
    main()
