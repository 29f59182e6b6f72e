"""`nnft reproduce winer2025 --scale quick`: figures and metrics are written and every metric passes
(linear exact vs solver vs Monte Carlo; solver checks; q and e at an RS point for N0 = 100, 200, 400 and
e(T), P(q) at a 1RSB point against the finite-width-ratio theory; the phase tables are recorded in the
result's parameters, compared with the abstract's claims, not scored)."""

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
    assert {"linear_e_d.png", "entropy_curves.png", "rs_point_n0_scan.png", "rsb_point_overlaps.png"} <= figures
    result = json.loads((tmp_path / "winer2025" / "result.json").read_text())
    table = result["parameters"]["phase_table"]
    assert {r["activation"] for r in table} >= {"sin", "tanh", "shaped_tanh"}
    assert all(r["continuous_fraction"] == 0.0 for r in table if r["activation"] == "sin")
    names = " ".join(m["name"] for m in metrics)
    assert "finite-alpha RS" in names and "finite-alpha 1RSB" in names and "Parisi m" in names
    assert "finite_width_table" in result["parameters"]  # computed at paper scale only
