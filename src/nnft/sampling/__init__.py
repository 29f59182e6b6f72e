r"""Exact samplers of random-network ensembles: weight space, lattice (pre-activations), collective coordinates.

All three draw from the *same* distribution, exactly, at every finite width (tested in
``tests/test_sampling_equivalence.py``); they differ in cost per layer and network:

* ``weights`` — every W^l, b^l drawn explicitly (:mod:`.weights`; also recurrent networks): O(N²) draws
  per layer;
* ``lattice`` — z^l drawn given z^{l-1}, the weights integrated out (:mod:`.lattice`; lattice paper
  eq. 9–10): O(N) draws per layer for one input, O(N M²) for M inputs;
* ``collective`` — sufficient statistics only (:mod:`.collective`): the χ² chain of |z|² (linear) or of
  (r₊², r₋², k) (ReLU-type), O(1) per layer; the Wishart chain of the Gram matrix (linear, M inputs), O(M³).

Entry point: :func:`sample_chunk`. Networks are batched with ``vmap`` and layers run under ``lax.scan``
(depth 1024 compiles once). Randomness: network j of a run uses ``fold_in(root, j)``
(:func:`network_keys`), so a network's sample does not depend on which chunk or batch it is in.
Records (:mod:`.record`): ``norm, q, r_plus, r_minus, k, gram`` per layer, ``output`` (last layer),
``z`` (everything, only when asked).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import NNFTInputError, check_positive_int
from ..spec import METHOD_NAMES, RECORD_NAMES, NetworkSpec, RunSpec
from ._plan import Plan, check_compatible, network_keys, prepare_inputs, random_inputs, variance_schedule
from .collective import (
    StationaryTheory,
    bartlett_factor,
    collective_aux,
    collective_network_fn,
    needs_split,
    stationary_theory,
)
from .lattice import covariance_factor, lattice_layer, lattice_network_fn
from .record import PER_LAYER, layer_records
from .weights import layer_weights, network_weights, weights_network_fn

__all__ = [
    "sample_chunk",
    "sample_run_chunk",
    "network_keys",
    "check_compatible",
    "network_weights",
    "layer_weights",
    "lattice_layer",
    "covariance_factor",
    "bartlett_factor",
    "stationary_theory",
    "StationaryTheory",
    "layer_records",
    "block_size",
    "METHOD_NAMES",
    "RECORD_NAMES",
    "PER_LAYER",
]

_MAKERS = {"weights": weights_network_fn, "lattice": lattice_network_fn, "collective": collective_network_fn}
_STEP_BUDGET = 1 << 26  # bytes of per-layer working memory (weight matrices) per batch
_RECORD_BUDGET = 1 << 28  # bytes of records per batch
_MAX_BLOCK = 64
_FAST_COMPILE_WORK = 1 << 16  # per-network work (≈ flops per forward pass) below which compile time dominates


@functools.lru_cache(maxsize=64)
def _compiled(plan: Plan):
    f = _MAKERS[plan.method](plan)
    x_axis = 0 if plan.input_mode == "batched" else None
    if plan.input_mode in ("shared", "batched"):
        g = f
    else:

        def g(key, x, sw, sb, qs, aux):
            return f(key, random_inputs(plan, key), sw, sb, qs, aux)

    opts = {"xla_backend_optimization_level": 0} if plan.fast_compile else None
    return jax.jit(jax.vmap(g, in_axes=(0, x_axis, None, None, None, None)), compiler_options=opts)


def _resolve_keys(key: Any, n_networks: int | None, start: int) -> jax.Array:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = jax.random.key(int(key))
    try:
        arr = jnp.asarray(key)
    except TypeError:
        raise NNFTInputError("key", "must be a typed JAX key (jax.random.key(seed)) or an array of them") from None
    if not jnp.issubdtype(arr.dtype, jax.dtypes.prng_key):
        raise NNFTInputError(
            "key", "must be a typed key from jax.random.key(seed) (legacy uint32 PRNGKey arrays are not accepted)"
        )
    if arr.ndim == 0:
        if n_networks is None:
            raise NNFTInputError("n_networks", "is required when `key` is one root key")
        n = check_positive_int("n_networks", n_networks)
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
            raise NNFTInputError("start", f"must be an integer >= 0, got {start!r}")
        return network_keys(arr, int(start), int(start) + n)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise NNFTInputError("key", f"per-network keys must form a non-empty 1-D array, got shape {arr.shape}")
    if n_networks is not None and n_networks != arr.shape[0]:
        raise NNFTInputError("n_networks", f"is {n_networks} but {arr.shape[0]} per-network keys were given")
    return arr


def _work(plan: Plan) -> int:
    """Rough per-network cost of one forward pass (multiply-adds and random draws)."""
    widths = plan.widths
    fan = (plan.input_dim,) + widths[:-1]
    if plan.method == "weights":
        per = sum(w * (f + 1) * plan.m for w, f in zip(widths, fan))
    elif plan.method == "lattice":
        per = sum(w * min(f + 1, plan.m) * plan.m + (f + 1) * plan.m * plan.m for w, f in zip(widths, fan))
    else:
        per = plan.depth * 256 * plan.m**3
    return int(per)


def block_size(plan: Plan) -> int:
    """Networks per compiled call. Depends only on the plan (never on n_networks or the chunk), because
    XLA's batched kernels may round differently for different batch shapes: with a fixed block, network j
    gives bit-identical records whatever chunk or position it is sampled in."""
    item = plan.jdtype.itemsize
    widths = plan.widths
    fan = (plan.input_dim,) + widths[:-1]
    if plan.method == "weights":
        step = max(w * (f + 1) for w, f in zip(widths, fan)) * 3
    elif plan.method == "lattice":
        step = max(w * min(f + 1, plan.m) + (f + 1) * plan.m for w, f in zip(widths, fan)) * 3
    else:
        step = 4 * plan.m * plan.m
    per_layer = 0
    for r in plan.record:
        per_layer += {"gram": plan.m * plan.m, "z": widths[0] * plan.m, "output": 0}.get(r, plan.m)
    rec = per_layer * plan.depth + widths[-1] * plan.m
    b = min(_STEP_BUDGET // max(step * item, 1), _RECORD_BUDGET // max(rec * item, 1), _MAX_BLOCK)
    return int(max(1, b))


def sample_chunk(
    network: NetworkSpec,
    inputs: Any,
    n_networks: int | None = None,
    *,
    key: Any,
    method: str = "lattice",
    record: tuple[str, ...] | str = ("norm",),
    dtype: str = "float32",
    start: int = 0,
    batch_size: int | None = None,
) -> dict[str, np.ndarray]:
    r"""Sample ``n_networks`` random networks and return the requested per-layer records.

    Parameters
    ----------
    network: the :class:`~nnft.spec.NetworkSpec`.
    inputs: an (M, d) or (d,) array shared by every network, an (n_networks, M, d) array (one input set per
        network), or an :class:`~nnft.spec.InputsSpec` (with ``per_network=True`` each network draws its own
        random input from ``fold_in(key_j, 0)``: the lattice paper's open-chain protocol).
    n_networks: how many networks; required with one root ``key``, optional with per-network keys.
    key: either **one** typed root key (``jax.random.key(seed)``), in which case the networks are the global
        indices ``start .. start + n_networks − 1`` with keys ``fold_in(key, j)``; or a 1-D array of
        per-network keys (e.g. from :func:`network_keys`). Either way network j's sample depends only on its
        own key, so results do not depend on chunking or batching.
    method: ``"weights"`` | ``"lattice"`` | ``"collective"``.
    record: names from :data:`RECORD_NAMES`.
    dtype: sampler precision, ``"float32"`` (default) or ``"float64"``; records come back as float64
        (``k`` as int64).
    batch_size: networks per compiled call. The default (:func:`block_size`: a memory budget, at most 64)
        depends only on the network, method, records and dtype, so a network's records are bit-identical
        whatever ``n_networks``, ``start`` or chunk it is sampled in; an explicit ``batch_size`` keeps that
        guarantee among calls with the same ``batch_size`` (other values may differ in the last bit).

    Returns
    -------
    dict name -> array with leading dims (network, layer, ...): ``norm, q, r_plus, r_minus, k`` are
    (n, L, M); ``gram`` (n, L, M, M); ``output`` (n, N_L, M); ``z`` (n, L, N, M).
    """
    if not isinstance(network, NetworkSpec):
        raise NNFTInputError("network", f"must be a NetworkSpec, got {type(network).__name__}")
    if dtype not in ("float32", "float64"):
        raise NNFTInputError("dtype", f"must be 'float32' or 'float64', got {dtype!r}")
    record = (record,) if isinstance(record, str) else tuple(dict.fromkeys(record))
    keys = _resolve_keys(key, n_networks, start)
    n = int(keys.shape[0])
    check_compatible(network, inputs, method=method, record=record)
    mode, x, scale, m = prepare_inputs(network, inputs, n)
    acts = network.activations()
    needs_q = any(a.needs_variance for a in acts[1:])
    plan = Plan(
        method=method,
        recurrent=network.architecture == "recurrent",
        input_dim=network.input_dim,
        widths=network.widths,
        acts=acts,
        m=m,
        record=record,
        dtype=dtype,
        input_mode=mode,
        input_scale=float(scale),
        needs_q=needs_q,
    )
    dt = plan.jdtype
    aux = None
    if method == "collective":
        # widths and slopes are arguments of the chain: one compilation per (depth, M, records, ...)
        aux = collective_aux(network.widths, network.input_dim, acts, dt)
        plan = dataclasses.replace(plan, widths=(1,) * network.depth, acts=(), split=m == 1 and needs_split(acts, record))
    plan = dataclasses.replace(plan, fast_compile=_work(plan) <= _FAST_COMPILE_WORK)
    bs = block_size(plan) if batch_size is None else check_positive_int("batch_size", batch_size)
    sw = jnp.asarray(network.sw2s, dt)
    sb = jnp.asarray(network.sb2s, dt)
    if needs_q:
        qs = jnp.asarray(variance_schedule(network, mode, x, scale, m), dt)
    else:
        qs = jnp.zeros((network.depth, m), dt)
    xj = jnp.zeros((m, network.input_dim), dt) if x is None else jnp.asarray(x, dt)
    fn = _compiled(plan)
    parts: list[dict[str, np.ndarray]] = []
    for lo in range(0, n, bs):
        hi = min(lo + bs, n)
        kb = keys[lo:hi]
        xb = xj[lo:hi] if mode == "batched" else xj
        if hi - lo < bs:  # pad to the compiled batch shape, drop the padding afterwards
            pad = bs - (hi - lo)
            kb = jnp.concatenate([kb, jnp.broadcast_to(kb[:1], (pad,))])
            if mode == "batched":
                xb = jnp.concatenate([xb, jnp.broadcast_to(xb[:1], (pad,) + xb.shape[1:])])
        out = fn(kb, xb, sw, sb, qs, aux)
        parts.append({k: np.asarray(v)[: hi - lo] for k, v in out.items()})
    result = {}
    for name in record:
        arr = np.concatenate([p[name] for p in parts], axis=0)
        result[name] = arr.astype(np.int64) if name == "k" else arr.astype(np.float64)
    return result


def sample_run_chunk(run: RunSpec, chunk: int, **kwargs: Any) -> dict[str, np.ndarray]:
    """Chunk ``chunk`` of a :class:`~nnft.spec.RunSpec`: networks ``ensemble.chunk_bounds(chunk)``, root key
    ``jax.random.key(ensemble.seed)``, per-network keys ``fold_in(root, j)``."""
    if not isinstance(run, RunSpec):
        raise NNFTInputError("run", f"must be a RunSpec, got {type(run).__name__}")
    start, stop = run.ensemble.chunk_bounds(chunk)
    return sample_chunk(
        run.network,
        run.inputs,
        stop - start,
        key=jax.random.key(run.ensemble.seed),
        start=start,
        method=run.ensemble.method,
        record=run.ensemble.record,
        dtype=run.ensemble.dtype,
        **kwargs,
    )

