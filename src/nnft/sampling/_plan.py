"""Static plan of a sampling job (hashable, so compiled samplers are cached on it) and input handling.

Key derivation (``docs/conventions.md``): network j of a run gets ``key_j = fold_in(root, j)``
(:func:`network_keys`); inside a network, layer l (1..L) draws from ``fold_in(key_j, l)`` and a
per-network random input from ``fold_in(key_j, 0)``. A network's sample therefore depends only on
(root, j): not on the chunk size, the batch size or the order of chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..activations import Activation
from ..errors import NNFTInputError, check_finite_array
from ..spec import METHOD_NAMES, RECORD_NAMES, InputsSpec, NetworkSpec

Array = jnp.ndarray

INPUT_STREAM = 0  # fold_in(key_j, 0): the per-network random input


def network_keys(root_key: Array, start: int, stop: int) -> Array:
    """Per-network keys ``fold_in(root_key, j)`` for global network indices j in [start, stop)."""
    if isinstance(root_key, int):
        root_key = jax.random.key(root_key)
    if not jnp.issubdtype(jnp.asarray(root_key).dtype, jax.dtypes.prng_key) or jnp.ndim(root_key) != 0:
        raise NNFTInputError("key", "must be one typed key, e.g. jax.random.key(seed)")
    if not (0 <= start < stop):
        raise NNFTInputError("start/stop", f"need 0 <= start < stop, got start={start}, stop={stop}")
    if stop > 2**32:
        raise NNFTInputError("start/stop", f"network indices are folded into keys as uint32: need stop <= 2**32, got {stop}")
    idx = jnp.arange(start, stop, dtype=jnp.uint32)
    return jax.vmap(lambda i: jax.random.fold_in(root_key, i))(idx)


def layer_key(net_key: Array, layer: Any) -> Array:
    """Key of layer ``layer`` (1..L) of one network; layer 0 is the per-network input."""
    return jax.random.fold_in(net_key, layer)


def is_piecewise_linear(act: Activation) -> bool:
    return "neg_slope" in act.params and "pos_slope" in act.params and not act.needs_variance


def is_linear(act: Activation) -> bool:
    return is_piecewise_linear(act) and float(act.params["neg_slope"]) == float(act.params["pos_slope"])


@dataclass(frozen=True)
class Plan:
    """Everything static about a sampling job (shapes, activations, what to record)."""

    method: str
    recurrent: bool
    input_dim: int
    widths: tuple[int, ...]
    acts: tuple[Activation, ...]
    m: int
    record: tuple[str, ...]
    dtype: str
    input_mode: str  # "shared" | "batched" | "gaussian" | "sphere"
    input_scale: float
    needs_q: bool
    split: bool = False  # collective, one input: track (r₊², r₋², k), not only |z|²
    fast_compile: bool = False  # small job: compile with XLA backend optimisation level 0

    @property
    def depth(self) -> int:
        return len(self.widths)

    @property
    def jdtype(self):
        return jnp.dtype(self.dtype)

    def segments(self) -> tuple[tuple[int, int], ...]:
        """Runs [start, stop) of layers 2..L with the same (fan-in, width, activation): one lax.scan each."""
        segs: list[tuple[int, int]] = []
        L = self.depth
        start = 2
        for l in range(3, L + 2):
            same = l <= L and (
                self.widths[l - 1] == self.widths[start - 1]
                and self.widths[l - 2] == self.widths[start - 2]
                and self.acts[l - 1] is self.acts[start - 1]
            )
            if not same:
                segs.append((start, l))
                start = l
        return tuple(s for s in segs if s[0] <= L)


def check_compatible(network: NetworkSpec, inputs: Any, *, method: str, record: tuple[str, ...] | str) -> None:
    """Refuse (NNFTInputError) a method/record/input combination the samplers cannot do exactly."""
    if method not in METHOD_NAMES:
        raise NNFTInputError("method", f"unknown sampler {method!r}; allowed: {', '.join(METHOD_NAMES)}")
    record = (record,) if isinstance(record, str) else tuple(record)
    if not record:
        raise NNFTInputError("record", f"name at least one of {', '.join(RECORD_NAMES)}")
    for r in record:
        if r not in RECORD_NAMES:
            raise NNFTInputError("record", f"unknown record {r!r}; allowed: {', '.join(RECORD_NAMES)}")
    m, d = _input_shape(inputs)
    if d is not None and d != network.input_dim:
        raise NNFTInputError("inputs", f"have dimension d = {d} but network.input_dim = {network.input_dim}")
    if "z" in record and len(set(network.widths)) != 1:
        raise NNFTInputError("record", "'z' (every layer's pre-activations) needs one width for all layers")
    acts = network.activations()
    if network.architecture == "recurrent" and method != "weights":
        raise NNFTInputError(
            "method", f"a recurrent network reuses its weights, so only method='weights' is exact (got {method!r})"
        )
    if method == "collective":
        bad = [a.name for a in acts[1:] if not is_piecewise_linear(a)]
        if bad:
            raise NNFTInputError(
                "method",
                f"'collective' closes only for piecewise-linear activations (linear, relu, leaky_relu, "
                f"shaped_relu); got {bad[0]!r}. Use method='lattice'",
            )
        if m > 1:
            nonlin = [a.name for a in acts[1:] if not is_linear(a)]
            if nonlin:
                raise NNFTInputError(
                    "method", f"'collective' with M = {m} inputs needs a linear network (Wishart chain); got {nonlin[0]!r}"
                )
            allowed = ("norm", "q", "gram")
        else:
            allowed = ("norm", "q", "r_plus", "r_minus", "k", "gram")
        bad = [r for r in record if r not in allowed]
        if bad:
            raise NNFTInputError(
                "record", f"method 'collective' (M = {m}) records only {', '.join(allowed)}; got {bad[0]!r}"
            )


def _input_shape(inputs: Any) -> tuple[int, int | None]:
    if isinstance(inputs, InputsSpec):
        return inputs.m, inputs.input_dim()
    arr = np.asarray(inputs)
    if arr.ndim == 1:
        return 1, arr.shape[0]
    if arr.ndim in (2, 3):
        return arr.shape[-2], arr.shape[-1]
    raise NNFTInputError("inputs", f"must have shape (d,), (M, d) or (n_networks, M, d), got {arr.shape}")


def prepare_inputs(network: NetworkSpec, inputs: Any, n: int) -> tuple[str, np.ndarray | None, float, int]:
    """(mode, array, scale, M). Modes: shared (M, d) array, batched (n, M, d) array, or per-network random."""
    if isinstance(inputs, InputsSpec):
        if inputs.per_network:
            return inputs.random, None, inputs.scale, inputs.m
        return "shared", inputs.materialize(network.input_dim), 1.0, inputs.m
    arr = check_finite_array("inputs", inputs)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim == 2:
        mode = "shared"
    elif arr.ndim == 3:
        if arr.shape[0] != n:
            raise NNFTInputError("inputs", f"per-network inputs need a leading axis of n_networks = {n}, got {arr.shape[0]}")
        mode = "batched"
    else:
        raise NNFTInputError("inputs", f"must have shape (d,), (M, d) or (n_networks, M, d), got {arr.shape}")
    if arr.shape[-1] != network.input_dim:
        raise NNFTInputError("inputs", f"have dimension d = {arr.shape[-1]} but network.input_dim = {network.input_dim}")
    return mode, arr, 1.0, arr.shape[-2]


def random_inputs(plan: Plan, net_key: Array) -> Array:
    """A per-network random input (M, d) from ``fold_in(key_j, 0)`` (the open-chain protocol)."""
    k = jax.random.fold_in(net_key, INPUT_STREAM)
    x = jax.random.normal(k, (plan.m, plan.input_dim), plan.jdtype)
    if plan.input_mode == "sphere":
        x = x * (math.sqrt(plan.input_dim) / jnp.linalg.norm(x, axis=1, keepdims=True))
    return plan.input_scale * x


def variance_schedule(network: NetworkSpec, mode: str, x: np.ndarray | None, scale: float, m: int) -> np.ndarray:
    """NNGP diagonal q^l_a (L, M), float64: the variance of z^l for input a (Gauss-net needs it)."""
    sw, sb = network.sw2s, network.sb2s
    if mode == "shared":
        x2 = np.sum(x**2, axis=1) / network.input_dim
    elif mode == "batched":
        x2 = np.mean(np.sum(x**2, axis=2), axis=0) / network.input_dim
    else:
        x2 = np.full(m, scale**2)
    q = np.empty((network.depth, m))
    q[0] = sw[0] * x2 + sb[0]
    acts = network.activations()
    for l in range(1, network.depth):
        q[l] = sw[l] * np.asarray(acts[l].second_moment(q[l - 1]), dtype=float) + sb[l]
    return q


def propagate(plan: Plan, net_key: Array, x: Array, sw: Array, sb: Array, qs: Array, layer_fn) -> dict[str, Array]:
    """Run one network layer by layer and collect its records.

    ``layer_fn(phi, fan_in, width, sw2, sb2, key) -> z`` draws layer l's pre-activations (width, M) given
    φ_l(z^{l-1}) of shape (fan_in, M) (for l = 1, φ = xᵀ with fan_in = d). Layers 2..L run as one
    ``lax.scan`` per segment of equal (fan-in, width, activation), so depth 1024 compiles once.
    """
    from .record import layer_records

    rec = tuple(r for r in plan.record if r != "output")
    z = layer_fn(x.T, plan.input_dim, plan.widths[0], sw[0], sb[0], layer_key(net_key, 1))
    pieces = [{k: v[None] for k, v in layer_records(z, rec).items()}]
    for start, stop in plan.segments():
        act = plan.acts[start - 1]
        fan_in, width = plan.widths[start - 2], plan.widths[start - 1]

        def body(z, xs, act=act, fan_in=fan_in, width=width):
            l, sw_l, sb_l, q_prev = xs
            phi = act(z, q_prev[None, :]) if act.needs_variance else act(z)
            znew = layer_fn(phi.astype(z.dtype), fan_in, width, sw_l, sb_l, layer_key(net_key, l))
            return znew, layer_records(znew, rec)

        xs = (jnp.arange(start, stop, dtype=jnp.uint32), sw[start - 1 : stop - 1], sb[start - 1 : stop - 1], qs[start - 2 : stop - 2])
        if fan_in == width:
            z, r = jax.lax.scan(body, z, xs)
        else:  # a change of width: one layer (segments() never groups it with others), no scan
            z, r = body(z, tuple(a[0] for a in xs))
            r = {k: v[None] for k, v in r.items()}
        pieces.append(r)
    out = {k: jnp.concatenate([p[k] for p in pieces], axis=0) for k in pieces[0]}
    if "output" in plan.record:
        out["output"] = z
    return out
