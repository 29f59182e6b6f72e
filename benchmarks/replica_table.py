"""RS / RSB phase table of random-MLP Hamiltonians (Winer & Hanin 2025; shared/notes/hamiltonians.md §4.3, §7.6).

For each (activation, depth L = hidden layers, C_W) under one input-space convention (A: Gaussian
reference measure; B: unit sphere) this prints ξ'(1), ξ''(1) (B only: RS at T = 0 iff ξ'' ≤ ξ'), the
de Almeida–Thouless point β_AT with the type of onset (continuous iff x(q*) < 1 and increasing),
the discontinuous m = 1 transition β_s, and the phase found by k-RSB (k ≤ kmax) at β = 1.5·min(β_AT, β_s).

    .venv/bin/python benchmarks/replica_table.py --convention B
    .venv/bin/python benchmarks/replica_table.py --convention A --acts tanh relu sin --depths 1 2
    .venv/bin/python benchmarks/replica_table.py --convention B --shaped --depths 2 8 32

Prints a table; ``--json FILE`` also writes the rows. Not a test: no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import nnft  # noqa: F401  (x64)
from nnft.theory import replica as R

ABSTRACT = {  # Winer & Hanin 2025, abstract: what the paper reports
    "sin": "full RSB",
    "tanh": "RS (shallow)",
    "relu": "RS (shallow)",
    "shaped_tanh": "RS (deep)",
    "shaped_relu": "RS (deep)",
    "linear": "RS (exact)",
    "erf": "(not in abstract; tanh proxy)",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convention", default="B", choices=["A", "B"])
    ap.add_argument("--acts", nargs="+", default=["linear", "tanh", "relu", "sin", "erf"])
    ap.add_argument("--depths", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--sw2", nargs="+", default=["1", "2"], help="C_W values, or 'np' (norm preserving)")
    ap.add_argument("--shaped", action="store_true", help="shaped_tanh and shaped_relu with norm-preserving C_W")
    ap.add_argument("--beta-max", type=float, default=60.0)
    ap.add_argument("--kmax", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    acts = ["shaped_tanh", "shaped_relu"] if args.shaped else args.acts
    sw2s = ["np"] if args.shaped else [s if s == "np" else float(s) for s in args.sw2]
    rows = []
    t0 = time.time()
    for act in acts:
        for L in args.depths:
            for sw in sw2s:
                t = time.time()
                row = R.classification_table([act], [L], [sw], args.convention, beta_max=args.beta_max, kmax=args.kmax)[0]
                row["abstract"] = ABSTRACT.get(act, "")
                row["seconds"] = round(time.time() - t, 1)
                rows.append(row)
                print(R.format_table([row]).splitlines()[-1], f"  [{row['seconds']}s]", flush=True)
    print()
    print(R.format_table(rows))
    print(f"\ntotal {time.time() - t0:.0f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in r.items()}
                       for r in rows], f, indent=1, default=str)


if __name__ == "__main__":
    main()
