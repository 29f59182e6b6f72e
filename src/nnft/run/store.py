"""The run store: a zarr (v3) directory holding a run's manifest, its finished chunks and its result.

Layout of ``DIR`` (``nnft sample ... --out DIR``)::

    DIR/zarr.json                  zarr v3 group; attribute "nnft_run" = the manifest (identity,
                                   identity hash, n_networks, n_batches, versions, creation date)
    DIR/chunks/zarr.json           zarr v3 group
    DIR/chunks/r<start>-<stop>/    one finished chunk [start, stop): a zarr group with its
                                   per-network records (records/<name>) and its mergeable
                                   statistics (stats/<name>/<field>)
    DIR/result/                    the final xarray Dataset (``xr.open_zarr(DIR / "result")``)
    DIR/.tmp/                      work space; anything here is unfinished and is deleted on restart
    DIR/.lock                      advisory lock (fcntl.flock) held by the process driving the run

Commit protocol (why a killed run never counts a chunk twice)
--------------------------------------------------------------
1. A chunk is written completely into a fresh directory ``DIR/.tmp/<uuid>``.
2. It is committed by one ``os.rename`` to ``DIR/chunks/r<start>-<stop>`` — atomic on POSIX file
   systems: after a kill (even SIGKILL) the chunk either exists completely under ``chunks/`` or not
   at all. Existence under ``chunks/`` *is* the "done" marker; no separate flag can disagree with it.
3. On restart, ``.tmp`` is emptied, the finished ranges are listed, and only the gaps of
   ``[0, n_networks)`` are computed, cut on the global grid of multiples of ``chunk_size`` (so a
   restart with the same chunk size reproduces exactly the chunks of an uninterrupted run, and a
   restart with another chunk size still covers every network exactly once).
4. When every network is covered, the chunk statistics are merged in order of their start index
   (fixed order → reproducible bits), the records are concatenated, and the Dataset is written to
   ``DIR/.tmp/<uuid>`` and renamed to ``DIR/result``.

The manifest's *identity* (spec hash, seed, network count, recorded quantities...) is compared on
every restart; a store written for another identity is refused, never mixed.

The manifest itself is written by temp file + ``os.replace``. Durability against power loss (as
opposed to a killed process) is whatever the file system gives to renames; no fsync is issued.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NNFTInputError
from ..stats.streaming import CoMoments, Moments, NPointMoments, Statistic, statistic_from_state

try:  # POSIX advisory locks; absent on Windows (no locking there)
    import fcntl as _fcntl
except ImportError:  # pragma: no cover
    _fcntl = None  # type: ignore[assignment]

__all__ = [
    "STORE_FORMAT",
    "ChunkData",
    "OrderedReducer",
    "RunStore",
    "identity_hash",
    "load_statistics",
    "open_result",
    "plan_chunks",
]

STORE_FORMAT = 1
_MANIFEST_KEY = "nnft_run"
_RESULT = "result"
_CHUNKS = "chunks"
_TMP = ".tmp"
_LOCK = ".lock"
_PROBE = ".nnft-write-probe-"


# ----------------------------------------------------------------------------------------------
# chunk data and plan
# ----------------------------------------------------------------------------------------------


@dataclass
class ChunkData:
    """What one chunk produces.

    records : per-network arrays, leading axis = networks of the chunk (``stop - start``).
    stats : mergeable statistics whose leading axis is the run's batches (``n_batches``).
    dims : trailing dimension names of every record / statistic (without "network" / "batch").
        For :class:`~nnft.stats.NPointMoments` the dims name the feature axes only (the entry
        axis is named automatically); for :class:`~nnft.stats.CoMoments` they include the
        variable axis.
    """

    records: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, Statistic] = field(default_factory=dict)
    dims: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan_chunks(n_networks: int, chunk_size: int, done: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """The ranges still to compute: the gaps of ``[0, n_networks)`` left by ``done``, cut at multiples
    of ``chunk_size`` (the last piece of a gap may be shorter)."""
    out: list[tuple[int, int]] = []
    pos = 0
    for a, b in sorted(done) + [(n_networks, n_networks)]:
        if a < pos:
            raise NNFTInputError("store", f"finished chunks overlap at network {a}; the store is corrupt")
        s = pos
        while s < a:
            e = min(a, (s // chunk_size + 1) * chunk_size)
            out.append((s, e))
            s = e
        pos = max(pos, b)
    return out


# ----------------------------------------------------------------------------------------------
# identity / manifest
# ----------------------------------------------------------------------------------------------


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def identity_hash(identity: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a run identity."""
    return hashlib.sha256(_canonical(dict(identity)).encode()).hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _group_json(attributes: Mapping[str, Any] | None = None) -> str:
    return json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": dict(attributes or {})}, indent=2, default=str
    )


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("nnft", "jax", "jaxlib", "numpy", "xarray", "zarr"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "unknown"
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------------------------
# the store
# ----------------------------------------------------------------------------------------------


class RunStore:
    """A run directory (see the module docstring). Use :meth:`open` to create or resume one."""

    def __init__(self, path: Path, manifest: dict[str, Any], lock_fd: int | None):
        self.path = path
        self.manifest = manifest
        self._lock_fd = lock_fd

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        identity: Mapping[str, Any],
        *,
        n_networks: int,
        n_batches: int,
        extra: Mapping[str, Any] | None = None,
    ) -> RunStore:
        """Create the store at ``path`` or reopen it for resuming.

        Fails early (``NNFTInputError`` on parameter ``out``) if the directory cannot be created or
        written, if it holds something that is not an nnft run store, if another process holds the
        store's lock, or if the store was written for another identity.
        """
        p = Path(path).expanduser()
        _ensure_writable_dir(p)
        lock_fd = _acquire_lock(p)
        try:
            identity = {**dict(identity), "n_networks": int(n_networks), "n_batches": int(n_batches)}
            ihash = identity_hash(identity)
            manifest = _read_manifest(p)
            if manifest is None:
                foreign = sorted(
                    x.name for x in p.iterdir() if x.name not in (_TMP, _LOCK) and not x.name.startswith(_PROBE)
                )
                if foreign:
                    raise NNFTInputError(
                        "out",
                        f"{p} exists and is not an nnft run store (it contains {', '.join(foreign[:5])}"
                        f"{'...' if len(foreign) > 5 else ''}); give a new or empty directory",
                    )
                manifest = {
                    "format": STORE_FORMAT,
                    "identity": json.loads(_canonical(identity)),
                    "identity_hash": ihash,
                    "n_networks": int(n_networks),
                    "n_batches": int(n_batches),
                    "created": _now(),
                    "versions": _versions(),
                    **dict(extra or {}),
                }
                _atomic_write_text(p / "zarr.json", _group_json({_MANIFEST_KEY: manifest}))
            else:
                _check_identity(p, manifest, identity, ihash)
            (p / _CHUNKS).mkdir(exist_ok=True)  # (again) after the manifest: a kill in between is harmless
            if not (p / _CHUNKS / "zarr.json").exists():
                _atomic_write_text(p / _CHUNKS / "zarr.json", _group_json())
            store = cls(p, manifest, lock_fd)
            store._clean_tmp()
            return store
        except BaseException:
            _release_lock(lock_fd)
            raise

    def close(self) -> None:
        _release_lock(self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def n_networks(self) -> int:
        return int(self.manifest["n_networks"])

    @property
    def n_batches(self) -> int:
        return int(self.manifest["n_batches"])

    @property
    def result_path(self) -> Path:
        return self.path / _RESULT

    def is_complete(self) -> bool:
        return (self.result_path / "zarr.json").exists()

    # -- chunks ------------------------------------------------------------------------------
    def _chunk_name(self, start: int, stop: int) -> str:
        w = len(str(self.n_networks))
        return f"r{start:0{w}d}-{stop:0{w}d}"

    def done_ranges(self) -> list[tuple[int, int]]:
        """Finished chunk ranges, sorted by start."""
        out = []
        for d in (self.path / _CHUNKS).iterdir():
            if d.is_dir() and d.name.startswith("r") and "-" in d.name:
                a, b = d.name[1:].split("-", 1)
                out.append((int(a), int(b)))
        return sorted(out)

    def n_done(self) -> int:
        return sum(b - a for a, b in self.done_ranges())

    def _clean_tmp(self) -> None:
        tmp = self.path / _TMP
        if tmp.exists():
            for child in tmp.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        tmp.mkdir(exist_ok=True)

    def _tmpdir(self) -> Path:
        d = self.path / _TMP / uuid.uuid4().hex
        d.mkdir(parents=True)
        return d

    def commit(self, start: int, stop: int, data: ChunkData) -> bool:
        """Write chunk ``[start, stop)`` and mark it done atomically. Returns False (and writes
        nothing) if that range is already done."""
        _validate_chunk(start, stop, data, self.n_batches)
        final = self.path / _CHUNKS / self._chunk_name(start, stop)
        if final.exists():
            return False
        tmp = self._tmpdir()
        _write_chunk(tmp, start, stop, data)
        try:
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if final.exists():
                return False
            raise
        return True

    def load_chunk(self, start: int, stop: int, *, records: bool = True) -> ChunkData:
        return _read_chunk(self.path / _CHUNKS / self._chunk_name(start, stop), records=records)

    # -- finishing ---------------------------------------------------------------------------
    def reduce_stats(self) -> dict[str, Statistic]:
        """Merge the statistics of all finished chunks in order of their start index."""
        ranges = self.done_ranges()
        self._check_coverage(ranges)
        red = OrderedReducer(ranges, lambda r: self.load_chunk(*r, records=False).stats)
        return red.finish()

    def _check_coverage(self, ranges: Sequence[tuple[int, int]]) -> None:
        pos = 0
        for a, b in ranges:
            if a != pos:
                what = "overlap" if a < pos else "gap"
                raise NNFTInputError("store", f"finished chunks do not tile the run: {what} at network {min(a, pos)}")
            pos = b
        if pos != self.n_networks:
            raise NNFTInputError("store", f"finished chunks cover {pos} of {self.n_networks} networks")

    def finalize(
        self,
        *,
        attrs: Mapping[str, Any],
        coords: Mapping[str, Any] | None = None,
        stats: dict[str, Statistic] | None = None,
    ) -> Path:
        """Write the result Dataset (merged statistics + concatenated records) and return its path.

        ``stats``: the merged statistics if the caller already has them (from an
        :class:`OrderedReducer` fed during the run), else they are merged from the store.
        """
        import xarray as xr
        import zarr

        ranges = self.done_ranges()
        self._check_coverage(ranges)
        if stats is None:
            stats = self.reduce_stats()
        first = self.load_chunk(*ranges[0], records=True)
        dims = dict(first.dims)
        for name, st in stats.items():
            total = _total_count(st)
            if total != self.n_networks:
                raise NNFTInputError(
                    "store", f"statistic {name!r} counts {total} networks, the run has {self.n_networks}"
                )
        coords = dict(coords or {})
        ds = stats_to_dataset(stats, dims, n_batches=self.n_batches)
        all_attrs = {
            **{k: v for k, v in self.manifest.items() if k not in ("identity",)},
            "identity": _canonical(self.manifest["identity"]),
            **{f"{k}_version": v for k, v in _versions().items()},
            **dict(attrs),
            "date": _now(),
            "chunks": len(ranges),
        }
        ds.attrs.update({k: _attr_value(v) for k, v in all_attrs.items()})
        tmp = self._tmpdir() / "result"

        def records_ds(data: ChunkData, a: int, b: int) -> xr.Dataset:
            return xr.Dataset(
                {k: (("network", *data.dims[k]), v) for k, v in data.records.items()},
                coords={"network": np.arange(a, b, dtype=np.int64)},
                attrs=ds.attrs,  # appends rewrite the group attributes: keep them
            )

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            head = ds
            if first.records:
                head = xr.merge([ds, records_ds(first, *ranges[0])], compat="no_conflicts", combine_attrs="override")
            head = head.assign_coords({k: v for k, v in coords.items() if _coord_fits(head, k, v)})
            head.attrs = ds.attrs
            head.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False)
            if first.records:
                for r in ranges[1:]:
                    part = self.load_chunk(*r, records=True)
                    records_ds(part, *r).to_zarr(tmp, append_dim="network", zarr_format=3, consolidated=False)
            zarr.consolidate_metadata(str(tmp))
        final = self.result_path
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        shutil.rmtree(tmp.parent, ignore_errors=True)
        return final


class OrderedReducer:
    """Merge chunk statistics in a fixed order (by start index) while chunks arrive in any order.

    ``ranges`` is the full, sorted list of chunk ranges. Results of chunks computed now are given to
    :meth:`add`; ranges not added (finished in an earlier invocation) are read with ``load`` when
    the merge reaches them. Only chunks that arrived ahead of the merge point are held in memory
    (at most the executor's in-flight window), so memory does not grow with the number of chunks,
    and the merge order — hence every bit of the result — is the same as a serial run's.
    """

    def __init__(self, ranges: Sequence[tuple[int, int]], load: Any):
        self.ranges = sorted(ranges)
        self.load = load
        self.pending: dict[tuple[int, int], dict[str, Statistic]] = {}
        self.expected: set[tuple[int, int]] = set()
        self.pos = 0
        self.acc: dict[str, Statistic] | None = None

    def expect(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Ranges that will arrive through :meth:`add` (the merge waits for them)."""
        self.expected.update(ranges)

    def add(self, r: tuple[int, int], stats: dict[str, Statistic]) -> None:
        self.pending[r] = stats
        self._advance()

    def _advance(self) -> None:
        while self.pos < len(self.ranges):
            r = self.ranges[self.pos]
            if r in self.pending:
                stats = self.pending.pop(r)
            elif r in self.expected:
                return  # wait for it
            else:
                stats = self.load(r)
            self._merge(r, stats)
            self.pos += 1

    def _merge(self, r: tuple[int, int], stats: dict[str, Statistic]) -> None:
        if self.acc is None:
            self.acc = dict(stats)
            return
        if set(stats) != set(self.acc):
            raise NNFTInputError("store", f"chunk {r} has statistics {sorted(stats)}, expected {sorted(self.acc)}")
        self.acc = {k: self.acc[k].merge(stats[k]) for k in self.acc}  # type: ignore[arg-type]

    def finish(self) -> dict[str, Statistic]:
        self.expected.clear()
        self._advance()
        if self.acc is None:
            raise NNFTInputError("store", "no finished chunks to merge")
        return self.acc


def _coord_fits(ds: Any, name: str, value: Any) -> bool:
    """Coordinates are attached only for dimensions that the dataset has."""
    if isinstance(value, tuple):
        dims = value[0] if isinstance(value[0], (tuple, list)) else (value[0],)
        return any(d in ds.dims for d in dims)
    return name in ds.dims


def _attr_value(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return _canonical(v) if isinstance(v, (dict, list, tuple)) else str(v)


# ----------------------------------------------------------------------------------------------
# validation and locking helpers
# ----------------------------------------------------------------------------------------------


def _ensure_writable_dir(p: Path) -> None:
    if p.exists() and not p.is_dir():
        raise NNFTInputError("out", f"{p} exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f"{_PROBE}{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise NNFTInputError("out", f"cannot write to output directory {p}: {e.strerror or e}") from None


def _acquire_lock(p: Path) -> int | None:
    if _fcntl is None:  # pragma: no cover
        return None
    fd = os.open(p / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise NNFTInputError(
            "out", f"another nnft process is writing to {p} (its lock file {p / _LOCK} is held); wait for it "
            "to finish or use another --out"
        ) from None
    return fd


def _release_lock(fd: int | None) -> None:
    if fd is None:
        return
    with contextlib.suppress(OSError):
        if _fcntl is not None:
            _fcntl.flock(fd, _fcntl.LOCK_UN)
        os.close(fd)


def _read_manifest(p: Path) -> dict[str, Any] | None:
    zj = p / "zarr.json"
    if not zj.exists():
        return None
    try:
        meta = json.loads(zj.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise NNFTInputError("out", f"{p} has an unreadable zarr.json ({e}); not an nnft run store") from None
    man = meta.get("attributes", {}).get(_MANIFEST_KEY)
    if man is None:
        raise NNFTInputError("out", f"{p} is a zarr store but not an nnft run store (no '{_MANIFEST_KEY}' attribute)")
    if man.get("format") != STORE_FORMAT:
        raise NNFTInputError("out", f"{p} has store format {man.get('format')!r}; this nnft writes format {STORE_FORMAT}")
    return man


def _check_identity(p: Path, manifest: dict[str, Any], identity: dict[str, Any], ihash: str) -> None:
    if manifest.get("identity_hash") == ihash:
        return
    old = manifest.get("identity", {})
    new = json.loads(_canonical(identity))
    diffs = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    detail = "; ".join(f"{k}: store has {_short(old.get(k))}, this run has {_short(new.get(k))}" for k in diffs[:4])
    raise NNFTInputError(
        "out",
        f"the store at {p} was written by a different run (identity hash {manifest.get('identity_hash', '?')[:12]} "
        f"!= {ihash[:12]}; {detail or 'identities differ'}). Refusing to mix results: use a new --out "
        "directory, or delete the old store",
    )


def _short(v: Any) -> str:
    s = v if isinstance(v, str) else _canonical(v)
    s = s.replace("\n", " ")
    return repr(s if len(s) <= 60 else s[:57] + "...")


def _total_count(st: Statistic) -> int:
    if isinstance(st, NPointMoments):
        c = st.moments[st.orders[0]].count
        return int(c.reshape(c.shape[0], -1)[:, 0].sum())
    c = st.count
    return int(c.reshape(c.shape[0], -1)[:, 0].sum()) if c.ndim else int(c)


def _validate_chunk(start: int, stop: int, data: ChunkData, n_batches: int) -> None:
    size = stop - start
    for k, v in data.records.items():
        if np.shape(v)[:1] != (size,):
            raise NNFTInputError("records", f"record {k!r} has leading length {np.shape(v)[:1]}, chunk has {size}")
        if k not in data.dims or len(data.dims[k]) != np.ndim(v) - 1:
            raise NNFTInputError("dims", f"record {k!r} of shape {np.shape(v)} needs {np.ndim(v) - 1} trailing dim names")
    for k, st in data.stats.items():
        if not st.shape or st.shape[0] != n_batches:
            raise NNFTInputError("stats", f"statistic {k!r} must have a leading batch axis of {n_batches}, got {st.shape}")
        if _total_count(st) != size:
            raise NNFTInputError("stats", f"statistic {k!r} counts {_total_count(st)} networks, chunk has {size}")
        if k not in data.dims:
            raise NNFTInputError("dims", f"statistic {k!r} has no dim names")


# ----------------------------------------------------------------------------------------------
# chunk (de)serialisation: plain zarr groups
# ----------------------------------------------------------------------------------------------


def _write_chunk(path: Path, start: int, stop: int, data: ChunkData) -> None:
    import zarr

    root = zarr.open_group(str(path), mode="w", zarr_format=3)
    root.attrs.update(
        {
            "start": int(start),
            "stop": int(stop),
            "dims": {k: list(v) for k, v in data.dims.items()},
            "records": sorted(data.records),
            "stats": {k: st.meta() for k, st in data.stats.items()},
        }
    )
    rec = root.create_group("records")
    for k, v in data.records.items():
        v = np.asarray(v)
        rec.create_array(k, data=v, chunks=v.shape or "auto")
    sg = root.create_group("stats")
    for k, st in data.stats.items():
        g = sg.create_group(k)
        for field_name, arr in st.state().items():
            arr = np.ascontiguousarray(arr)
            g.create_array(field_name, data=arr, chunks=arr.shape or "auto")


def _read_chunk(path: Path, *, records: bool = True) -> ChunkData:
    import zarr

    root = zarr.open_group(str(path), mode="r", zarr_format=3)
    attrs = dict(root.attrs)
    dims = {k: tuple(v) for k, v in attrs["dims"].items()}
    recs: dict[str, np.ndarray] = {}
    if records:
        rg = root["records"]
        recs = {k: rg[k][...] for k in attrs["records"]}
    stats: dict[str, Statistic] = {}
    sg = root["stats"]
    for k, meta in attrs["stats"].items():
        g = sg[k]
        state = {name: arr[...] for name, arr in g.arrays()}
        stats[k] = statistic_from_state(meta, state)
    return ChunkData(recs, stats, dims)


# ----------------------------------------------------------------------------------------------
# statistics <-> Dataset
# ----------------------------------------------------------------------------------------------


def stats_to_dataset(stats: Mapping[str, Statistic], dims: Mapping[str, Sequence[str]], *, n_batches: int) -> Any:
    """Labelled variables for merged statistics (leading axis = batches).

    For every statistic ``name`` the Dataset holds its full mergeable state per batch (variables
    ``name__<field>``, dims ``(…, batch, …)``; :func:`load_statistics` rebuilds the objects) and
    estimates over all networks:

    * :class:`Moments`: ``name_count``, ``name_mean``, ``name_mean_se``, ``name_var`` and, as the
      order allows, ``name_var_se``, ``name_cm3``, ``name_cm4`` (central moments), ``name_batch_mean``;
    * :class:`NPointMoments`: for each order n, ``name_g{n}`` (unique entries, dim ``name_g{n}_entry``),
      ``name_g{n}_se``, ``name_g{n}_batch`` (per-batch estimates, for the batch-to-batch spread) and
      ``name_g{n}_index`` (the index tuple of each entry);
    * :class:`CoMoments`: ``name_mean``, ``name_cov`` (second variable dim gets suffix ``_2``).
    """
    import xarray as xr

    data: dict[str, Any] = {}
    coords: dict[str, Any] = {"batch": np.arange(n_batches)}
    meta: dict[str, Any] = {}
    for name, st in stats.items():
        fd = tuple(dims[name])
        meta[name] = {"meta": st.meta(), "dims": list(fd)}
        total = st.reduce(0)
        if isinstance(st, Moments):
            kdim = f"{name}_k"
            coords[kdim] = np.arange(2, st.order + 1)
            data[f"{name}__count"] = (("batch", *fd), st.count)
            data[f"{name}__mean"] = (("batch", *fd), st.mean)
            data[f"{name}__central"] = ((kdim, "batch", *fd), st.central)
            data[f"{name}_count"] = (fd, total.count)
            data[f"{name}_mean"] = (fd, total.mean)
            data[f"{name}_mean_se"] = (fd, total.mean_se())
            data[f"{name}_var"] = (fd, total.variance())
            data[f"{name}_batch_mean"] = (("batch", *fd), np.where(st.count > 0, st.mean, np.nan))
            if st.order >= 3:
                data[f"{name}_cm3"] = (fd, total.central_moment(3))
            if st.order >= 4:
                data[f"{name}_cm4"] = (fd, total.central_moment(4))
                data[f"{name}_var_se"] = (fd, total.variance_se())
        elif isinstance(st, NPointMoments):
            for n in st.orders:
                m = st.moments[n]
                edim = f"{name}_g{n}_entry"
                sdim = f"{name}_g{n}_slot"
                kdim = f"{name}_g{n}_k"
                coords[kdim] = np.arange(2, m.order + 1)
                data[f"{name}__g{n}_count"] = (("batch", *fd, edim), m.count)
                data[f"{name}__g{n}_mean"] = (("batch", *fd, edim), m.mean)
                data[f"{name}__g{n}_central"] = ((kdim, "batch", *fd, edim), m.central)
                data[f"{name}_g{n}"] = ((*fd, edim), total.mean(n))
                data[f"{name}_g{n}_se"] = ((*fd, edim), total.se(n))
                data[f"{name}_g{n}_batch"] = (("batch", *fd, edim), st.mean(n))
                data[f"{name}_g{n}_index"] = ((edim, sdim), st.indices(n))
        elif isinstance(st, CoMoments):
            if not fd:
                raise NNFTInputError("dims", f"CoMoments {name!r} needs at least the variable dim name")
            vd, vd2 = fd[-1], f"{fd[-1]}_2"
            data[f"{name}__count"] = (("batch", *fd[:-1]), st.count)
            data[f"{name}__mean"] = (("batch", *fd), st.mean)
            data[f"{name}__comoment"] = (("batch", *fd, vd2), st.comoment)
            data[f"{name}_mean"] = (fd, total.mean)
            data[f"{name}_mean_se"] = (fd, total.mean_se())
            data[f"{name}_cov"] = ((*fd[:-1], vd, vd2), total.covariance())
        else:  # pragma: no cover
            raise NNFTInputError("stats", f"unsupported statistic type {type(st).__name__}")
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["nnft_stats"] = _canonical(meta)
    return ds


def load_statistics(ds_or_path: Any) -> dict[str, Statistic]:
    """Rebuild the mergeable statistics (leading axis = batches) from a result Dataset or run dir.

    ``stats[name].reduce(0)`` is the statistic over all networks; two runs' statistics can be
    merged with ``merge``.
    """
    ds = open_result(ds_or_path) if isinstance(ds_or_path, (str, os.PathLike)) else ds_or_path
    meta = json.loads(ds.attrs["nnft_stats"])
    out: dict[str, Statistic] = {}
    for name, info in meta.items():
        m = info["meta"]
        if m["kind"] == "npoint":
            state = {}
            for n in m["orders"]:
                for f in ("count", "mean", "central"):
                    state[f"g{n}_{f}"] = np.asarray(ds[f"{name}__g{n}_{f}"].values)
        else:
            fields = ("count", "mean", "central") if m["kind"] == "moments" else ("count", "mean", "comoment")
            state = {f: np.asarray(ds[f"{name}__{f}"].values) for f in fields}
        out[name] = statistic_from_state(m, state)
    return out


def open_result(path: str | os.PathLike[str]) -> Any:
    """The result Dataset of a finished run: ``path`` is the run directory or its ``result`` group."""
    import xarray as xr

    p = Path(path)
    if (p / _RESULT / "zarr.json").exists():
        p = p / _RESULT
    if not (p / "zarr.json").exists():
        raise NNFTInputError("path", f"{path} holds no finished nnft result (no {p / 'zarr.json'})")
    return xr.open_zarr(str(p), consolidated=True)
