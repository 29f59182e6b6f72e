"""The reproduction framework (Metric, results, registry) and the HTML report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nnft.errors import NNFTInputError
from nnft.report import build_report, collect_results, render_report
from nnft.reproduce import Metric, ReproductionResult, get_reproduction, jsonable, load_result
from nnft.reproduce.base import check_scale


# ---------------------------------------------------------------------------- Metric
def test_metric_compare_tolerance_is_z_se_plus_allowance():
    m = Metric.compare("q", 1.03, 1.0, std_error=0.01, allowance=0.002, allowance_reason="1/N")
    assert m.tolerance == pytest.approx(0.042)
    assert m.passed
    assert "4 s.e." in m.note and "1/N" in m.note
    assert m.z_score == pytest.approx(3.0)
    bad = Metric.compare("q", 1.05, 1.0, std_error=0.01, allowance=0.002)
    assert not bad.passed  # 0.05 > 0.042: a metric can fail


def test_metric_without_standard_error_and_non_finite_values():
    exact = Metric.compare("table", 0.41804, 0.418037, std_error=None, allowance=1e-4)
    assert exact.passed and exact.tolerance == 1e-4 and exact.std_error is None
    assert math.isnan(exact.z_score)
    assert not Metric.compare("x", float("nan"), 1.0, std_error=0.1).passed
    assert not Metric.compare("x", 1.0, float("inf"), std_error=0.1).passed
    assert not Metric.compare("x", 1.0, 1.0, std_error=float("nan")).passed
    with pytest.raises(NNFTInputError):
        Metric.compare("x", 1.0, 1.0, std_error=0.1, allowance=-1.0)


def test_metric_json_round_trip_keys():
    m = Metric.compare("xi_c", float("inf"), float("inf"), std_error=None)
    d = m.as_dict()
    assert {"name", "value", "reference", "tolerance", "passed"} <= set(d)
    text = json.dumps(d, allow_nan=False)  # strict JSON
    back = Metric.from_dict(json.loads(text))
    assert math.isinf(back.value) and back.passed is False


def test_jsonable_non_finite_and_arrays():
    import numpy as np

    out = jsonable({"a": np.float32(1.5), "b": [float("nan"), -math.inf], "c": np.eye(2), "p": Path("x/y")})
    assert out == {"a": 1.5, "b": ["nan", "-inf"], "c": [[1.0, 0.0], [0.0, 1.0]], "p": "x/y"}
    json.dumps(out, allow_nan=False)


def test_registry_and_scale_errors():
    with pytest.raises(NNFTInputError, match="unknown reproduction"):
        get_reproduction("no-such-thing")
    with pytest.raises(NNFTInputError, match="scale"):
        check_scale("huge")


# ---------------------------------------------------------------------------- report
def _result(tmp: Path, name: str, *, fail: bool = False) -> ReproductionResult:
    (tmp / name).mkdir(parents=True, exist_ok=True)
    fig = tmp / name / "fig.png"
    fig.write_bytes(b"\x89PNG\r\n\x1a\n")  # a stand-in; the report only links it
    metrics = [
        Metric.compare("good <metric>", 1.0, 1.0, std_error=0.1),
        Metric.compare("other", 2.0, 1.0, std_error=0.1) if fail else Metric.compare("other", 1.1, 1.0, std_error=0.1),
    ]
    r = ReproductionResult(
        name=name,
        title=f"Title of {name} & co",
        description="Method <b>not bold</b>.",
        metrics=metrics,
        figures=[f"{name}/fig.png", f"{name}/missing.png"],
        figure_captions={f"{name}/fig.png": "a caption"},
        scale="quick",
        seed=3,
        elapsed_s=1.25,
        parameters={"width": 8},
    )
    (tmp / name / "result.json").write_text(json.dumps(r.as_dict(), allow_nan=False))
    return r


def test_report_sections_figures_and_marks(tmp_path):
    _result(tmp_path, "alpha")
    _result(tmp_path, "beta", fail=True)
    path = build_report(tmp_path)
    assert path == tmp_path / "report.html"
    html = path.read_text()
    # summary at the top, before the sections
    assert html.index("Summary") < html.index('id="sec-alpha"') < html.index('id="sec-beta"')
    assert "3 of 4 metrics passed in 2 reproduction(s)" in html
    assert "some metrics FAILED" in html
    # figures referenced relatively, the missing one flagged
    assert '<img src="alpha/fig.png"' in html and "a caption" in html
    assert "(file missing)" in html
    # metrics table with tolerance and pass/fail marks
    assert "tolerance" in html and "✔ pass" in html and "✘ FAIL" in html
    # everything user-supplied is escaped
    assert "good &lt;metric&gt;" in html and "<b>not bold</b>" not in html and "&amp; co" in html


def test_report_all_pass_and_empty(tmp_path):
    _result(tmp_path, "alpha")
    assert "all metrics passed" in build_report(tmp_path).read_text()
    empty = render_report([], tmp_path)
    assert "no reproductions found" in empty


def test_collect_results_round_trip(tmp_path):
    r = _result(tmp_path, "zeta")
    (tmp_path / "not-a-result").mkdir()
    got = collect_results(tmp_path)
    assert [g.name for g in got] == ["zeta"]
    back = load_result(tmp_path / "zeta" / "result.json")
    assert back.metrics == r.metrics and back.figures == r.figures and back.seed == 3
    assert back.passed == r.passed
