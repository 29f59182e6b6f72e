r"""Validated, frozen specifications of an ensemble run: the network, its inputs and the ensemble.

Every bad input dies here, at construction, with an :class:`~nnft.errors.NNFTInputError` whose message
names the field (``network.width[3]``, ``ensemble.chunk_size``...) and the allowed range.

* :class:`NetworkSpec` — depth L, widths (one for all layers or one per layer), activation(s) with
  parameters, σw²/σb² (scalar or per layer), architecture (``feedforward`` or ``recurrent``), input
  dimension. Conventions (``docs/conventions.md``): ``z^1 = W^1 x + b^1``, ``z^l = W^l φ_l(z^{l-1}) + b^l``;
  per-layer entry ``l-1`` belongs to layer ``l`` (the activation entry of layer 1 is unused).
  A *recurrent* network applies the same (W, b) at every step, so it needs one width N = ``input_dim``
  and one (activation, σw², σb²).
* :class:`InputsSpec` — an explicit (M, d) array, or a random-input protocol (``gaussian`` or
  ``sphere``, M points, seed); with ``per_network = true`` every network gets its own random input (the
  lattice paper's "open chain" protocol, drawn from that network's key), otherwise one fixed set drawn
  from ``seed``.
* :class:`EnsembleSpec` — number of networks, chunk size, root seed, dtype, sampler method and what to
  record per layer.
* :class:`RunSpec` — the three together, cross-checked (input dimension, method vs architecture and
  activation, records vs method), with ``to_toml`` / ``from_toml`` (the ``nnft sample CONFIG.toml``
  format) and ``spec_hash`` (SHA-256 of the canonical JSON, for store provenance).

TOML layout::

    [network]
    depth = 1024
    width = 200
    activation = "relu"
    sw2 = 1.8
    sb2 = 0.01
    input_dim = 200

    [inputs]
    random = "gaussian"
    n_inputs = 1
    per_network = true

    [ensemble]
    n_networks = 200
    chunk_size = 50
    seed = 0
    method = "collective"
    record = ["norm", "r_plus", "r_minus", "k"]
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .errors import NNFTInputError

__all__ = [
    "NetworkSpec",
    "InputsSpec",
    "EnsembleSpec",
    "RunSpec",
    "RECORD_NAMES",
    "METHOD_NAMES",
    "spec_hash",
]

#: Per-layer records a sampler can return (see :mod:`nnft.sampling.record`).
RECORD_NAMES: tuple[str, ...] = ("norm", "q", "r_plus", "r_minus", "k", "gram", "output", "z")
#: Sampler methods (see :mod:`nnft.sampling`).
METHOD_NAMES: tuple[str, ...] = ("weights", "lattice", "collective")

_Scalar = float | int | str | bool


# ============================================================================ error conversion
def _loc_name(prefix: str, loc: Sequence[Any]) -> str:
    name = prefix
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part in ("function-after", "function-before", "function-plain", "function-wrap"):
            continue
        elif isinstance(part, str) and ("[" in part or part.startswith(("tuple", "list", "float", "int", "str", "dict"))):
            continue  # union-member tags such as 'tuple[float, ...]'
        else:
            name += f".{part}" if name else str(part)
    return name


def _convert(err: ValidationError, prefix: str) -> NNFTInputError:
    """The most informative error of a pydantic ValidationError, as an NNFTInputError naming the field."""
    errors = err.errors()
    for e in errors:  # our own validators raise NNFTInputError: keep their wording
        exc = e.get("ctx", {}).get("error")
        if isinstance(exc, NNFTInputError):
            loc = _loc_name(prefix, e["loc"])
            if exc.parameter and exc.parameter not in (loc.rsplit(".", 1)[-1],):
                loc = f"{prefix}.{exc.parameter}" if prefix else exc.parameter
            msg = str(exc).split(": ", 1)[-1]
            return NNFTInputError(loc, msg)
    e = errors[0]
    loc = _loc_name(prefix, e["loc"])
    msg = e["msg"]
    if e["type"] == "extra_forbidden":
        msg = "unknown field"
    elif e["type"] == "missing":
        msg = "is required"
    return NNFTInputError(loc or prefix, f"{msg} (got {e.get('input')!r})" if e["type"] != "missing" else msg)


class _Spec(BaseModel):
    """Frozen pydantic model whose validation errors surface as NNFTInputError."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
    _prefix: str = ""

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise _convert(e, self._section()) from None

    @classmethod
    def _section(cls) -> str:
        return {"NetworkSpec": "network", "InputsSpec": "inputs", "EnsembleSpec": "ensemble", "RunSpec": ""}.get(
            cls.__name__, ""
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """Build from a plain mapping (e.g. a TOML table); unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise NNFTInputError(cls._section() or cls.__name__, f"must be a table, got {type(data).__name__}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (``None`` fields dropped): the canonical form hashed by ``spec_hash``."""
        return _drop_none(self.model_dump(mode="json"))

    def spec_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of this spec (sorted keys, no whitespace)."""
        return spec_hash(self.to_dict())


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d


def spec_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of ``json.dumps(data, sort_keys=True, separators=(",", ":"))``."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_count(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise NNFTInputError(name, f"must be an integer >= {minimum}, got {v!r}")
    if v < minimum:
        raise NNFTInputError(name, f"must be an integer >= {minimum}, got {v!r}")
    return int(v)


def _check_var(name: str, v: Any) -> float:
    if isinstance(v, bool):
        raise NNFTInputError(name, f"must be a real number in [0, inf), got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise NNFTInputError(name, f"must be a real number in [0, inf), got {v!r}") from None
    if not math.isfinite(f) or f < 0:
        raise NNFTInputError(name, f"must be a finite variance in [0, inf), got {f!r}")
    return f


def _is_seq(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


# ============================================================================ network
class NetworkSpec(_Spec):
    """A fully connected random network (see the module docstring for the conventions)."""

    depth: int
    width: int | tuple[int, ...]
    activation: str | tuple[str, ...] = "tanh"
    activation_params: dict[str, _Scalar] | tuple[dict[str, _Scalar], ...] = {}
    sw2: float | tuple[float, ...] = 1.0
    sb2: float | tuple[float, ...] = 0.0
    architecture: Literal["feedforward", "recurrent"] = "feedforward"
    input_dim: int

    @field_validator("depth", mode="before")
    @classmethod
    def _depth(cls, v):
        return _check_count("depth", v)

    @field_validator("input_dim", mode="before")
    @classmethod
    def _input_dim(cls, v):
        return _check_count("input_dim", v)

    @field_validator("width", mode="before")
    @classmethod
    def _width(cls, v):
        if _is_seq(v):
            if len(v) == 0:
                raise NNFTInputError("width", "needs at least one value (one per layer), got an empty list")
            return tuple(_check_count(f"width[{i}]", w) for i, w in enumerate(v))
        return _check_count("width", v)

    @field_validator("sw2", "sb2", mode="before")
    @classmethod
    def _variances(cls, v, info):
        name = info.field_name
        if _is_seq(v):
            if len(v) == 0:
                raise NNFTInputError(name, "needs at least one value (one per layer), got an empty list")
            return tuple(_check_var(f"{name}[{i}]", s) for i, s in enumerate(v))
        return _check_var(name, v)

    @field_validator("activation", mode="before")
    @classmethod
    def _activation(cls, v):
        if _is_seq(v):
            if len(v) == 0:
                raise NNFTInputError("activation", "needs at least one name, got an empty list")
            if not all(isinstance(a, str) for a in v):
                raise NNFTInputError("activation", "must be activation names (strings)")
            return tuple(v)
        if not isinstance(v, str):
            raise NNFTInputError("activation", f"must be an activation name, got {type(v).__name__}")
        return v

    @field_validator("activation_params", mode="before")
    @classmethod
    def _params(cls, v):
        if _is_seq(v):
            return tuple(dict(p) for p in v)
        if not isinstance(v, Mapping):
            raise NNFTInputError("activation_params", f"must be a table of parameters, got {type(v).__name__}")
        return dict(v)

    @model_validator(mode="after")
    def _consistent(self):
        L = self.depth
        for name in ("width", "activation", "activation_params", "sw2", "sb2"):
            v = getattr(self, name)
            if isinstance(v, tuple) and len(v) != L:
                raise NNFTInputError(name, f"needs one value per layer (depth = {L}), got {len(v)}")
        acts = self.activations()  # raises on unknown names / bad parameters
        if self.architecture == "recurrent":
            widths = set(self.widths)
            if len(widths) != 1 or self.widths[0] != self.input_dim:
                raise NNFTInputError(
                    "width",
                    f"a recurrent network reuses one N x N matrix: needs one width equal to input_dim "
                    f"({self.input_dim}), got widths {sorted(widths)}",
                )
            for name in ("sw2", "sb2"):
                if len(set(getattr(self, name + "s"))) != 1:
                    raise NNFTInputError(name, "a recurrent network reuses (W, b): needs one value for all layers")
            if len({(a.name, tuple(sorted(a.params.items()))) for a in acts[1:]}) > 1:
                raise NNFTInputError("activation", "a recurrent network needs one activation for all layers")
        return self

    # ----------------------------------------------------------------- per-layer views
    @property
    def widths(self) -> tuple[int, ...]:
        """Width N_l of layers 1..L."""
        return self.width if isinstance(self.width, tuple) else (self.width,) * self.depth

    @property
    def sw2s(self) -> tuple[float, ...]:
        return self.sw2 if isinstance(self.sw2, tuple) else (self.sw2,) * self.depth

    @property
    def sb2s(self) -> tuple[float, ...]:
        return self.sb2 if isinstance(self.sb2, tuple) else (self.sb2,) * self.depth

    @property
    def activation_names(self) -> tuple[str, ...]:
        return self.activation if isinstance(self.activation, tuple) else (self.activation,) * self.depth

    def activations(self):
        """One :class:`~nnft.activations.Activation` per layer (entry 0, layer 1's, is unused)."""
        from .activations import get_activation

        params = self.activation_params
        plist = params if isinstance(params, tuple) else (params,) * self.depth
        out = []
        for i, (name, p) in enumerate(zip(self.activation_names, plist)):
            try:
                out.append(get_activation(name, **p))
            except NNFTInputError as e:
                where = "activation" if not isinstance(self.activation, tuple) else f"activation[{i}]"
                raise NNFTInputError(where, str(e).split(": ", 1)[-1]) from None
        return tuple(out)


# ============================================================================ inputs
class InputsSpec(_Spec):
    """The M network inputs: explicit ``values`` (M × d) or a random protocol.

    Random protocols (``random``): ``"gaussian"`` draws x ~ N(0, scale² I_d); ``"sphere"`` draws x uniform on
    the sphere |x|² = d·scale² (so σw²|x|²/d = σw² scale² exactly). With ``per_network`` the draw is made
    per network from that network's key (:func:`nnft.sampling.network_keys`, stream ``fold_in(key, 0)``);
    otherwise once, from ``seed`` (NumPy PCG64), and shared by every network.
    """

    values: tuple[tuple[float, ...], ...] | None = None
    random: Literal["gaussian", "sphere"] | None = None
    n_inputs: int = 1
    seed: int = 0
    scale: float = 1.0
    per_network: bool = False

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, v):
        if v is None:
            return None
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise NNFTInputError("values", "must be a (M, d) array of real numbers") from None
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise NNFTInputError("values", f"must have shape (M, d) (or (d,) for one input), got shape {arr.shape}")
        if arr.size == 0:
            raise NNFTInputError("values", "must not be empty")
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise NNFTInputError("values", f"contains a non-finite value ({float(arr[idx])!r}) at index {idx}; inputs must be finite")
        return tuple(tuple(float(x) for x in row) for row in arr)

    @field_validator("n_inputs", mode="before")
    @classmethod
    def _n(cls, v):
        return _check_count("n_inputs", v)

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, v):
        return _check_count("seed", v, minimum=0)

    @field_validator("scale", mode="before")
    @classmethod
    def _scale(cls, v):
        f = _check_var("scale", v)
        if f == 0:
            raise NNFTInputError("scale", "must be > 0")
        return f

    @model_validator(mode="after")
    def _one_source(self):
        if (self.values is None) == (self.random is None):
            raise NNFTInputError("values", "give exactly one of `values` (explicit inputs) or `random` (gaussian | sphere)")
        if self.values is not None:
            if self.per_network:
                raise NNFTInputError("per_network", "only applies to random inputs")
            if self.n_inputs not in (1, len(self.values)) and "n_inputs" in self.model_fields_set:
                raise NNFTInputError("n_inputs", f"is {self.n_inputs} but `values` has {len(self.values)} rows")
        return self

    @classmethod
    def from_array(cls, x: Any) -> InputsSpec:
        """Explicit inputs from an array of shape (M, d) or (d,)."""
        return cls(values=np.asarray(x, dtype=float) if not isinstance(x, (list, tuple)) else x)

    @property
    def m(self) -> int:
        """Number of inputs M."""
        return len(self.values) if self.values is not None else self.n_inputs

    def input_dim(self) -> int | None:
        """d for explicit inputs, None for random ones (they take the network's input_dim)."""
        return len(self.values[0]) if self.values is not None else None

    def materialize(self, input_dim: int) -> np.ndarray:
        """The fixed (M, d) input array (float64). Refused for ``per_network`` inputs (drawn per network)."""
        if self.values is not None:
            x = np.asarray(self.values, dtype=float)
            if x.shape[1] != input_dim:
                raise NNFTInputError("inputs.values", f"has d = {x.shape[1]} columns but network.input_dim = {input_dim}")
            return x
        if self.per_network:
            raise NNFTInputError("inputs.per_network", "per-network inputs are drawn inside the sampler, not materialized")
        rng = np.random.Generator(np.random.PCG64(self.seed))
        x = rng.standard_normal((self.n_inputs, input_dim))
        if self.random == "sphere":
            x *= math.sqrt(input_dim) / np.linalg.norm(x, axis=1, keepdims=True)
        return self.scale * x


# ============================================================================ ensemble
class EnsembleSpec(_Spec):
    """How many networks, in chunks of what size, from which root seed, with which sampler and records."""

    n_networks: int
    chunk_size: int | None = None
    seed: int = 0
    dtype: Literal["float32", "float64"] = "float32"
    method: Literal["weights", "lattice", "collective"] = "lattice"
    record: tuple[str, ...] = ("norm",)

    @field_validator("n_networks", mode="before")
    @classmethod
    def _n(cls, v):
        return _check_count("n_networks", v)

    @field_validator("chunk_size", mode="before")
    @classmethod
    def _chunk(cls, v):
        return None if v is None else _check_count("chunk_size", v)

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, v):
        return _check_count("seed", v, minimum=0)

    @field_validator("record", mode="before")
    @classmethod
    def _record(cls, v):
        if isinstance(v, str):
            v = (v,)
        if not _is_seq(v) or len(v) == 0:
            raise NNFTInputError("record", f"must name at least one of {', '.join(RECORD_NAMES)}")
        bad = [r for r in v if r not in RECORD_NAMES]
        if bad:
            raise NNFTInputError("record", f"unknown record {bad[0]!r}; allowed: {', '.join(RECORD_NAMES)}")
        return tuple(dict.fromkeys(v))  # de-duplicate, keep order

    @model_validator(mode="after")
    def _chunk_le_n(self):
        if self.chunk_size is None:
            object.__setattr__(self, "chunk_size", min(self.n_networks, 256))
        elif self.chunk_size > self.n_networks:
            raise NNFTInputError(
                "chunk_size", f"must be in [1, n_networks = {self.n_networks}], got {self.chunk_size}"
            )
        return self

    @property
    def n_chunks(self) -> int:
        return -(-self.n_networks // self.chunk_size)

    def chunk_bounds(self, i: int) -> tuple[int, int]:
        """Global network indices [start, stop) of chunk i."""
        if not 0 <= i < self.n_chunks:
            raise NNFTInputError("chunk", f"index must be in [0, {self.n_chunks}), got {i}")
        start = i * self.chunk_size
        return start, min(start + self.chunk_size, self.n_networks)


# ============================================================================ run
class RunSpec(_Spec):
    """A network, its inputs and an ensemble, cross-checked; the unit a store's provenance refers to."""

    network: NetworkSpec
    inputs: InputsSpec
    ensemble: EnsembleSpec

    @field_validator("network", "inputs", "ensemble", mode="before")
    @classmethod
    def _sub(cls, v, info):
        kind = {"network": NetworkSpec, "inputs": InputsSpec, "ensemble": EnsembleSpec}[info.field_name]
        if isinstance(v, kind):
            return v
        if isinstance(v, Mapping):
            return kind.from_dict(v)
        raise NNFTInputError(info.field_name, f"must be a table, got {type(v).__name__}")

    @model_validator(mode="after")
    def _cross(self):
        from .sampling import check_compatible

        try:
            check_compatible(self.network, self.inputs, method=self.ensemble.method, record=self.ensemble.record)
        except NNFTInputError as e:
            where = {"method": "ensemble.method", "record": "ensemble.record", "activation": "network.activation"}
            raise NNFTInputError(where.get(e.parameter, e.parameter), str(e).split(": ", 1)[-1]) from None
        return self

    # ----------------------------------------------------------------- TOML
    @classmethod
    def from_toml(cls, source: str | Path) -> RunSpec:
        """Read a run from a TOML file path (or TOML text containing a ``[network]`` table)."""
        if isinstance(source, Path) or (isinstance(source, str) and "[network]" not in source):
            path = Path(source)
            try:
                text = path.read_text()
            except OSError as e:
                raise NNFTInputError("config", f"cannot read {str(path)!r}: {e.strerror or e}") from None
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise NNFTInputError("config", f"is not valid TOML: {e}") from None
        missing = [s for s in ("network", "inputs", "ensemble") if s not in data]
        if missing:
            raise NNFTInputError("config", f"missing table(s) [{'], ['.join(missing)}]")
        extra = sorted(set(data) - {"network", "inputs", "ensemble"})
        if extra:
            raise NNFTInputError("config", f"unknown table(s) {extra}; allowed: network, inputs, ensemble")
        return cls(**data)

    def to_toml(self) -> str:
        """TOML text that :meth:`from_toml` reads back to an equal spec."""
        parts = []
        for section in ("network", "inputs", "ensemble"):
            parts.append(f"[{section}]")
            for k, v in getattr(self, section).to_dict().items():
                parts.append(f"{k} = {_toml_value(v)}")
            parts.append("")
        return "\n".join(parts)

    def write_toml(self, path: str | Path) -> None:
        Path(path).write_text(self.to_toml())


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise NNFTInputError("spec", f"cannot write non-finite {v!r} to TOML")
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise NNFTInputError("spec", f"cannot write a {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)
