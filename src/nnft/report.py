"""The HTML report of the reproductions: ``DIR/report.html``.

One self-contained page (no scripts, no external resources) with

* a summary at the top: how many reproductions and metrics passed, with links to the sections;
* one section per reproduction (read from ``DIR/<name>/result.json``, written by
  :func:`nnft.reproduce.run_reproduction`): its title, description, parameters, its figures — PNG files
  lying next to the report and referenced by relative paths (``<name>/<figure>.png``), so the
  directory can be moved or archived as a whole — and a metrics table of simulation vs theory in
  which every metric carries its value ± standard error, reference, |difference|, tolerance and a
  pass/fail mark.

The report is built from what is on disk, so ``nnft reproduce A`` followed by ``nnft reproduce B``
into the same directory gives one report with both sections (each stamped with its scale, seed and
run time).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

from .reproduce.base import Metric, ReproductionResult, load_result

__all__ = ["build_report", "collect_results", "render_report", "REPORT_NAME"]

REPORT_NAME = "report.html"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .8rem 0 1.2rem; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { color: #11703a; font-weight: 600; } .fail { color: #b00020; font-weight: 700; }
tr.failrow { background: #fff0f1; } .note { color: #555; font-size: .85rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #444; font-size: .9rem; } section { border-top: 2px solid #ddd; margin-top: 2rem; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: .3rem; color: white; font-size: .85rem; }
.badge.pass { background: #11703a; color: white; } .badge.fail { background: #b00020; color: white; }
code { background: #f4f4f6; padding: 0 .2rem; }
"""


def collect_results(out_dir: str | Path) -> list[ReproductionResult]:
    """Every ``DIR/<name>/result.json`` under ``out_dir``, in the registry's order (others after, by name)."""
    from .reproduce import reproduction_names

    root = Path(out_dir)
    found = {p.parent.name: p for p in sorted(root.glob("*/result.json"))}
    order = [n for n in reproduction_names() if n in found] + sorted(n for n in found if n not in reproduction_names())
    return [load_result(found[n]) for n in order]


def build_report(out_dir: str | Path, results: Sequence[ReproductionResult] | None = None) -> Path:
    """Write ``out_dir/report.html`` and return its path.

    ``results`` defaults to :func:`collect_results` (everything already written into ``out_dir``).
    Figure paths in the results are relative to ``out_dir``.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    if results is None:
        results = collect_results(root)
    path = root / REPORT_NAME
    path.write_text(render_report(results, root), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- rendering
def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "—"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}g}"


def _mark(passed: bool) -> str:
    return '<span class="pass">✔ pass</span>' if passed else '<span class="fail">✘ FAIL</span>'


def _anchor(name: str) -> str:
    return "sec-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def _metric_row(m: Metric) -> str:
    val = _fmt(m.value) + (f" ± {_fmt(m.std_error, 2)}" if m.std_error is not None else "")
    diff = abs(m.value - m.reference) if all(map(math.isfinite, (m.value, m.reference))) else float("nan")
    z = m.z_score
    unit = f" {_e(m.unit)}" if m.unit else ""
    cls = "" if m.passed else ' class="failrow"'
    return (
        f"<tr{cls}><td>{_e(m.name)}</td><td class=num>{val}{unit}</td><td class=num>{_fmt(m.reference)}{unit}</td>"
        f"<td class=num>{_fmt(diff, 3)}</td><td class=num>{_fmt(m.tolerance, 3)}</td>"
        f"<td class=num>{_fmt(z, 2) if math.isfinite(z) else '—'}</td><td>{_mark(m.passed)}</td>"
        f"<td class=note>{_e(m.note)}</td></tr>"
    )


def _section(r: ReproductionResult, root: Path) -> str:
    status = "pass" if r.passed else "fail"
    parts = [
        f'<section id="{_anchor(r.name)}">',
        f'<h2>{_e(r.title)} <span class="badge {status}">{r.n_passed}/{len(r.metrics)} passed</span></h2>',
        f'<p class="sub">reproduction <code>{_e(r.name)}</code> · scale <code>{_e(r.scale)}</code> · seed '
        f"<code>{r.seed}</code> · {_fmt(r.elapsed_s, 3)} s</p>",
    ]
    if r.description:
        parts.append(f"<p>{_e(r.description)}</p>")
    if r.parameters:
        params = json.dumps(r.parameters, ensure_ascii=False, allow_nan=False, default=str)
        parts.append(f'<details><summary>parameters</summary><pre>{_e(params)}</pre></details>')
    for fig in r.figures:
        cap = r.figure_captions.get(fig, "")
        missing = "" if (root / fig).exists() else ' <span class="fail">(file missing)</span>'
        parts.append(
            f'<figure><img src="{_e(Path(fig).as_posix())}" alt="{_e(cap or fig)}">'
            f"<figcaption>{_e(cap)}{missing}</figcaption></figure>"
        )
    parts.append("<h3>Metrics: simulation vs theory</h3>")
    if r.metrics:
        parts.append(
            "<table><thead><tr><th>metric</th><th>simulation (± s.e.)</th><th>theory</th><th>|difference|</th>"
            "<th>tolerance</th><th>z</th><th>result</th><th>how the tolerance is built</th></tr></thead><tbody>"
        )
        parts.extend(_metric_row(m) for m in r.metrics)
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="fail">This reproduction produced no metrics.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def render_report(results: Sequence[ReproductionResult], root: str | Path = ".") -> str:
    """The report's HTML as a string (``root`` is the report directory, used to flag missing figures)."""
    from . import __version__

    root = Path(root)
    n_metrics = sum(len(r.metrics) for r in results)
    n_pass = sum(r.n_passed for r in results)
    all_ok = bool(results) and all(r.passed for r in results)
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    rows = "".join(
        f'<tr><td><a href="#{_anchor(r.name)}">{_e(r.title)}</a></td><td><code>{_e(r.name)}</code></td>'
        f"<td>{_e(r.scale)}</td><td class=num>{r.n_passed}/{len(r.metrics)}</td><td>{_mark(r.passed)}</td>"
        f"<td class=num>{_fmt(r.elapsed_s, 3)} s</td></tr>"
        for r in results
    )
    verdict = "all metrics passed" if all_ok else ("no reproductions found" if not results else "some metrics FAILED")
    summary = (
        f'<p><span class="badge {"pass" if all_ok else "fail"}">{_e(verdict)}</span> '
        f"{n_pass} of {n_metrics} metrics passed in {len(results)} reproduction(s).</p>"
        "<p class=note>Each metric compares a simulated estimate with its theory value; it passes when "
        "|simulation − theory| ≤ tolerance, where the tolerance is 4 standard errors plus the theory's own stated "
        "approximation error (e.g. an O(1/N) finite-width allowance), fixed before the comparison.</p>"
    )
    table = (
        "<table><thead><tr><th>reproduction</th><th>name</th><th>scale</th><th>passed</th><th>result</th>"
        f"<th>time</th></tr></thead><tbody>{rows}</tbody></table>"
        if results
        else ""
    )
    sections = "\n".join(_section(r, root) for r in results)
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>nnft reproduction report</title><style>{_CSS}</style></head><body>\n"
        f"<h1>nnft reproduction report</h1><p class=sub>nnft {_e(__version__)} · generated {_e(stamp)}</p>\n"
        f"<h2>Summary</h2>{summary}{table}\n{sections}\n</body></html>\n"
    )
