"""Mergeable streaming statistics (float64): moments, co-moments, n-point moment tensors.

See :mod:`nnft.stats.streaming` for the merge formulas and the standard errors.
"""

from __future__ import annotations

from .streaming import (
    CoMoments,
    Moments,
    NPointMoments,
    Statistic,
    expand_symmetric,
    merge,
    merge_all,
    multiset_indices,
    multiset_multiplicity,
    multiset_position,
    n_unique,
    products,
    statistic_from_state,
    unique_from_full,
)

__all__ = [
    "CoMoments",
    "Moments",
    "NPointMoments",
    "Statistic",
    "expand_symmetric",
    "merge",
    "merge_all",
    "multiset_indices",
    "multiset_multiplicity",
    "multiset_position",
    "n_unique",
    "products",
    "statistic_from_state",
    "unique_from_full",
]
