"""Validated specs: every bad input dies at construction with a message naming the field."""

import math

import numpy as np
import pytest

from nnft import NNFTInputError
from nnft.spec import EnsembleSpec, InputsSpec, NetworkSpec, RunSpec

NET = dict(depth=4, width=8, activation="tanh", sw2=1.5, sb2=0.05, input_dim=3)


def run_dict(**over):
    d = {
        "network": dict(NET),
        "inputs": {"random": "gaussian", "n_inputs": 2, "seed": 3},
        "ensemble": {"n_networks": 10, "chunk_size": 4, "seed": 7, "method": "lattice", "record": ["norm", "gram"]},
    }
    for k, v in over.items():
        d[k].update(v)
    return d


def test_network_per_layer_views():
    net = NetworkSpec(depth=3, width=[4, 5, 6], activation=["linear", "relu", "tanh"], sw2=[1, 2, 3], sb2=0.1, input_dim=2)
    assert net.widths == (4, 5, 6)
    assert net.sw2s == (1.0, 2.0, 3.0) and net.sb2s == (0.1, 0.1, 0.1)
    assert [a.name for a in net.activations()] == ["linear", "relu", "tanh"]
    scalar = NetworkSpec(**NET)
    assert scalar.widths == (8,) * 4 and scalar.activation_names == ("tanh",) * 4


@pytest.mark.parametrize(
    "over, field, words",
    [
        ({"width": 0}, "network.width", ">= 1"),
        ({"width": [8, 8, 0, 8]}, "network.width[2]", ">= 1"),
        ({"width": [8, 8]}, "network.width", "one value per layer"),
        ({"depth": 0}, "network.depth", ">= 1"),
        ({"depth": 2.5}, "network.depth", "integer"),
        ({"sw2": -1.0}, "network.sw2", "[0, inf)"),
        ({"sb2": float("nan")}, "network.sb2", "finite"),
        ({"sw2": [1.0, 1.0, math.inf, 1.0]}, "network.sw2[2]", "finite"),
        ({"activation": "nope"}, "network.activation", "unknown activation"),
        ({"architecture": "ring"}, "network.architecture", "feedforward"),
        ({"input_dim": 0}, "network.input_dim", ">= 1"),
        ({"colour": "red"}, "network.colour", "unknown field"),
    ],
)
def test_network_bad_inputs(over, field, words):
    with pytest.raises(NNFTInputError) as e:
        NetworkSpec(**{**NET, **over})
    assert e.value.parameter == field
    assert words in str(e.value)


def test_recurrent_needs_square_constant_layers():
    NetworkSpec(depth=5, width=3, activation="linear", sw2=1.0, input_dim=3, architecture="recurrent")
    with pytest.raises(NNFTInputError, match="input_dim"):
        NetworkSpec(depth=5, width=4, activation="linear", sw2=1.0, input_dim=3, architecture="recurrent")
    with pytest.raises(NNFTInputError, match="one value for all layers"):
        NetworkSpec(depth=2, width=3, sw2=[1.0, 2.0], input_dim=3, architecture="recurrent")


def test_inputs_spec():
    x = InputsSpec(values=[[1.0, 2.0], [3.0, 4.0]])
    assert x.m == 2 and x.input_dim() == 2
    np.testing.assert_array_equal(x.materialize(2), [[1, 2], [3, 4]])
    one = InputsSpec.from_array(np.array([1.0, 2.0, 3.0]))
    assert one.m == 1 and one.input_dim() == 3
    r = InputsSpec(random="sphere", n_inputs=3, seed=1, scale=2.0)
    a = r.materialize(5)
    np.testing.assert_allclose(np.sum(a**2, axis=1), 5 * 4.0)
    np.testing.assert_array_equal(a, r.materialize(5))  # seeded
    with pytest.raises(NNFTInputError, match="network.input_dim"):
        x.materialize(3)


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"values": [[1.0, float("nan")]]}, "inputs.values", "non-finite"),
        ({"values": [[1.0, float("inf")]]}, "inputs.values", "non-finite"),
        ({"values": [[]]}, "inputs.values", "empty"),
        ({}, "inputs.values", "exactly one"),
        ({"values": [[1.0]], "random": "gaussian"}, "inputs.values", "exactly one"),
        ({"random": "uniform"}, "inputs.random", "gaussian"),
        ({"random": "gaussian", "n_inputs": 0}, "inputs.n_inputs", ">= 1"),
        ({"random": "gaussian", "scale": 0.0}, "inputs.scale", "> 0"),
        ({"values": [[1.0]], "per_network": True}, "inputs.per_network", "random"),
    ],
)
def test_inputs_bad(kwargs, field, words):
    with pytest.raises(NNFTInputError) as e:
        InputsSpec(**kwargs)
    assert e.value.parameter == field
    assert words in str(e.value)


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"n_networks": 0}, "ensemble.n_networks", ">= 1"),
        ({"n_networks": 10, "chunk_size": 11}, "ensemble.chunk_size", "[1, n_networks = 10]"),
        ({"n_networks": 10, "chunk_size": 0}, "ensemble.chunk_size", ">= 1"),
        ({"n_networks": 10, "seed": -1}, "ensemble.seed", ">= 0"),
        ({"n_networks": 10, "record": ["norm", "energy"]}, "ensemble.record", "unknown record"),
        ({"n_networks": 10, "method": "mcmc"}, "ensemble.method", "weights"),
        ({"n_networks": 10, "dtype": "float16"}, "ensemble.dtype", "float32"),
    ],
)
def test_ensemble_bad(kwargs, field, words):
    with pytest.raises(NNFTInputError) as e:
        EnsembleSpec(**kwargs)
    assert e.value.parameter == field
    assert words in str(e.value)


def test_ensemble_chunks():
    e = EnsembleSpec(n_networks=10, chunk_size=4)
    assert e.n_chunks == 3
    assert [e.chunk_bounds(i) for i in range(3)] == [(0, 4), (4, 8), (8, 10)]
    assert EnsembleSpec(n_networks=1000).chunk_size == 256
    assert EnsembleSpec(n_networks=5).chunk_size == 5


def test_run_toml_round_trip_and_hash(tmp_path):
    run = RunSpec(**run_dict())
    text = run.to_toml()
    back = RunSpec.from_toml(text)
    assert back == run
    assert back.spec_hash() == run.spec_hash()
    p = tmp_path / "c.toml"
    run.write_toml(p)
    assert RunSpec.from_toml(p) == run
    assert RunSpec.from_toml(str(p)) == run
    # per-layer lists, parameters and explicit inputs survive too
    run2 = RunSpec(
        network=dict(depth=2, width=[3, 4], activation=["linear", "leaky_relu"], activation_params=[{}, {"alpha": 0.1}],
                     sw2=[1.0, 2.0], sb2=1e-5, input_dim=2),
        inputs={"values": [[1.0, -2.5e-8]]},
        ensemble={"n_networks": 3, "method": "weights", "record": "output"},
    )
    assert RunSpec.from_toml(run2.to_toml()) == run2
    # the hash is stable (canonical JSON) and sensitive to every field
    assert run.spec_hash() == RunSpec(**run_dict()).spec_hash()
    assert run.spec_hash() != RunSpec(**run_dict(network={"sw2": 1.5000001})).spec_hash()
    assert len(run.spec_hash()) == 64


def test_run_cross_checks():
    d = run_dict()
    d["inputs"] = {"values": [[1.0, 2.0]]}
    with pytest.raises(NNFTInputError, match="input_dim"):
        RunSpec(**d)
    with pytest.raises(NNFTInputError) as e:
        RunSpec(**run_dict(ensemble={"method": "collective"}))
    assert "piecewise-linear" in str(e.value) and e.value.parameter == "ensemble.method"
    with pytest.raises(NNFTInputError, match="only method='weights'"):
        RunSpec(**run_dict(network={"architecture": "recurrent", "width": 3}))


def test_toml_errors(tmp_path):
    with pytest.raises(NNFTInputError, match="cannot read"):
        RunSpec.from_toml(tmp_path / "missing.toml")
    with pytest.raises(NNFTInputError, match="missing table"):
        RunSpec.from_toml("[network]\ndepth = 2\n")
    bad = RunSpec(**run_dict()).to_toml().replace("width = 8", "width = 0")
    with pytest.raises(NNFTInputError) as e:
        RunSpec.from_toml(bad)
    assert e.value.parameter == "network.width"
    with pytest.raises(NNFTInputError, match="not valid TOML"):
        RunSpec.from_toml("[network]\ndepth = = 2")


def test_specs_are_frozen():
    net = NetworkSpec(**NET)
    with pytest.raises(Exception):
        net.depth = 5
