"""Chunked, resumable ensemble runs: serial or on a Dask cluster.

A run is a *task* (what one chunk of networks computes, plus the run's identity) applied to the
chunks of ``[0, n_networks)``. Network ``j`` draws all of its randomness from its own key
``fold_in(root, j)``, so a network's numbers do not depend on which chunk it falls in, how big the
chunks are, how many workers there are or in which order chunks finish:

* per-network records are bit-identical for any chunk size and worker count;
* merged statistics are bit-identical for a fixed chunk size (chunk statistics are merged in
  order of their start index, whatever order they finished in), and agree to floating-point
  precision across chunk sizes (the merge formulas are exact in real arithmetic).

Statistics carry a leading *batch* axis: network ``j`` belongs to batch ``j * n_batches //
n_networks``. Batches are fixed by the network index, not by the chunking, and give the
batch-to-batch spread of every estimate (the "chunk-to-chunk background" of n-point functions).

Executors
---------
``serial``: chunks in order, in this process.
``dask``: chunks are submitted to an existing ``distributed`` scheduler (``--scheduler ADDRESS``),
at most ``2 × worker threads`` at a time; results come back to this process, which alone writes
the store (workers need no access to it). Workers must be started with the ``spawn``
multiprocessing method (the ``distributed`` default) — a forked JAX process can deadlock.
``dask`` is imported only when this executor is used.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..errors import NNFTInputError, check_positive_int
from ..stats.streaming import Moments, NPointMoments, Statistic
from .store import ChunkData, OrderedReducer, RunStore, plan_chunks

__all__ = [
    "Chunk",
    "ChunkData",
    "DaskExecutor",
    "Executor",
    "FunctionTask",
    "RunSummary",
    "RunTask",
    "SamplerTask",
    "SerialExecutor",
    "ToyTask",
    "batch_ids",
    "get_executor",
    "network_keys",
    "run",
    "sample_run",
]

MAX_NETWORKS = 2**32  # network indices are folded into keys as uint32


class Chunk(NamedTuple):
    """Networks ``[start, stop)`` of a run of ``n_networks`` networks in ``n_batches`` batches."""

    index: int
    start: int
    stop: int
    n_networks: int
    n_batches: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def network_indices(self) -> np.ndarray:
        return np.arange(self.start, self.stop, dtype=np.int64)

    def batch_ids(self) -> np.ndarray:
        """Batch of each network of the chunk (fixed by the global index)."""
        return batch_ids(self.start, self.stop, self.n_networks, self.n_batches)


def batch_ids(start: int, stop: int, n_networks: int, n_batches: int) -> np.ndarray:
    """``j * n_batches // n_networks`` for ``j`` in ``[start, stop)``: equal-size contiguous batches."""
    j = np.arange(start, stop, dtype=np.int64)
    return (j * n_batches) // n_networks


def network_keys(root: Any, start: int, stop: int) -> Any:
    """Per-network keys ``fold_in(root, j)`` for ``j`` in ``[start, stop)`` (a batch of typed keys).

    ``root`` is a typed key (``jax.random.key(seed)``) or an integer seed.
    """
    import jax
    import jax.numpy as jnp

    if isinstance(root, (int, np.integer)):
        root = jax.random.key(int(root))
    idx = jnp.arange(start, stop, dtype=jnp.uint32)
    return jax.vmap(lambda i: jax.random.fold_in(root, i))(idx)


# ----------------------------------------------------------------------------------------------
# tasks
# ----------------------------------------------------------------------------------------------


@runtime_checkable
class RunTask(Protocol):
    """What a run computes. Must be picklable (it is shipped to Dask workers).

    ``identity``: JSON-serialisable dict of everything the result depends on (spec, seed, what is
    recorded); a store written for another identity is refused. ``attrs()``: provenance attributes
    for the result Dataset; ``coords()``: coordinates for its dims (e.g. ``{"layer": [1..L]}``).
    """

    @property
    def identity(self) -> dict[str, Any]: ...

    def __call__(self, chunk: Chunk) -> ChunkData: ...

    def attrs(self) -> dict[str, Any]: ...

    def coords(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FunctionTask:
    """Wrap ``fn(chunk) -> ChunkData`` (a module-level function, for Dask) with an identity."""

    fn: Callable[[Chunk], ChunkData]
    identity: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    coordinates: dict[str, Any] = field(default_factory=dict)

    def __call__(self, chunk: Chunk) -> ChunkData:
        return self.fn(chunk)

    def attrs(self) -> dict[str, Any]:
        return dict(self.attributes)

    def coords(self) -> dict[str, Any]:
        return dict(self.coordinates)


@dataclass(frozen=True)
class ToyTask:
    """A small non-Gaussian toy ensemble, for tests, demos and checking a cluster setup.

    Network ``j`` draws ``x_j = exp(s · g)`` with ``g ~ N(0, 1)`` of shape ``(n_layers, n_inputs)``
    from its key ``fold_in(key(seed), j)``. Records ``x``; statistics: ``x`` (Moments, order 4) and
    ``f`` (n-point moments of ``x`` over the inputs, per layer). ``delay`` (seconds of sleep per
    chunk) is for interruption tests and is not part of the identity.
    """

    seed: int = 0
    n_layers: int = 2
    n_inputs: int = 3
    orders: tuple[int, ...] = (2, 4)
    scale: float = 0.5
    record: bool = True
    delay: float = 0.0

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "task": "toy",
            "seed": self.seed,
            "n_layers": self.n_layers,
            "n_inputs": self.n_inputs,
            "orders": list(self.orders),
            "scale": self.scale,
            "record": self.record,
        }

    def __call__(self, chunk: Chunk) -> ChunkData:
        import jax
        import jax.numpy as jnp

        keys = network_keys(jax.random.key(self.seed), chunk.start, chunk.stop)
        shape = (self.n_layers, self.n_inputs)
        g = jax.vmap(lambda k: jax.random.normal(k, shape, dtype=jnp.float64))(keys)
        x = np.exp(self.scale * np.asarray(g))
        if self.delay:
            time.sleep(self.delay)
        gid = chunk.batch_ids()
        stats: dict[str, Statistic] = {
            "x": Moments.from_samples(x, order=4, groups=gid, n_groups=chunk.n_batches),
            "f": NPointMoments.from_samples(x, orders=self.orders, groups=gid, n_groups=chunk.n_batches),
        }
        dims = {"x": ("layer", "input"), "f": ("layer",)}
        records = {"x": x} if self.record else {}
        return ChunkData(records, stats, dims)

    def attrs(self) -> dict[str, Any]:
        return {"task": "toy", "seed": self.seed}

    def coords(self) -> dict[str, Any]:
        return {"layer": np.arange(1, self.n_layers + 1), "input": np.arange(self.n_inputs)}


#: trailing dims of each sampler record (after "network"); see nnft.sampling.record
RECORD_DIMS: dict[str, tuple[str, ...]] = {
    "norm": ("layer", "input"),
    "q": ("layer", "input"),
    "r_plus": ("layer", "input"),
    "r_minus": ("layer", "input"),
    "k": ("layer", "input"),
    "gram": ("layer", "input", "input_2"),
    "output": ("unit", "input"),
    "z": ("layer", "unit", "input"),
}
#: records whose ensemble moments are accumulated (z is too big to be useful as moments)
_MOMENT_RECORDS = ("norm", "q", "r_plus", "r_minus", "k", "gram", "output")


@functools.lru_cache(maxsize=8)
def _parse_spec(toml_text: str) -> Any:
    from ..spec import RunSpec

    return RunSpec.from_toml(toml_text)


@dataclass(frozen=True)
class SamplerTask:
    r"""One ``nnft sample`` run: a :class:`~nnft.spec.RunSpec` (kept as TOML text, so the task pickles
    small) sampled with :func:`nnft.sampling.sample_chunk` and reduced to statistics.

    Per chunk: the records asked for by ``ensemble.record`` (kept per network unless
    ``keep_records=False``); for each record but ``z``, a :class:`~nnft.stats.Moments` of order
    ``moment_order`` over networks; with ``npoint_orders`` (e.g. ``(2, 4, 6)``) and ``output``
    recorded, the n-point moments :math:`E[z^L_u(x_{i_1})\cdots z^L_u(x_{i_n})]` per output unit u
    (statistic ``output_npoint``).

    The identity is the spec *without* ``ensemble.chunk_size`` (the chunking does not change the
    result) plus these reduction options; ``spec_hash`` of that identity guards the store.
    """

    spec_toml: str
    keep_records: bool = True
    npoint_orders: tuple[int, ...] = ()
    moment_order: int = 4

    @classmethod
    def from_spec(cls, spec: Any, **kwargs: Any) -> SamplerTask:
        return cls(spec.to_toml(), **kwargs)

    @property
    def spec(self) -> Any:
        return _parse_spec(self.spec_toml)

    @property
    def identity(self) -> dict[str, Any]:
        from ..spec import spec_hash

        d = self.spec.to_dict()
        d["ensemble"] = {k: v for k, v in d["ensemble"].items() if k != "chunk_size"}
        return {
            "task": "sample",
            "spec": d,
            "spec_hash": spec_hash(d),
            "keep_records": self.keep_records,
            "npoint_orders": list(self.npoint_orders),
            "moment_order": self.moment_order,
        }

    def __call__(self, chunk: Chunk) -> ChunkData:
        import jax

        from ..sampling import sample_chunk

        spec = self.spec
        ens = spec.ensemble
        recs = sample_chunk(
            spec.network,
            spec.inputs,
            chunk.size,
            key=jax.random.key(ens.seed),
            start=chunk.start,
            method=ens.method,
            record=ens.record,
            dtype=ens.dtype,
        )
        gid, nb = chunk.batch_ids(), chunk.n_batches
        stats: dict[str, Statistic] = {}
        dims: dict[str, tuple[str, ...]] = {}
        for name, arr in recs.items():
            dims[name] = RECORD_DIMS[name]
            if name in _MOMENT_RECORDS:
                stats[name] = Moments.from_samples(arr, order=self.moment_order, groups=gid, n_groups=nb)
        if self.npoint_orders and "output" in recs:
            stats["output_npoint"] = NPointMoments.from_samples(
                recs["output"], orders=self.npoint_orders, groups=gid, n_groups=nb
            )
            dims["output_npoint"] = ("unit",)
        records = recs if self.keep_records else {}
        return ChunkData(records, stats, dims)

    def attrs(self) -> dict[str, Any]:
        from ..spec import spec_hash

        spec = self.spec
        return {
            "spec": self.spec_toml,
            "spec_json": json.dumps(spec.to_dict(), sort_keys=True),
            "spec_hash": spec_hash(spec.to_dict()),
            "seed": spec.ensemble.seed,
            "method": spec.ensemble.method,
            "dtype": spec.ensemble.dtype,
        }

    def coords(self) -> dict[str, Any]:
        spec = self.spec
        net, inp = spec.network, spec.inputs
        out: dict[str, Any] = {
            "layer": np.arange(1, net.depth + 1),
            "input": np.arange(inp.m),
            "input_2": np.arange(inp.m),
            "width": ("layer", np.asarray(net.widths)),
            "sw2": ("layer", np.asarray(net.sw2s, float)),
            "sb2": ("layer", np.asarray(net.sb2s, float)),
        }
        if not inp.per_network:
            out["x"] = (("input", "input_dim"), inp.materialize(net.input_dim))
        return out


def sample_run(
    spec: Any,
    out: str | Path,
    *,
    chunk_size: int | None = None,
    n_batches: int | None = None,
    executor: str | Executor = "serial",
    scheduler: str | None = None,
    client: Any = None,
    keep_records: bool = True,
    npoint_orders: Iterable[int] = (),
    quiet: bool = False,
    max_chunks: int | None = None,
) -> RunSummary:
    """Sample the ensemble of a :class:`~nnft.spec.RunSpec` (or a TOML path) into the store ``out``.

    ``chunk_size`` overrides ``ensemble.chunk_size`` (it does not change the result, so a store can
    be resumed with another chunk size).
    """
    from ..spec import RunSpec

    if not isinstance(spec, RunSpec):
        spec = RunSpec.from_toml(Path(spec) if not isinstance(spec, str) or "[network]" not in spec else spec)
    orders = tuple(sorted({check_positive_int("npoint", n) for n in npoint_orders}))
    if orders and "output" not in spec.ensemble.record:
        raise NNFTInputError("npoint", "n-point moments are taken of the network output: add \"output\" to ensemble.record")
    task = SamplerTask.from_spec(spec, keep_records=keep_records, npoint_orders=orders)
    c = spec.ensemble.chunk_size if chunk_size is None else chunk_size
    return run(
        task,
        out,
        n_networks=spec.ensemble.n_networks,
        chunk_size=c,
        n_batches=n_batches,
        executor=executor,
        scheduler=scheduler,
        client=client,
        quiet=quiet,
        max_chunks=max_chunks,
        description="nnft sample",
    )


# ----------------------------------------------------------------------------------------------
# executors
# ----------------------------------------------------------------------------------------------


class Executor(Protocol):
    name: str

    def imap(self, task: RunTask, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, ChunkData]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Chunks one after another, in order, in this process."""

    name = "serial"

    def imap(self, task: RunTask, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, ChunkData]]:
        for c in chunks:
            yield c, task(c)

    def close(self) -> None:
        pass


def _call_task(task: RunTask, chunk: Chunk) -> ChunkData:
    return task(chunk)


class DaskExecutor:
    """Submit chunks to a Dask ``distributed`` cluster; results are collected here.

    Give a scheduler ``address`` (``tcp://host:8786``) or an existing ``client``. At most
    ``max_in_flight`` chunks (default: twice the cluster's worker threads) are submitted at once,
    so memory on this side stays bounded.
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        max_in_flight: int | None = None,
        connect_timeout: float = 30.0,
    ):
        if client is None and not address:
            raise NNFTInputError("scheduler", "the dask executor needs a scheduler address (--scheduler tcp://HOST:PORT)")
        self.address = address
        self.max_in_flight = max_in_flight
        self.connect_timeout = connect_timeout
        self._client = client
        self._own_client = False

    def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client
        except ImportError:
            raise NNFTInputError(
                "executor", "the dask executor needs the 'distributed' package: pip install 'nnft[dask]'"
            ) from None
        try:
            self._client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise NNFTInputError("scheduler", f"cannot connect to the Dask scheduler at {self.address!r}: {e}") from None
        self._own_client = True
        return self._client

    def imap(self, task: RunTask, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, ChunkData]]:
        from distributed import as_completed

        client = self._get_client()
        nthreads = sum(client.nthreads().values()) or 1
        window = self.max_in_flight or max(2, 2 * nthreads)
        [task_future] = client.scatter([task], broadcast=True, hash=False)
        todo = iter(chunks)
        running: dict[Any, Chunk] = {}
        ac = as_completed(loop=client.loop)

        def submit_next() -> bool:
            c = next(todo, None)
            if c is None:
                return False
            fut = client.submit(_call_task, task_future, c, pure=False, key=f"nnft-chunk-{c.start}-{c.stop}-{id(ac)}")
            running[fut] = c
            ac.add(fut)
            return True

        for _ in range(window):
            if not submit_next():
                break
        try:
            for fut in ac:
                c = running.pop(fut)
                data = fut.result()
                fut.release()
                submit_next()
                yield c, data
        finally:
            for fut in list(running):
                fut.cancel()
            with contextlib.suppress(Exception):
                task_future.release()

    def close(self) -> None:
        if self._own_client and self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None


def get_executor(name: str | Executor = "serial", *, scheduler: str | None = None, client: Any = None) -> Executor:
    """``"serial"`` or ``"dask"`` (with ``scheduler`` address or ``client``), or an executor as is."""
    if not isinstance(name, str):
        return name
    if name == "serial":
        if scheduler:
            raise NNFTInputError("scheduler", "--scheduler is only used with --executor dask")
        return SerialExecutor()
    if name == "dask":
        return DaskExecutor(scheduler, client=client)
    raise NNFTInputError("executor", f"unknown executor {name!r}; allowed: serial, dask")


# ----------------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run` did. ``result`` is the path of the result Dataset (None if not finished)."""

    out: Path
    result: Path | None
    n_networks: int
    n_chunks: int
    computed: int
    reused: int
    complete: bool
    seconds: float


def _check_run_args(n_networks: Any, chunk_size: Any, n_batches: Any) -> tuple[int, int, int]:
    n = check_positive_int("n_networks", n_networks)
    if n >= MAX_NETWORKS:
        raise NNFTInputError("n_networks", f"must be < 2**32 (network indices are folded into keys), got {n}")
    c = check_positive_int("chunk_size", chunk_size)
    if c > n:
        raise NNFTInputError("chunk_size", f"chunk size {c} is larger than the run ({n} networks); use a chunk size <= {n}")
    b = min(10, n) if n_batches is None else check_positive_int("n_batches", n_batches)
    if b > n:
        raise NNFTInputError("n_batches", f"{b} batches for {n} networks; use at most {n}")
    return n, c, b


@contextlib.contextmanager
def _progress(total: int, completed: int, *, quiet: bool, description: str) -> Iterator[Callable[[], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    disable = quiet or not console.is_terminal
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
    ) as prog:
        tid = prog.add_task(description, total=total, completed=completed)
        yield lambda: prog.advance(tid)


def run(
    task: RunTask,
    out: str | Path,
    *,
    n_networks: int,
    chunk_size: int,
    n_batches: int | None = None,
    executor: str | Executor = "serial",
    scheduler: str | None = None,
    client: Any = None,
    quiet: bool = False,
    max_chunks: int | None = None,
    attrs: Mapping[str, Any] | None = None,
    description: str = "nnft run",
) -> RunSummary:
    """Run (or resume) ``task`` over ``n_networks`` networks in chunks, into the store at ``out``.

    Finished chunks found in ``out`` are kept; only the missing networks are computed. The result
    Dataset is written to ``out/result`` once every network is covered. ``max_chunks`` stops after
    computing that many chunks (the run can be resumed later, e.g. from the next batch job).
    """
    t0 = time.perf_counter()
    n, c, b = _check_run_args(n_networks, chunk_size, n_batches)
    if max_chunks is not None:
        max_chunks = check_positive_int("max_chunks", max_chunks, minimum=0)
    ex = get_executor(executor, scheduler=scheduler, client=client)
    with RunStore.open(out, task.identity, n_networks=n, n_batches=b) as store:
        done = store.done_ranges()
        if store.is_complete():
            return RunSummary(store.path, store.result_path, n, len(done), 0, len(done), True, time.perf_counter() - t0)
        ranges = plan_chunks(n, c, done)
        if max_chunks is not None:
            ranges = ranges[:max_chunks]
        chunks = [Chunk(i, a, z, n, b) for i, (a, z) in enumerate(ranges)]
        total = len(done) + len(plan_chunks(n, c, done))
        full = ranges if max_chunks is None else []
        reducer = OrderedReducer(sorted(done + full), lambda r: store.load_chunk(*r, records=False).stats)
        reducer.expect(full)
        computed = 0
        try:
            with _progress(total, len(done), quiet=quiet, description=description) as advance:
                for chunk, data in ex.imap(task, chunks):
                    store.commit(chunk.start, chunk.stop, data)
                    if max_chunks is None:
                        reducer.add((chunk.start, chunk.stop), data.stats)
                    computed += 1
                    advance()
        finally:
            ex.close()
        if plan_chunks(n, c, store.done_ranges()):
            return RunSummary(store.path, None, n, len(store.done_ranges()), computed, len(done), False, time.perf_counter() - t0)
        run_attrs = {**task.attrs(), **dict(attrs or {}), "chunk_size": c, "executor": ex.name}
        stats = reducer.finish() if max_chunks is None else None
        result = store.finalize(attrs=run_attrs, coords=task.coords(), stats=stats)
        return RunSummary(
            store.path, result, n, len(store.done_ranges()), computed, len(done), True, time.perf_counter() - t0
        )
