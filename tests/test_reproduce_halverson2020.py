"""`nnft reproduce halverson2020 --scale quick`: figures and metrics are written and every resolved metric
passes (unresolved Gauss-net cells are reported, not scored; tolerances come from standard errors inside
the reproduction)."""

from __future__ import annotations

import json

import pytest

from nnft.reproduce import reproduction_names, run_reproduction


@pytest.mark.slow
def test_quick_scale_writes_figures_and_passing_metrics(tmp_path):
    assert "halverson2020" in reproduction_names()
    run_reproduction("halverson2020", scale="quick", out_dir=tmp_path, seed=0)
    metrics = json.loads((tmp_path / "halverson2020" / "metrics.json").read_text())
    assert len(metrics) >= 20
    for m in metrics:
        assert {"name", "value", "reference", "tolerance", "passed"} <= set(m)
    failed = [m["name"] for m in metrics if not m["passed"]]
    assert not failed, failed
    figures = {p.name for p in (tmp_path / "halverson2020").glob("*.png")}
    # m_n vs N (n = 2, 4, 6, connected 6), the RG flow lambda(Lambda) with the G6 prediction ratios, couplings vs N
    assert {"deviations_vs_width.png", "rg_and_g6_prediction.png", "couplings_vs_width.png"} <= figures
