"""Reproductions of the papers nnft implements: theory vs simulation, metric by metric.

``nnft reproduce [NAME|all]`` runs the registered reproductions (:mod:`nnft.reproduce.base`) and builds
``DIR/report.html`` (:mod:`nnft.report`). Each reproduction module registers itself on import; add a
new one to ``_MODULES`` below.

>>> from nnft.reproduce import reproduction_names, run_reproduction
>>> reproduction_names()
('meanfield', 'schoenholz2017', 'halverson2020', 'grosvenor2021', 'winer2025')
"""

from __future__ import annotations

import importlib

from .base import (
    SCALES,
    Metric,
    ProgressCallback,
    Reproduction,
    ReproductionResult,
    check_scale,
    get_reproduction,
    jsonable,
    load_result,
    null_progress,
    register,
    reproduction_names,
    run_reproduction,
)

# reproduction modules, in report order; each registers its Reproduction when imported
_MODULES: tuple[str, ...] = ("meanfield", "schoenholz2017", "halverson2020", "grosvenor2021", "winer2025")

for _m in _MODULES:
    importlib.import_module(f"{__name__}.{_m}")

__all__ = [
    "SCALES",
    "Metric",
    "ProgressCallback",
    "Reproduction",
    "ReproductionResult",
    "check_scale",
    "get_reproduction",
    "jsonable",
    "load_result",
    "null_progress",
    "register",
    "reproduction_names",
    "run_reproduction",
]
