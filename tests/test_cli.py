"""The ``nnft`` command line: outputs, JSON, and one-line errors with exit code 2 on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nnft.cli import app, main
from nnft.kernels import nngp_kernel

runner = CliRunner()

MF_KEYS = {"q_star", "c_star", "chi1", "lyapunov", "xi_q", "xi_c", "phase"}


def _bad(args: list[str], parameter: str) -> None:
    """Exit code 2, nothing on stdout, exactly one stderr line 'error: <parameter>: ...', no traceback."""
    res = runner.invoke(app, args)
    assert res.exit_code == 2, (args, res.exit_code, res.stdout, res.stderr, res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: {parameter}: "), lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""


# ---------------------------------------------------------------------------- meanfield
def test_meanfield_json_keys_and_values():
    res = runner.invoke(app, ["meanfield", "--activation", "tanh", "--sw2", "1.5", "--sb2", "0.05", "--json"])
    assert res.exit_code == 0, res.stderr
    d = json.loads(res.stdout)
    assert MF_KEYS <= set(d)
    assert d["q_star"] == pytest.approx(0.41804, abs=1e-5)
    assert d["chi1"] == pytest.approx(0.93864, abs=1e-5)
    assert d["phase"] == "ordered" and d["c_star"] == 1.0


def test_meanfield_json_non_finite_are_strings():
    # ReLU with σw² > 2: no finite q* ("unbounded"); inf/nan are written as strings (strict JSON)
    res = runner.invoke(app, ["meanfield", "--activation", "relu", "--sw2", "2.5", "--sb2", "0.05", "--json"])
    assert res.exit_code == 0, res.stderr
    d = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert d["phase"] == "unbounded" and d["q_star"] == "inf" and d["chi1"] == "nan"


def test_meanfield_table():
    res = runner.invoke(app, ["meanfield", "--activation", "tanh", "--sw2", "2.0", "--sb2", "0.05"])
    assert res.exit_code == 0, res.stderr
    assert "q*" in res.stdout and "0.721762" in res.stdout and "chaotic" in res.stdout


@pytest.mark.parametrize(
    "args,parameter",
    [
        (["--activation", "nosuch"], "activation"),
        (["--sw2", "-1"], "sw2"),
        (["--sb2", "-0.5"], "sb2"),
        (["--sw2", "nan"], "sw2"),
        (["--sb2", "inf"], "sb2"),
    ],
)
def test_meanfield_bad_input(args, parameter):
    _bad(["meanfield", *args], parameter)


# ---------------------------------------------------------------------------- kernel
@pytest.fixture
def inputs(tmp_path, rng):
    X = rng.normal(size=(5, 3))
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", fmt="%.17g")
    return X, tmp_path


@pytest.mark.parametrize("fname", ["x.npy", "x.csv"])
def test_kernel_json_matches_library(inputs, fname):
    X, d = inputs
    args = ["kernel", str(d / fname), "--depth", "3", "--activation", "relu", "--sw2", "2", "--sb2", "0.1", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.stderr
    K = np.array(json.loads(res.stdout)["kernel"])
    np.testing.assert_allclose(K, np.asarray(nngp_kernel(X, 3, "relu", 2.0, 0.1)), rtol=1e-12, atol=1e-14)
    assert K.shape == (5, 5)


def test_kernel_table(inputs):
    _, d = inputs
    res = runner.invoke(app, ["kernel", str(d / "x.npy"), "--depth", "2", "--activation", "erf"])
    assert res.exit_code == 0, res.stderr
    assert "NNGP kernel" in res.stdout


def test_kernel_bad_inputs(inputs):
    X, d = inputs
    Xn = X.copy()
    Xn[2, 1] = np.nan
    np.save(d / "nan.npy", Xn)
    np.save(d / "cube.npy", np.zeros((2, 2, 2)))
    (d / "bad.csv").write_text("1,2\n3,abc\n")
    (d / "x.txt").write_text("1 2\n")
    _bad(["kernel", str(d / "nan.npy")], "inputs")
    _bad(["kernel", str(d / "cube.npy")], "inputs")  # wrong shape
    _bad(["kernel", str(d / "bad.csv")], "inputs")  # unparsable
    _bad(["kernel", str(d / "missing.npy")], "inputs")  # file not found
    _bad(["kernel", str(d / "x.txt")], "inputs")  # unsupported type
    _bad(["kernel", str(d / "x.npy"), "--depth", "0"], "depth")
    _bad(["kernel", str(d / "x.npy"), "--activation", "nosuch"], "activation")
    _bad(["kernel", str(d / "x.npy"), "--sw2", "-2"], "sw2")
    _bad(["kernel", str(d / "x.npy"), "--sb2", "nan"], "sb2")


# ---------------------------------------------------------------------------- phase diagram
def test_phase_diagram_writes_png(tmp_path):
    out = tmp_path / "sub" / "fig.png"
    res = runner.invoke(app, ["phase-diagram", "--activation", "tanh", "--out", str(out), "--points", "12"])
    assert res.exit_code == 0, res.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args,parameter",
    [
        (["--points", "0"], "points"),  # a grid with no points
        (["--sw2-min", "-1"], "sw2"),
        (["--sb2-max", "nan"], "sb2"),
        (["--sw2-min", "3", "--sw2-max", "1"], "sw2-max"),
        (["--activation", "nosuch"], "activation"),
        (["--out", "fig.txt"], "out"),
    ],
)
def test_phase_diagram_bad_input(tmp_path, args, parameter):
    _bad(["phase-diagram", "--points", "5", "--out", str(tmp_path / "f.png"), *args], parameter)


# ---------------------------------------------------------------------------- reproduce
def test_reproduce_meanfield_quick(tmp_path):
    out = tmp_path / "rep"
    res = runner.invoke(app, ["reproduce", "meanfield", "--scale", "quick", "--out", str(out)])
    assert res.exit_code == 0, (res.stdout, res.stderr)
    html = (out / "report.html").read_text()
    assert "meanfield" in html and 'src="meanfield/' in html
    metrics = json.loads((out / "meanfield" / "metrics.json").read_text())
    assert isinstance(metrics, list) and metrics
    for m in metrics:
        assert {"name", "value", "reference", "tolerance", "passed"} <= set(m)
        assert isinstance(m["passed"], bool)
    names = " ".join(m["name"] for m in metrics)
    for key in ("q_star", "chi1", "c_star", "lyapunov"):
        assert key in names
    # fixed seed; every tolerance is 4 s.e. + an a-priori O(1/N) allowance (deterministic rows: 1e-4/1e-5)
    failed = [(m["name"], m["value"], m["reference"], m["tolerance"]) for m in metrics if not m["passed"]]
    assert not failed
    for m in json.loads((out / "meanfield" / "result.json").read_text())["figures"]:
        assert (out / m).is_file()
    assert "report:" in res.stdout


def test_reproduce_unknown_name(tmp_path):
    _bad(["reproduce", "nosuch", "--out", str(tmp_path)], "name")


# ---------------------------------------------------------------------------- entry point
def test_main_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["meanfield", "--sw2", "abc"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: sw2: ")
    with pytest.raises(SystemExit) as exc:
        main(["meanfield", "--no-such-option"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_main_success_and_bad_value(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["meanfield", "--json"])
    assert exc.value.code == 0
    assert MF_KEYS <= set(json.loads(capsys.readouterr().out))
    with pytest.raises(SystemExit) as exc:
        main(["meanfield", "--sw2", "-3"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "error: sw2: must be a variance in [0, inf), got -3.0"
