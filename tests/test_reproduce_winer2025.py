"""`nnft reproduce winer2025 --scale quick`: figures and metrics are written and every metric passes
(linear exact vs solver vs Monte Carlo; P(q) at an RS point vs the solver's q_RS; the phase table is
recorded in the result's parameters, compared with the abstract's claims, not scored)."""

from __future__ import annotations

import json

import pytest

from nnft.reproduce import reproduction_names, run_reproduction


@pytest.mark.slow
def test_quick_scale_writes_figures_and_passing_metrics(tmp_path):
    assert "winer2025" in reproduction_names()
    run_reproduction("winer2025", scale="quick", out_dir=tmp_path, seed=0)
    metrics = json.loads((tmp_path / "winer2025" / "metrics.json").read_text())
    assert len(metrics) >= 20
    for m in metrics:
        assert {"name", "value", "reference", "tolerance", "passed"} <= set(m)
    failed = [m["name"] for m in metrics if not m["passed"]]
    assert not failed, failed
    figures = {p.name for p in (tmp_path / "winer2025").glob("*.png")}
    assert {"linear_e_d.png", "entropy_curves.png", "overlap_distribution.png"} <= figures
    result = json.loads((tmp_path / "winer2025" / "result.json").read_text())
    table = result["parameters"]["phase_table"]
    assert {r["activation"] for r in table} >= {"sin", "tanh", "shaped_tanh"}
