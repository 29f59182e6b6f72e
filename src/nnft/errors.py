"""Input validation: every bad input dies here, early, with a message naming the parameter.

All checks raise :class:`NNFTInputError` (a ``ValueError``) whose message says *what* is wrong,
*where* (the parameter name) and *what is allowed*. The CLI turns it into one line on stderr and
exit code 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


class NNFTInputError(ValueError):
    """A user-supplied value is outside its allowed range. ``parameter`` names the culprit."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


def check_variance(name: str, value: Any, *, allow_zero: bool = True) -> float:
    """A weight or bias variance: a finite real number ``>= 0`` (``> 0`` if ``allow_zero`` is False)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise NNFTInputError(name, f"must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise NNFTInputError(name, f"must be finite, got {v!r}; allowed range: [0, inf)")
    if v < 0 or (v == 0 and not allow_zero):
        bound = "[0, inf)" if allow_zero else "(0, inf)"
        raise NNFTInputError(name, f"must be a variance in {bound}, got {v!r}")
    return v


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """A count (depth, width, number of networks...): an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise NNFTInputError(name, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise NNFTInputError(name, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_finite_array(name: str, value: Any, *, ndim: int | None = None) -> np.ndarray:
    """A real array without NaN/inf, optionally of a given rank."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise NNFTInputError(name, "must be an array of real numbers") from None
    if ndim is not None and arr.ndim != ndim:
        raise NNFTInputError(name, f"must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise NNFTInputError(name, "must not be empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NNFTInputError(name, f"contains a non-finite value ({float(arr[idx])!r}) at index {idx}")
    return arr


def check_grid(name: str, values: Sequence[float] | np.ndarray, *, variance: bool = True) -> np.ndarray:
    """A 1-D grid of parameter values: non-empty, finite, and non-negative if it is a variance grid."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.size == 0:
        raise NNFTInputError(name, "grid has no points; give at least one value")
    arr = check_finite_array(name, arr, ndim=1)
    if variance and (arr < 0).any():
        raise NNFTInputError(name, f"variances must be >= 0, got minimum {float(arr.min())!r}")
    return arr
