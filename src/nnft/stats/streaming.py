r"""Mergeable streaming statistics, accumulated in float64.

Every statistic here is a small *sufficient state* that can be built from one batch of samples and
merged with the state of another batch; the merge equals the state computed on the union of the
two batches (to floating-point precision). That is what lets a run be cut into chunks, computed on
any number of workers, interrupted and resumed: see :mod:`nnft.run`.

States
------
:class:`Moments`
    Element-wise count, mean and central-moment sums :math:`M_k = \sum_i (x_i-\bar x)^k` for
    :math:`k = 2..p` (``order = p``). Two states merge by the binomial expansion of Pébay (2008),
    which for :math:`p = 2` is the pairwise update of Chan, Golub & LeVeque (1979):

    .. math::
        n = n_A + n_B,\quad \delta = \bar x_B - \bar x_A,\quad \bar x = \bar x_A + \delta\, n_B/n,

        M_p = \sum_{k=0}^{p} \binom{p}{k}\Big[\big(-\tfrac{n_B}{n}\delta\big)^k M_{p-k,A}
              + \big(\tfrac{n_A}{n}\delta\big)^k M_{p-k,B}\Big],\qquad M_0 = n,\ M_1 = 0 .

    Merging with an empty state (count 0) returns the other state *exactly*.
:class:`CoMoments`
    Count, mean vector and co-moment matrix :math:`C = \sum_i (x_i-\bar x)(x_i-\bar x)^\top` of a
    vector variable (last axis); merge :math:`C = C_A + C_B + \delta\delta^\top n_A n_B/n`.
:class:`NPointMoments`
    n-point moment tensors :math:`G^{(n)}_{i_1\dots i_n} = \mathbb E[f(x_{i_1})\cdots f(x_{i_n})]`
    over a fixed set of M inputs, kept only on the index-sorted unique entries
    :math:`i_1 \le \dots \le i_n` (:math:`\binom{M+n-1}{n}` of them, e.g. 462 for n = 6, M = 6). Each
    entry is a :class:`Moments` of order 2 of the product :math:`f(x_{i_1})\cdots f(x_{i_n})`, so it
    has a standard error from its own second moment. Products are formed block by block over
    networks (``block`` rows at a time), so a chunk never materialises networks × M^n numbers.

Groups (batches)
----------------
``from_samples(..., groups=g, n_groups=G)`` sorts samples into G groups (e.g. statistical batches
of a run, fixed by each network's global index and therefore independent of how the run is
chunked); the state then has a leading axis of length G. ``reduce(axis=0)`` merges that axis in
index order (a fixed reduction order, so the result is reproducible bit for bit), and
``spread(axis=0)`` is the group-to-group standard deviation of the group means (the
"chunk-to-chunk background" of Halverson et al. 2020).

Standard errors
---------------
* mean: :math:`\sqrt{s^2/n}` with the unbiased variance :math:`s^2 = M_2/(n-1)`;
* variance: :math:`\sqrt{(\mu_4 - \mu_2^2 (n-3)/(n-1))/n}` (exact for iid samples), needs order ≥ 4;
* central moment k (k ≥ 3): delta method,
  :math:`\mathrm{Var}(m_k) \approx (\mu_{2k} - \mu_k^2 - 2k\mu_{k-1}\mu_{k+1} + k^2\mu_2\mu_{k-1}^2)/n`,
  needs order ≥ 2k (so ``order=8`` gives error bars up to the 4th central moment).

These assume independent samples (true for an ensemble of independently drawn networks). For
correlated samples (MCMC) use the group spread: ``spread(axis)/sqrt(G)`` is the batch-means
standard error.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import NNFTInputError

__all__ = [
    "CoMoments",
    "Moments",
    "NPointMoments",
    "expand_symmetric",
    "merge",
    "merge_all",
    "multiset_indices",
    "multiset_multiplicity",
    "multiset_position",
    "n_unique",
    "products",
    "products_many",
    "statistic_from_state",
    "unique_from_full",
]

_F64 = np.float64
BLOCK_ELEMENTS = 1 << 20  # default size of one block of n-point products (float64 numbers)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den where den > 0, else 0 (no warnings)."""
    den = np.asarray(den, dtype=_F64)
    out = np.zeros(np.broadcast_shapes(np.shape(num), den.shape), dtype=_F64)
    np.divide(num, den, out=out, where=np.broadcast_to(den > 0, out.shape))
    return out


def _nan_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den where den > 0, else NaN (no warnings)."""
    den = np.asarray(den, dtype=_F64)
    out = np.full(np.broadcast_shapes(np.shape(num), den.shape), np.nan, dtype=_F64)
    np.divide(num, den, out=out, where=np.broadcast_to(den > 0, out.shape))
    return out


def _check_groups(groups: Any, n: int, n_groups: int | None) -> tuple[np.ndarray, int]:
    g = np.asarray(groups)
    if g.shape != (n,) or not np.issubdtype(g.dtype, np.integer):
        raise NNFTInputError("groups", f"must be an integer array of shape ({n},), got {g.dtype} {g.shape}")
    if n_groups is None:
        n_groups = int(g.max()) + 1 if n else 1
    if n and (g.min() < 0 or g.max() >= n_groups):
        raise NNFTInputError("groups", f"group ids must lie in [0, {n_groups}), got [{g.min()}, {g.max()}]")
    return g.astype(np.int64), int(n_groups)


def _group_slices(g: np.ndarray) -> list[tuple[int, np.ndarray | slice]]:
    """(group id, selector) pairs; contiguous runs become slices (no copy)."""
    out: list[tuple[int, np.ndarray | slice]] = []
    if g.size == 0:
        return out
    uniq = np.unique(g)
    if np.all(g[1:] >= g[:-1]):  # sorted: contiguous runs
        starts = np.searchsorted(g, uniq, side="left")
        stops = np.searchsorted(g, uniq, side="right")
        return [(int(u), slice(int(a), int(b))) for u, a, b in zip(uniq, starts, stops)]
    return [(int(u), np.nonzero(g == u)[0]) for u in uniq]


# ----------------------------------------------------------------------------------------------
# Moments
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Moments:
    """Element-wise count, mean and central-moment sums up to ``order`` (float64).

    Attributes
    ----------
    count : int64 array, same shape as ``mean``
    mean : float64 array
    central : float64 array of shape ``(order - 1, *mean.shape)``; ``central[k-2]`` is
        :math:`M_k = \\sum (x - \\bar x)^k`.
    """

    count: np.ndarray
    mean: np.ndarray
    central: np.ndarray

    kind: ClassVar[str] = "moments"

    # -- construction ------------------------------------------------------------------------
    def __post_init__(self) -> None:
        if self.central.ndim != self.mean.ndim + 1 or self.central.shape[1:] != self.mean.shape:
            raise NNFTInputError("central", f"shape {self.central.shape} does not match mean {self.mean.shape}")
        if self.count.shape != self.mean.shape:
            raise NNFTInputError("count", f"shape {self.count.shape} does not match mean {self.mean.shape}")

    @property
    def order(self) -> int:
        return self.central.shape[0] + 1

    @property
    def shape(self) -> tuple[int, ...]:
        return self.mean.shape

    @classmethod
    def empty(cls, shape: Sequence[int] = (), *, order: int = 4) -> Moments:
        shape = tuple(int(s) for s in shape)
        order = _check_order(order)
        return cls(np.zeros(shape, np.int64), np.zeros(shape, _F64), np.zeros((order - 1, *shape), _F64))

    @classmethod
    def from_samples(
        cls,
        x: Any,
        *,
        axis: int = 0,
        order: int = 4,
        groups: Any = None,
        n_groups: int | None = None,
    ) -> Moments:
        """The state of the samples along ``axis`` (which is removed).

        With ``groups`` (integer ids, one per sample) the result has a leading axis of length
        ``n_groups``; groups without samples have count 0.
        """
        order = _check_order(order)
        x = np.moveaxis(np.asarray(x, dtype=_F64), axis, 0)
        if groups is None:
            return cls._from_block(x, order)
        g, n_groups = _check_groups(groups, x.shape[0], n_groups)
        out = cls.empty((n_groups, *x.shape[1:]), order=order)
        count, mean, central = out.count.copy(), out.mean.copy(), out.central.copy()
        for gid, sel in _group_slices(g):
            part = cls._from_block(x[sel], order)
            count[gid], mean[gid], central[:, gid] = part.count, part.mean, part.central
        return cls(count, mean, central)

    @classmethod
    def _from_block(cls, x: np.ndarray, order: int) -> Moments:
        n = x.shape[0]
        shape = x.shape[1:]
        if n == 0:
            return cls.empty(shape, order=order)
        mean = x.mean(axis=0)
        d = x - mean
        mean = mean + d.mean(axis=0)  # one refinement step: mean exact to rounding
        d = x - mean
        central = np.empty((order - 1, *shape), _F64)
        p = d * d
        central[0] = p.sum(axis=0)
        for k in range(3, order + 1):
            p *= d
            central[k - 2] = p.sum(axis=0)
        return cls(np.full(shape, n, np.int64), mean, central)

    # -- merging -----------------------------------------------------------------------------
    def merge(self, other: Moments) -> Moments:
        """The state of the union of the two sample sets (element-wise)."""
        if not isinstance(other, Moments):
            raise TypeError(f"cannot merge Moments with {type(other).__name__}")
        if other.shape != self.shape or other.order != self.order:
            raise NNFTInputError(
                "other", f"cannot merge Moments of shape {other.shape}, order {other.order} into "
                f"shape {self.shape}, order {self.order}"
            )
        nA = self.count.astype(_F64)
        nB = other.count.astype(_F64)
        count = self.count + other.count
        n = count.astype(_F64)
        delta = other.mean - self.mean
        rB = _safe_div(nB, n)
        rA = _safe_div(nA, n)
        mean = self.mean + delta * rB
        p = self.order
        # M_0 = n, M_1 = 0 ; MA[k] = M_k of A
        MA = [nA, np.zeros_like(nA)] + [self.central[k] for k in range(p - 1)]
        MB = [nB, np.zeros_like(nB)] + [other.central[k] for k in range(p - 1)]
        dA = -rB * delta  # mean_A - mean
        dB = rA * delta  # mean_B - mean
        central = np.empty_like(self.central)
        for q in range(2, p + 1):
            acc = MA[q] + MB[q]
            for k in range(1, q + 1):
                if q - k == 1:
                    continue
                c = math.comb(q, k)
                acc = acc + c * (dA**k * MA[q - k] + dB**k * MB[q - k])
            central[q - 2] = acc
        # exact identities for empty operands
        a_empty = self.count == 0
        b_empty = other.count == 0
        mean = np.where(a_empty, other.mean, np.where(b_empty, self.mean, mean))
        central = np.where(a_empty, other.central, np.where(b_empty, self.central, central))
        return Moments(count, mean, central)

    def reduce(self, axis: int = 0) -> Moments:
        """Merge along ``axis`` in index order (a fixed, reproducible reduction order)."""
        axis = _norm_axis(axis, len(self.shape))
        parts = [self[(slice(None),) * axis + (i,)] for i in range(self.shape[axis])]
        if not parts:
            shape = self.shape[:axis] + self.shape[axis + 1 :]
            return Moments.empty(shape, order=self.order)
        return merge_all(parts)

    def __getitem__(self, idx: Any) -> Moments:
        idx = idx if isinstance(idx, tuple) else (idx,)
        return Moments(self.count[idx], self.mean[idx], self.central[(slice(None), *idx)])

    # -- estimates ---------------------------------------------------------------------------
    @property
    def n(self) -> np.ndarray:
        return self.count

    def central_moment(self, k: int) -> np.ndarray:
        """Biased sample central moment :math:`m_k = M_k/n` (k = 1 gives 0)."""
        if k == 0:
            return np.where(self.count > 0, 1.0, np.nan)
        if k == 1:
            return np.where(self.count > 0, 0.0, np.nan)
        if not 2 <= k <= self.order:
            raise NNFTInputError("k", f"central moment {k} needs order >= {k}, this state has order {self.order}")
        return _nan_div(self.central[k - 2], self.count)

    def variance(self, ddof: int = 1) -> np.ndarray:
        return _nan_div(self.central[0], self.count - ddof)

    def std(self, ddof: int = 1) -> np.ndarray:
        return np.sqrt(self.variance(ddof))

    def mean_se(self) -> np.ndarray:
        """Standard error of the mean, :math:`\\sqrt{s^2/n}`."""
        return np.sqrt(_nan_div(self.variance(1), self.count))

    def variance_se(self) -> np.ndarray:
        """Standard error of the unbiased variance (needs order ≥ 4)."""
        n = self.count.astype(_F64)
        m2, m4 = self.central_moment(2), self.central_moment(4)
        var = m4 - m2**2 * _nan_div(n - 3, n - 1)
        return np.sqrt(np.maximum(_nan_div(var, n), 0.0))

    def central_moment_se(self, k: int) -> np.ndarray:
        """Delta-method standard error of :math:`m_k` (needs order ≥ 2k)."""
        if k == 2:
            return self.variance_se()
        if 2 * k > self.order:
            raise NNFTInputError(
                "k", f"the standard error of central moment {k} needs order >= {2 * k}, this state has "
                f"order {self.order}; accumulate with Moments.from_samples(..., order={2 * k})"
            )
        mu = {j: self.central_moment(j) for j in (2, k - 1, k, k + 1, 2 * k)}
        var = mu[2 * k] - mu[k] ** 2 - 2 * k * mu[k - 1] * mu[k + 1] + k**2 * mu[2] * mu[k - 1] ** 2
        return np.sqrt(np.maximum(_nan_div(var, self.count), 0.0))

    def cumulant(self, k: int) -> np.ndarray:
        """Sample cumulants from the biased central moments, k = 1..4."""
        if k == 1:
            return np.where(self.count > 0, self.mean, np.nan)
        if k in (2, 3):
            return self.central_moment(k)
        if k == 4:
            return self.central_moment(4) - 3 * self.central_moment(2) ** 2
        raise NNFTInputError("k", f"cumulants are provided for k = 1..4, got {k}")

    def skewness(self) -> np.ndarray:
        return self.central_moment(3) / self.central_moment(2) ** 1.5

    def excess_kurtosis(self) -> np.ndarray:
        return self.central_moment(4) / self.central_moment(2) ** 2 - 3.0

    def spread(self, axis: int = 0, *, ddof: int = 1) -> np.ndarray:
        """Standard deviation, across ``axis`` (groups), of the group means; empty groups ignored."""
        return _spread(self.mean, self.count, axis, ddof)

    # -- storage -----------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {"count": self.count, "mean": self.mean, "central": self.central}

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "order": self.order}

    @classmethod
    def from_state(cls, meta: dict[str, Any], state: dict[str, np.ndarray]) -> Moments:
        return cls(
            np.asarray(state["count"], np.int64),
            np.asarray(state["mean"], _F64),
            np.asarray(state["central"], _F64),
        )

    def allclose(self, other: Moments, *, rtol: float = 1e-10, atol: float = 0.0) -> bool:
        """Equal counts and means/central sums within tolerance (relative to their scale)."""
        return (
            np.array_equal(self.count, other.count)
            and np.allclose(self.mean, other.mean, rtol=rtol, atol=atol + rtol * _scale(self.mean))
            and all(
                np.allclose(a, b, rtol=rtol, atol=atol + rtol * _scale(a))
                for a, b in zip(self.central, other.central)
            )
        )

    def equal(self, other: Moments) -> bool:
        """Bit-for-bit equality of the states."""
        return type(other) is type(self) and all(
            np.array_equal(a, b) for a, b in zip(self.state().values(), other.state().values())
        )


def _scale(a: np.ndarray) -> float:
    m = np.max(np.abs(a)) if np.size(a) else 0.0
    return float(m) if np.isfinite(m) else 0.0


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 2:
        raise NNFTInputError("order", f"must be an integer >= 2, got {order!r}")
    return int(order)


def _norm_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise NNFTInputError("axis", f"axis {axis} out of range for a state with {ndim} dimension(s)")
    return axis % ndim


def _spread(mean: np.ndarray, count: np.ndarray, axis: int, ddof: int) -> np.ndarray:
    m = np.moveaxis(mean, axis, 0)
    c = np.moveaxis(count, axis, 0)
    ok = c > 0
    k = ok.sum(axis=0)
    mu = _nan_div(np.where(ok, m, 0.0).sum(axis=0), k)
    ss = np.where(ok, (m - mu) ** 2, 0.0).sum(axis=0)
    return np.sqrt(_nan_div(ss, k - ddof))


# ----------------------------------------------------------------------------------------------
# CoMoments
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CoMoments:
    """Count, mean vector and co-moment matrix of a vector variable (its last axis, length D).

    ``count`` has shape ``batch``, ``mean`` ``(*batch, D)``, ``comoment`` ``(*batch, D, D)``.
    """

    count: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray

    kind: ClassVar[str] = "comoments"

    @property
    def dim(self) -> int:
        return self.mean.shape[-1]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.count.shape

    @classmethod
    def empty(cls, shape: Sequence[int], dim: int) -> CoMoments:
        shape = tuple(shape)
        return cls(np.zeros(shape, np.int64), np.zeros((*shape, dim), _F64), np.zeros((*shape, dim, dim), _F64))

    @classmethod
    def from_samples(cls, x: Any, *, axis: int = 0, groups: Any = None, n_groups: int | None = None) -> CoMoments:
        """Samples along ``axis``; the variable is the last axis (``axis`` must not be the last)."""
        x = np.asarray(x, dtype=_F64)
        if x.ndim < 2:
            raise NNFTInputError("x", f"needs a sample axis and a variable axis, got shape {x.shape}")
        if _norm_axis(axis, x.ndim) == x.ndim - 1:
            raise NNFTInputError("axis", "the sample axis cannot be the last (variable) axis")
        x = np.moveaxis(x, axis, 0)
        if groups is None:
            return cls._from_block(x)
        g, n_groups = _check_groups(groups, x.shape[0], n_groups)
        out = cls.empty((n_groups, *x.shape[1:-1]), x.shape[-1])
        count, mean, com = out.count.copy(), out.mean.copy(), out.comoment.copy()
        for gid, sel in _group_slices(g):
            part = cls._from_block(x[sel])
            count[gid], mean[gid], com[gid] = part.count, part.mean, part.comoment
        return cls(count, mean, com)

    @classmethod
    def _from_block(cls, x: np.ndarray) -> CoMoments:
        n = x.shape[0]
        if n == 0:
            return cls.empty(x.shape[1:-1], x.shape[-1])
        mean = x.mean(axis=0)
        mean = mean + (x - mean).mean(axis=0)
        d = x - mean
        com = np.einsum("n...i,n...j->...ij", d, d)
        return cls(np.full(x.shape[1:-1], n, np.int64), mean, com)

    def merge(self, other: CoMoments) -> CoMoments:
        if not isinstance(other, CoMoments):
            raise TypeError(f"cannot merge CoMoments with {type(other).__name__}")
        if other.mean.shape != self.mean.shape:
            raise NNFTInputError("other", f"cannot merge CoMoments of shape {other.mean.shape} into {self.mean.shape}")
        nA = self.count.astype(_F64)[..., None]
        nB = other.count.astype(_F64)[..., None]
        count = self.count + other.count
        n = count.astype(_F64)[..., None]
        delta = other.mean - self.mean
        mean = self.mean + delta * _safe_div(nB, n)
        w = _safe_div(nA * nB, n)[..., None]
        com = self.comoment + other.comoment + w * delta[..., :, None] * delta[..., None, :]
        a_empty, b_empty = (self.count == 0)[..., None], (other.count == 0)[..., None]
        mean = np.where(a_empty, other.mean, np.where(b_empty, self.mean, mean))
        com = np.where(a_empty[..., None], other.comoment, np.where(b_empty[..., None], self.comoment, com))
        return CoMoments(count, mean, com)

    def reduce(self, axis: int = 0) -> CoMoments:
        axis = _norm_axis(axis, len(self.shape))
        parts = [self[(slice(None),) * axis + (i,)] for i in range(self.shape[axis])]
        if not parts:
            return CoMoments.empty(self.shape[:axis] + self.shape[axis + 1 :], self.dim)
        return merge_all(parts)

    def __getitem__(self, idx: Any) -> CoMoments:
        idx = idx if isinstance(idx, tuple) else (idx,)
        if Ellipsis in idx:
            raise NNFTInputError("idx", "CoMoments indexing applies to the batch axes only; no Ellipsis")
        return CoMoments(self.count[idx], self.mean[idx], self.comoment[idx])

    def covariance(self, ddof: int = 1) -> np.ndarray:
        return _nan_div(self.comoment, (self.count - ddof)[..., None, None])

    def correlation(self) -> np.ndarray:
        c = self.covariance(1)
        s = np.sqrt(np.diagonal(c, axis1=-2, axis2=-1))
        return c / (s[..., :, None] * s[..., None, :])

    def mean_se(self) -> np.ndarray:
        var = np.diagonal(self.covariance(1), axis1=-2, axis2=-1)
        return np.sqrt(_nan_div(var, self.count[..., None]))

    def spread(self, axis: int = 0, *, ddof: int = 1) -> np.ndarray:
        axis = _norm_axis(axis, len(self.shape))
        return _spread(self.mean, np.broadcast_to(self.count[..., None], self.mean.shape), axis, ddof)

    def state(self) -> dict[str, np.ndarray]:
        return {"count": self.count, "mean": self.mean, "comoment": self.comoment}

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_state(cls, meta: dict[str, Any], state: dict[str, np.ndarray]) -> CoMoments:
        return cls(
            np.asarray(state["count"], np.int64),
            np.asarray(state["mean"], _F64),
            np.asarray(state["comoment"], _F64),
        )

    def equal(self, other: CoMoments) -> bool:
        return type(other) is type(self) and all(
            np.array_equal(a, b) for a, b in zip(self.state().values(), other.state().values())
        )


# ----------------------------------------------------------------------------------------------
# multiset (index-sorted unique entry) bookkeeping
# ----------------------------------------------------------------------------------------------


def n_unique(n_inputs: int, n: int) -> int:
    """Number of index-sorted unique entries of a symmetric rank-n tensor over M inputs: C(M+n-1, n)."""
    return math.comb(n_inputs + n - 1, n)


@functools.lru_cache(maxsize=64)
def _multiset_indices(n_inputs: int, n: int) -> np.ndarray:
    idx = np.array(list(itertools.combinations_with_replacement(range(n_inputs), n)), dtype=np.int64)
    idx = idx.reshape(-1, n)
    idx.setflags(write=False)
    return idx


def multiset_indices(n_inputs: int, n: int) -> np.ndarray:
    """The unique entries ``i_1 <= ... <= i_n`` in lexicographic order, shape ``(C(M+n-1, n), n)``.

    Row ``u`` of this table is the index tuple of entry ``u`` of every unique-entry vector in this
    module (read-only array).
    """
    if n_inputs < 1 or n < 1:
        raise NNFTInputError("n", f"need M >= 1 inputs and order n >= 1, got M={n_inputs}, n={n}")
    return _multiset_indices(int(n_inputs), int(n))


def _keys(sorted_idx: np.ndarray, n_inputs: int) -> np.ndarray:
    n = sorted_idx.shape[-1]
    radix = n_inputs ** np.arange(n - 1, -1, -1, dtype=np.int64)
    return sorted_idx.astype(np.int64) @ radix


def multiset_position(n_inputs: int, indices: Any) -> np.ndarray:
    """Position in the unique-entry vector of index tuples (last axis; any order of the indices).

    ``multiset_position(6, [5, 0, 3, 3])`` is the position of the entry (0, 3, 3, 5).
    """
    idx = np.asarray(indices, dtype=np.int64)
    if idx.ndim == 0:
        idx = idx[None]
    if idx.size and (idx.min() < 0 or idx.max() >= n_inputs):
        raise NNFTInputError("indices", f"input indices must lie in [0, {n_inputs})")
    n = idx.shape[-1]
    table = multiset_indices(n_inputs, n)
    keys = _keys(np.sort(idx, axis=-1), n_inputs)
    return np.searchsorted(_keys(table, n_inputs), keys)


@functools.lru_cache(maxsize=32)
def _full_map(n_inputs: int, n: int) -> np.ndarray:
    grid = np.indices((n_inputs,) * n).reshape(n, -1).T
    pos = multiset_position(n_inputs, grid).reshape((n_inputs,) * n)
    pos.setflags(write=False)
    return pos


def expand_symmetric(values: Any, n_inputs: int, n: int) -> np.ndarray:
    """Full symmetric tensor ``(..., M, ..., M)`` (n trailing axes) from unique entries ``(..., U)``."""
    v = np.asarray(values)
    U = n_unique(n_inputs, n)
    if v.shape[-1:] != (U,):
        raise NNFTInputError("values", f"last axis must have the C(M+n-1, n) = {U} unique entries, got {v.shape}")
    return v[..., _full_map(n_inputs, n)]


def unique_from_full(tensor: Any, n: int) -> np.ndarray:
    """Unique entries ``(..., U)`` of a (symmetric) tensor with n trailing axes of length M."""
    t = np.asarray(tensor)
    M = t.shape[-1]
    if t.ndim < n or t.shape[t.ndim - n :] != (M,) * n:
        raise NNFTInputError("tensor", f"needs {n} trailing axes of equal length, got shape {t.shape}")
    idx = multiset_indices(M, n)
    return t[(Ellipsis, *idx.T)]


def multiset_multiplicity(n_inputs: int, n: int) -> np.ndarray:
    """Number of index permutations of each unique entry (n!/∏ repeats!); they sum to M^n."""
    idx = multiset_indices(n_inputs, n)
    out = np.empty(len(idx), np.int64)
    for u, row in enumerate(idx):
        _, reps = np.unique(row, return_counts=True)
        out[u] = math.factorial(n) // math.prod(math.factorial(int(r)) for r in reps)
    return out


@functools.lru_cache(maxsize=64)
def _split_positions(n_inputs: int, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """For each sorted (a+b)-tuple: positions of its first a and last b indices (both sorted)."""
    idx = multiset_indices(n_inputs, a + b)
    return multiset_position(n_inputs, idx[:, :a]), multiset_position(n_inputs, idx[:, a:])


def products_many(f: Any, orders: Iterable[int]) -> dict[int, np.ndarray]:
    """:func:`products` for several orders at once, sharing work: the product of a sorted tuple is the
    product of its sorted prefix times that of its sorted suffix (two gathers per entry)."""
    f = np.asarray(f, dtype=_F64)
    M = f.shape[-1]
    done: dict[int, np.ndarray] = {1: f}
    wanted = _check_orders(orders)
    for n in wanted:
        stack = [n]  # iterative (a recursive closure would keep every block alive in a ref cycle)
        while stack:
            m = stack[-1]
            if m in done:
                stack.pop()
                continue
            a = max(k for k in done if k < m)
            b = m - a
            if b not in done:
                stack.append(b)
                continue
            ia, ib = _split_positions(M, a, b)
            out = np.take(done[a], ia, axis=-1)
            out *= np.take(done[b], ib, axis=-1)
            done[m] = out
            stack.pop()
    return {n: done[n] if n > 1 else f.copy() for n in wanted}


def products(f: Any, n: int, *, n_inputs: int | None = None) -> np.ndarray:
    """Products :math:`f_{i_1}\\cdots f_{i_n}` over the unique entries: ``(..., M)`` → ``(..., U)``.

    Computed in float64, one factor at a time (memory: one ``(..., U)`` array).
    """
    f = np.asarray(f, dtype=_F64)
    M = f.shape[-1] if n_inputs is None else n_inputs
    idx = multiset_indices(M, n)
    out = f[..., idx[:, 0]]  # a copy (fancy indexing)
    for k in range(1, n):
        out *= f[..., idx[:, k]]
    return out


# ----------------------------------------------------------------------------------------------
# NPointMoments
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NPointMoments:
    """Streaming n-point moment tensors over a fixed set of ``n_inputs`` inputs.

    ``moments[n]`` is an order-2 :class:`Moments` over the unique entries (last axis, length
    ``C(M+n-1, n)``, rows of :func:`multiset_indices`); leading axes are groups and any feature
    axes of the samples (layers, outputs).
    """

    n_inputs: int
    moments: dict[int, Moments]

    kind: ClassVar[str] = "npoint"

    @property
    def orders(self) -> tuple[int, ...]:
        return tuple(sorted(self.moments))

    @property
    def shape(self) -> tuple[int, ...]:
        """The leading (group/feature) shape, without the entry axis."""
        return self.moments[self.orders[0]].shape[:-1]

    @classmethod
    def empty(cls, n_inputs: int, orders: Iterable[int] = (2, 4, 6), shape: Sequence[int] = ()) -> NPointMoments:
        orders = _check_orders(orders)
        return cls(
            int(n_inputs),
            {n: Moments.empty((*shape, n_unique(n_inputs, n)), order=2) for n in orders},
        )

    @classmethod
    def from_samples(
        cls,
        f: Any,
        *,
        orders: Iterable[int] = (2, 4, 6),
        axis: int = 0,
        groups: Any = None,
        n_groups: int | None = None,
        block: int | None = None,
    ) -> NPointMoments:
        """Accumulate the samples ``f`` (network axis ``axis``, inputs on the last axis).

        ``f`` has shape ``(networks, *features, M)`` after moving ``axis`` first. Networks are
        processed ``block`` at a time, so memory stays at ``block × features × C(M+n-1, n)``
        float64 numbers (default: about 2^20 of them, 8 MB, per product array).
        """
        orders = _check_orders(orders)
        f = np.asarray(f)
        if f.ndim < 2:
            raise NNFTInputError("f", f"needs a network axis and an input axis, got shape {f.shape}")
        if _norm_axis(axis, f.ndim) == f.ndim - 1:
            raise NNFTInputError("axis", "the network axis cannot be the last (input) axis")
        f = np.moveaxis(f, axis, 0)
        nnet, M = f.shape[0], f.shape[-1]
        if groups is not None:
            g, n_groups = _check_groups(groups, nnet, n_groups)
        if block is None:
            per_net = max(1, math.prod(f.shape[1:-1])) * n_unique(M, max(orders))
            block = max(64, BLOCK_ELEMENTS // per_net)
        block = max(1, int(block))
        out: NPointMoments | None = None
        starts = range(0, nnet, block) if nnet else [0]
        for b0 in starts:
            fb = f[b0 : b0 + block]
            kw = {} if groups is None else {"groups": g[b0 : b0 + block], "n_groups": n_groups}
            prods = products_many(fb, orders)
            part = cls(M, {n: Moments.from_samples(prods[n], order=2, **kw) for n in orders})
            out = part if out is None else out.merge(part)
        assert out is not None
        return out

    def merge(self, other: NPointMoments) -> NPointMoments:
        if not isinstance(other, NPointMoments):
            raise TypeError(f"cannot merge NPointMoments with {type(other).__name__}")
        if other.n_inputs != self.n_inputs or other.orders != self.orders:
            raise NNFTInputError(
                "other", f"cannot merge n-point moments over M={other.n_inputs}, orders {other.orders} into "
                f"M={self.n_inputs}, orders {self.orders}"
            )
        return NPointMoments(self.n_inputs, {n: self.moments[n].merge(other.moments[n]) for n in self.orders})

    def reduce(self, axis: int = 0) -> NPointMoments:
        axis = _norm_axis(axis, len(self.shape))
        return NPointMoments(self.n_inputs, {n: m.reduce(axis) for n, m in self.moments.items()})

    def __getitem__(self, idx: Any) -> NPointMoments:
        idx = idx if isinstance(idx, tuple) else (idx,)
        if Ellipsis in idx:
            raise NNFTInputError("idx", "NPointMoments indexing applies to the leading axes only; no Ellipsis")
        return NPointMoments(self.n_inputs, {n: m[idx] for n, m in self.moments.items()})

    # estimates
    def count(self, n: int | None = None) -> np.ndarray:
        m = self.moments[self.orders[0] if n is None else n]
        return m.count[..., 0]

    def mean(self, n: int) -> np.ndarray:
        """:math:`G^{(n)}` on the unique entries, shape ``(*shape, U)``."""
        return np.where(self.moments[n].count > 0, self.moments[n].mean, np.nan)

    def se(self, n: int) -> np.ndarray:
        """Standard error of each unique entry, from its own second moment."""
        return self.moments[n].mean_se()

    def full(self, n: int) -> np.ndarray:
        """:math:`G^{(n)}` as the full symmetric tensor ``(*shape, M, ..., M)``."""
        return expand_symmetric(self.mean(n), self.n_inputs, n)

    def indices(self, n: int) -> np.ndarray:
        return multiset_indices(self.n_inputs, n)

    def spread(self, n: int, axis: int = 0, *, ddof: int = 1) -> np.ndarray:
        """Group-to-group standard deviation of the group estimates of :math:`G^{(n)}`."""
        return self.moments[n].spread(axis, ddof=ddof)

    # storage
    def state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for n, m in self.moments.items():
            for k, v in m.state().items():
                out[f"g{n}_{k}"] = v
        return out

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_inputs": self.n_inputs, "orders": list(self.orders)}

    @classmethod
    def from_state(cls, meta: dict[str, Any], state: dict[str, np.ndarray]) -> NPointMoments:
        moms = {}
        for n in meta["orders"]:
            moms[int(n)] = Moments.from_state({}, {k: state[f"g{n}_{k}"] for k in ("count", "mean", "central")})
        return cls(int(meta["n_inputs"]), moms)

    def equal(self, other: NPointMoments) -> bool:
        return (
            type(other) is type(self)
            and other.orders == self.orders
            and all(self.moments[n].equal(other.moments[n]) for n in self.orders)
        )


def _check_orders(orders: Iterable[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(n) for n in orders}))
    if not out or out[0] < 1:
        raise NNFTInputError("orders", f"need at least one order n >= 1, got {tuple(orders)!r}")
    return out


# ----------------------------------------------------------------------------------------------
# generic
# ----------------------------------------------------------------------------------------------

Statistic = Moments | CoMoments | NPointMoments

_KINDS: dict[str, type] = {cls.kind: cls for cls in (Moments, CoMoments, NPointMoments)}


def statistic_from_state(meta: dict[str, Any], state: dict[str, np.ndarray]) -> Statistic:
    """Rebuild a statistic from its ``meta()`` and ``state()`` (used by the run store)."""
    try:
        cls = _KINDS[meta["kind"]]
    except KeyError:
        raise NNFTInputError("meta", f"unknown statistic kind {meta.get('kind')!r}") from None
    return cls.from_state(meta, state)


def merge(a: Statistic, b: Statistic) -> Statistic:
    """``a`` merged with ``b``: the state of the union of their samples."""
    return a.merge(b)  # type: ignore[arg-type]


def merge_all(parts: Iterable[Statistic]) -> Statistic:
    """Left fold of :func:`merge` in the given order (fixed order → reproducible bits)."""
    it = iter(parts)
    try:
        acc = next(it)
    except StopIteration:
        raise NNFTInputError("parts", "nothing to merge") from None
    for p in it:
        acc = acc.merge(p)  # type: ignore[arg-type]
    return acc
