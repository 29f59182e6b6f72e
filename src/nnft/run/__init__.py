"""Chunked, resumable, distributable ensemble runs and their zarr store.

``run(task, out, n_networks=..., chunk_size=...)`` cuts ``[0, n_networks)`` into chunks, computes
each (serially or on a Dask cluster), commits each finished chunk atomically to the store at
``out`` and, once every network is covered, writes the merged result as an xarray Dataset to
``out/result``. Re-running the same command resumes. See :mod:`nnft.run.store` for the commit
protocol and :mod:`nnft.run.executor` for determinism guarantees.
"""

from __future__ import annotations

from .executor import (
    Chunk,
    DaskExecutor,
    Executor,
    FunctionTask,
    RunSummary,
    RunTask,
    SamplerTask,
    SerialExecutor,
    ToyTask,
    batch_ids,
    get_executor,
    network_keys,
    run,
    sample_run,
)
from .store import ChunkData, OrderedReducer, RunStore, identity_hash, load_statistics, open_result, plan_chunks

__all__ = [
    "Chunk",
    "ChunkData",
    "DaskExecutor",
    "Executor",
    "FunctionTask",
    "OrderedReducer",
    "RunStore",
    "RunSummary",
    "RunTask",
    "SamplerTask",
    "SerialExecutor",
    "ToyTask",
    "batch_ids",
    "get_executor",
    "identity_hash",
    "load_statistics",
    "network_keys",
    "open_result",
    "plan_chunks",
    "run",
    "sample_run",
]
