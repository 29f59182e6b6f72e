r"""The reproduction framework: metrics, results, the registry and the runner.

A *reproduction* re-derives a paper's checkable claims twice — from theory and from simulated random
networks — and compares them metric by metric. Each one is an object satisfying :class:`Reproduction`
(a ``name``, a ``title`` and a ``run`` method) registered with :func:`register`; ``nnft reproduce NAME``
finds it with :func:`get_reproduction` and runs it through :func:`run_reproduction`, which

* creates ``DIR/<name>/`` and calls ``run(scale, DIR/<name>, seed=..., progress=...)``,
* writes ``DIR/<name>/metrics.json`` — a JSON list with one object per metric and (at least) the keys
  ``name, value, reference, tolerance, passed`` — so a program can check the outcome,
* writes ``DIR/<name>/result.json`` — the whole :class:`ReproductionResult` (title, description,
  figures, parameters, timing) from which :mod:`nnft.report` builds ``DIR/report.html``.

Tolerance policy (``../shared/DESIGN.md``, "Statistical tests"): a metric compares a simulated estimate
with a theory value as :math:`|\hat x - x_{th}| \le z\,\mathrm{s.e.} + a`, with ``z = 4`` standard
errors and an allowance ``a`` for the theory's own stated approximation error (for infinite-width
theory against a width-N simulation: an O(1/N) finite-width allowance, stated per metric). Tolerances
are fixed before the comparison and never widened until it passes; see :meth:`Metric.compare`.

JSON: non-finite floats are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (strict JSON has
no such numbers; strings keep the distinction between "diverges" and "undefined", which ``null`` would
lose). :func:`jsonable` applies that rule; the CLI's ``--json`` output uses it too.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import NNFTInputError

__all__ = [
    "SCALES",
    "Z_TOL",
    "Metric",
    "ReproductionResult",
    "Reproduction",
    "ProgressCallback",
    "null_progress",
    "register",
    "get_reproduction",
    "reproduction_names",
    "run_reproduction",
    "check_scale",
    "jsonable",
    "load_result",
]

SCALES: tuple[str, ...] = ("quick", "paper")
Z_TOL = 4.0  # standard errors allowed between a simulated estimate and its theory

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, description)``: ``done`` of ``total`` steps finished; ``description`` says what runs."""


def null_progress(done: int, total: int, description: str) -> None:  # noqa: ARG001
    """A progress callback that ignores everything."""


# ---------------------------------------------------------------------------- JSON
def _float_token(x: float) -> float | str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def jsonable(obj: Any) -> Any:
    """Turn ``obj`` into something ``json.dumps(..., allow_nan=False)`` accepts.

    NumPy/JAX scalars and arrays become Python numbers and lists, paths become strings, dataclasses
    become dicts, and non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"``.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _float_token(float(obj))
    if isinstance(obj, Path):
        return obj.as_posix()
    if hasattr(obj, "__dataclass_fields__"):
        return jsonable(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if hasattr(obj, "shape") and hasattr(obj, "tolist"):  # numpy / jax arrays
        return jsonable(np.asarray(obj).tolist())
    if isinstance(obj, Iterable):
        return [jsonable(v) for v in obj]
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _unjson_float(x: Any) -> Any:
    if isinstance(x, str) and x in ("inf", "-inf", "nan"):
        return float(x)
    return x


# ---------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class Metric:
    r"""One theory-vs-simulation comparison.

    ``value`` is the measured (simulated) estimate, ``reference`` the theory value, ``tolerance`` the
    allowed :math:`|value - reference|`, ``passed`` whether it was within. ``std_error`` is the
    estimate's standard error (None for exact/deterministic metrics), ``note`` says how the tolerance
    was built (and anything a reader needs), ``unit`` the unit if any.
    """

    name: str
    value: float
    reference: float
    tolerance: float
    passed: bool
    note: str = ""
    unit: str = ""
    std_error: float | None = None

    @classmethod
    def compare(
        cls,
        name: str,
        value: float,
        reference: float,
        *,
        std_error: float | None,
        allowance: float = 0.0,
        allowance_reason: str = "",
        z: float = Z_TOL,
        note: str = "",
        unit: str = "",
    ) -> Metric:
        r"""Build a metric with tolerance :math:`z\cdot\mathrm{s.e.} + \text{allowance}` and its verdict.

        ``allowance`` is the theory's own approximation error, fixed *a priori* (e.g. the O(1/N)
        finite-width allowance of an infinite-width prediction); ``allowance_reason`` says where it comes
        from and is added to ``note``. A non-finite value, reference or standard error fails.
        """
        value, reference = float(value), float(reference)
        se = None if std_error is None else float(std_error)
        allowance = float(allowance)
        if allowance < 0 or not math.isfinite(allowance):
            raise NNFTInputError("allowance", f"must be a finite number >= 0, got {allowance!r}")
        tol = (z * se if se is not None else 0.0) + allowance
        finite = all(math.isfinite(v) for v in (value, reference, tol))
        passed = bool(finite and abs(value - reference) <= tol)
        parts = [f"tolerance = {z:g} s.e." if se is not None else "tolerance: no statistical error"]
        if allowance:
            parts.append(f"+ {allowance:.3g} ({allowance_reason or 'stated approximation error'})")
        full_note = " ".join(parts) + (f"; {note}" if note else "")
        return cls(name, value, reference, tol, passed, full_note, unit, se)

    @property
    def z_score(self) -> float:
        """(value − reference)/s.e. (nan without a standard error)."""
        if not self.std_error:
            return float("nan")
        return (self.value - self.reference) / self.std_error

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict with the keys ``name, value, reference, tolerance, passed, note, unit, std_error``."""
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Metric:
        se = d.get("std_error")
        return cls(
            name=str(d["name"]),
            value=float(_unjson_float(d["value"])),
            reference=float(_unjson_float(d["reference"])),
            tolerance=float(_unjson_float(d["tolerance"])),
            passed=bool(d["passed"]),
            note=str(d.get("note", "")),
            unit=str(d.get("unit", "")),
            std_error=None if se is None else float(_unjson_float(se)),
        )


# ---------------------------------------------------------------------------- results
@dataclass
class ReproductionResult:
    """What one reproduction run produced.

    ``figures`` are paths relative to the report directory ``DIR`` (e.g. ``meanfield/q_vs_layer.png``),
    so that ``DIR/report.html`` can reference them relatively. ``parameters`` records the run's
    settings (widths, depths, grids...) for provenance.
    """

    name: str
    title: str
    description: str
    metrics: list[Metric]
    figures: list[str] = field(default_factory=list)
    scale: str = "quick"
    seed: int = 0
    elapsed_s: float = float("nan")
    parameters: dict[str, Any] = field(default_factory=dict)
    figure_captions: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every metric passed (and there is at least one)."""
        return bool(self.metrics) and all(m.passed for m in self.metrics)

    @property
    def n_passed(self) -> int:
        return sum(m.passed for m in self.metrics)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metrics"] = [m.as_dict() for m in self.metrics]
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReproductionResult:
        return cls(
            name=str(d["name"]),
            title=str(d.get("title", d["name"])),
            description=str(d.get("description", "")),
            metrics=[Metric.from_dict(m) for m in d.get("metrics", [])],
            figures=[str(f) for f in d.get("figures", [])],
            scale=str(d.get("scale", "")),
            seed=int(d.get("seed", 0)),
            elapsed_s=float(_unjson_float(d.get("elapsed_s", "nan"))),
            parameters=dict(d.get("parameters", {})),
            figure_captions={str(k): str(v) for k, v in d.get("figure_captions", {}).items()},
        )


def load_result(path: str | Path) -> ReproductionResult:
    """Read a ``result.json`` written by :func:`run_reproduction`."""
    with open(path, encoding="utf-8") as f:
        return ReproductionResult.from_dict(json.load(f))


# ---------------------------------------------------------------------------- protocol and registry
@runtime_checkable
class Reproduction(Protocol):
    """A reproduction of one paper's (or one topic's) checkable claims.

    ``run`` writes its figures into ``out_dir`` (= ``DIR/<name>``), draws all randomness from
    ``jax.random.key(seed)``, reports progress through ``progress(done, total, description)``, and
    returns a :class:`ReproductionResult` whose figure paths are relative to ``out_dir.parent``.
    ``scale`` is one of :data:`SCALES`: ``"quick"`` must finish within about two minutes on 2 CPU cores
    (most take well under one), ``"paper"`` may take tens of minutes.
    """

    name: str
    title: str

    def run(self, scale: str, out_dir: Path, *, seed: int, progress: ProgressCallback) -> ReproductionResult: ...


_REGISTRY: dict[str, Reproduction] = {}


def register(reproduction: Reproduction) -> Reproduction:
    """Add a reproduction to the registry (usable as a class decorator on a zero-argument class)."""
    obj = reproduction() if isinstance(reproduction, type) else reproduction
    if not isinstance(obj, Reproduction):
        raise TypeError(f"{obj!r} does not satisfy the Reproduction protocol (name, title, run)")
    if obj.name in _REGISTRY and type(_REGISTRY[obj.name]) is not type(obj):
        raise ValueError(f"a reproduction named {obj.name!r} is already registered")
    _REGISTRY[obj.name] = obj
    return reproduction


def reproduction_names() -> tuple[str, ...]:
    """Names of the registered reproductions, in registration order."""
    return tuple(_REGISTRY)


def get_reproduction(name: str) -> Reproduction:
    """The registered reproduction called ``name`` (``NNFTInputError`` naming the choices otherwise)."""
    if name not in _REGISTRY:
        avail = ", ".join(_REGISTRY) or "(none registered)"
        raise NNFTInputError("name", f"unknown reproduction {name!r}; available: {avail}, or 'all'")
    return _REGISTRY[name]


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise NNFTInputError("scale", f"must be one of {', '.join(SCALES)}, got {scale!r}")
    return scale


def run_reproduction(
    name: str,
    *,
    scale: str = "quick",
    out_dir: str | Path = "nnft-report",
    seed: int = 0,
    progress: ProgressCallback = null_progress,
) -> ReproductionResult:
    """Run one registered reproduction into ``out_dir/<name>/`` and write its ``metrics.json`` and ``result.json``."""
    repro = get_reproduction(name)
    scale = check_scale(scale)
    root = Path(out_dir)
    sub = root / repro.name
    sub.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = repro.run(scale, sub, seed=int(seed), progress=progress)
    result.elapsed_s = time.perf_counter() - t0
    result.scale, result.seed = scale, int(seed)
    with open(sub / "metrics.json", "w", encoding="utf-8") as f:
        json.dump([m.as_dict() for m in result.metrics], f, indent=2, allow_nan=False)
        f.write("\n")
    with open(sub / "result.json", "w", encoding="utf-8") as f:
        json.dump(result.as_dict(), f, indent=2, allow_nan=False)
        f.write("\n")
    return result
