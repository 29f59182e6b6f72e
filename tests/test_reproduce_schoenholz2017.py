"""`nnft reproduce schoenholz2017 --scale quick`: every figure and metric is written, and every metric
passes (each metric's tolerance is built from the simulation's standard error plus the theory's stated
O(1/N) error inside the reproduction; nothing here loosens it)."""

from __future__ import annotations

import json

import pytest

from nnft.reproduce import reproduction_names, run_reproduction


@pytest.mark.slow
def test_quick_scale_writes_figures_and_passing_metrics(tmp_path):
    assert "schoenholz2017" in reproduction_names()
    result = run_reproduction("schoenholz2017", scale="quick", out_dir=tmp_path, seed=0)
    metrics = json.loads((tmp_path / "schoenholz2017" / "metrics.json").read_text())
    assert len(metrics) >= 20
    for m in metrics:
        assert {"name", "value", "reference", "tolerance", "passed"} <= set(m)
    failed = [m["name"] for m in metrics if not m["passed"]]
    assert not failed, failed
    pngs = list((tmp_path / "schoenholz2017").glob("*.png"))
    assert len(pngs) >= 6, pngs  # Figs. 1, 3, 4, 5, 6 and the appendix figures
    # the printed paper formulas are compared too, not only the derived theory
    assert any("printed formula" in m["name"] for m in metrics)
    assert result is not None
