"""Chunked runs: determinism across chunk sizes, resume after a failure or SIGKILL, refusals, CLI."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass

import numpy as np
import pytest

from nnft.errors import NNFTInputError
from nnft.run import (
    Chunk,
    RunStore,
    ToyTask,
    load_statistics,
    open_result,
    plan_chunks,
    run,
)

N = 20
TASK = ToyTask(seed=7, n_layers=2, n_inputs=3, orders=(2, 4))


def _run(out, task=TASK, chunk_size=3, **kw):
    return run(task, out, n_networks=N, chunk_size=chunk_size, quiet=True, **kw)


def _state_arrays(path):
    ds = open_result(path)
    return {k: ds[k].values for k in ds.data_vars if "__" in k}, ds


def assert_bitwise_equal_results(a, b):
    sa, da = _state_arrays(a)
    sb, db = _state_arrays(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    np.testing.assert_array_equal(da["x"].values, db["x"].values)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, chunk size 3."""
    out = tmp_path_factory.mktemp("ref") / "run"
    s = _run(out)
    assert s.complete and s.computed == 7 and s.reused == 0
    return out


# ----------------------------------------------------------------------------------- planning
def test_plan_chunks():
    assert plan_chunks(10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert plan_chunks(10, 3, [(3, 6)]) == [(0, 3), (6, 9), (9, 10)]
    # gaps left by another chunk size are cut on this chunk size's grid
    assert plan_chunks(10, 4, [(0, 3), (6, 7)]) == [(3, 4), (4, 6), (7, 8), (8, 10)]
    assert plan_chunks(5, 5, [(0, 5)]) == []
    with pytest.raises(NNFTInputError, match="overlap"):
        plan_chunks(10, 3, [(0, 4), (3, 6)])


def test_batch_ids_independent_of_chunking():
    full = Chunk(0, 0, 23, 23, 5).batch_ids()
    pieces = np.concatenate([Chunk(i, a, min(a + 4, 23), 23, 5).batch_ids() for i, a in enumerate(range(0, 23, 4))])
    np.testing.assert_array_equal(full, pieces)
    assert np.bincount(full).tolist() == [5, 5, 4, 5, 4]


def test_ordered_reducer_is_order_independent_bitwise(rng):
    from nnft.run import OrderedReducer
    from nnft.stats import Moments, merge_all

    ranges = [(i, i + 1) for i in range(12)]
    parts = {r: {"m": Moments.from_samples(rng.standard_cauchy(size=(50, 2)), order=4)} for r in ranges}
    in_order = merge_all([parts[r]["m"] for r in ranges])
    on_disk = set(ranges[3:5])  # finished earlier: loaded when the merge reaches them
    red = OrderedReducer(ranges, lambda r: parts[r])
    arriving = [r for r in ranges if r not in on_disk]
    red.expect(arriving)
    for i in rng.permutation(len(arriving)):
        red.add(arriving[i], parts[arriving[i]])
    assert red.finish()["m"].equal(in_order)


# ------------------------------------------------------------------------------- determinism
def test_same_command_is_bitwise_reproducible(reference, tmp_path):
    _run(tmp_path / "again")
    assert_bitwise_equal_results(reference, tmp_path / "again")


@pytest.mark.parametrize("chunk_size", [1, 7, N])
def test_results_independent_of_chunk_size(reference, tmp_path, chunk_size):
    _run(tmp_path / "r", chunk_size=chunk_size)
    ref, other = open_result(reference), open_result(tmp_path / "r")
    np.testing.assert_array_equal(ref["x"].values, other["x"].values)  # per-network records: bitwise
    sa, sb = load_statistics(reference), load_statistics(tmp_path / "r")
    for name in sa:
        a, b = sa[name].reduce(0), sb[name].reduce(0)
        moms = a.moments.items() if name == "f" else [(None, a)]
        for n, ma in moms:
            mb = b.moments[n] if n is not None else b
            assert ma.allclose(mb, rtol=1e-12), name
    np.testing.assert_allclose(ref["f_g4"].values, other["f_g4"].values, rtol=1e-12)
    np.testing.assert_allclose(ref["x_cm4"].values, other["x_cm4"].values, rtol=1e-10)


def test_result_dataset_layout_and_provenance(reference):
    ds = open_result(reference)
    assert ds["x"].dims == ("network", "layer", "input")
    assert ds.sizes["network"] == N and ds.sizes["batch"] == 10
    np.testing.assert_array_equal(ds["layer"].values, [1, 2])
    assert ds["f_g4"].dims == ("layer", "f_g4_entry") and ds.sizes["f_g4_entry"] == 15
    for key in ("seed", "nnft_version", "jax_version", "date", "identity_hash", "identity", "created"):
        assert key in ds.attrs, key
    assert ds.attrs["seed"] == 7
    # statistics agree with the records they summarise
    x = ds["x"].values
    np.testing.assert_allclose(ds["x_mean"].values, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(ds["x_var"].values, x.var(0, ddof=1), rtol=1e-12)
    np.testing.assert_array_equal(ds["x_count"].values, N)
    g2 = np.einsum("nla,nlb->nlab", x, x).mean(0)
    idx = ds["f_g2_index"].values
    np.testing.assert_allclose(ds["f_g2"].values, g2[:, idx[:, 0], idx[:, 1]], rtol=1e-13)
    np.testing.assert_allclose(ds["x_batch_mean"].values[0], x[:2].mean(0), rtol=1e-13)


def test_rerun_of_complete_run_does_nothing(reference):
    s = _run(reference)
    assert s.complete and s.computed == 0 and s.reused == 7


# ----------------------------------------------------------------------------------- resume
@dataclass(frozen=True)
class FailAfter:
    """TASK that raises on its (k+1)-th chunk: a run interrupted after k committed chunks."""

    k: int
    calls: list

    @property
    def identity(self):
        return TASK.identity

    def __call__(self, chunk):
        if len(self.calls) >= self.k:
            raise RuntimeError("simulated crash")
        self.calls.append(chunk)
        return TASK(chunk)

    def attrs(self):
        return TASK.attrs()

    def coords(self):
        return TASK.coords()


def test_resume_after_failure(reference, tmp_path):
    out = tmp_path / "r"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(out, task=FailAfter(3, []))
    with RunStore.open(out, TASK.identity, n_networks=N, n_batches=10) as st:
        assert st.done_ranges() == [(0, 3), (3, 6), (6, 9)]
        assert not st.is_complete()
    s = _run(out)
    assert s.complete and s.computed == 4 and s.reused == 3
    assert_bitwise_equal_results(reference, out)


def test_resume_with_other_chunk_size_and_max_chunks(reference, tmp_path):
    out = tmp_path / "r"
    s = _run(out, chunk_size=3, max_chunks=2)
    assert not s.complete and s.result is None and s.computed == 2
    s = _run(out, chunk_size=7)  # gaps [6, 20) on the grid of 7: [6,7), [7,14), [14,20)
    assert s.complete and s.computed == 3 and s.reused == 2
    np.testing.assert_array_equal(open_result(out)["x"].values, open_result(reference)["x"].values)
    np.testing.assert_allclose(open_result(out)["f_g4"].values, open_result(reference)["f_g4"].values, rtol=1e-12)
    assert int(open_result(out)["x_count"].values.min()) == N  # nothing counted twice


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from nnft.run import ToyTask, run
    task = ToyTask(seed=7, n_layers=2, n_inputs=3, orders=(2, 4), delay=0.4)
    run(task, sys.argv[1], n_networks=20, chunk_size=3, quiet=True)
    """
)


def test_resume_after_sigkill(reference, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = out / "chunks"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if chunks.is_dir() and sum(1 for c in chunks.iterdir() if c.name.startswith("r")) >= 2:
                break
            if proc.poll() is not None:
                pytest.fail(f"writer exited early: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        else:
            pytest.fail("writer made no progress")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = [c.name for c in chunks.iterdir() if c.name.startswith("r")]
    assert 2 <= len(done) < 7 and not (out / "result").exists()
    # a half-written chunk from the killed process (as if killed mid-write): must be discarded
    junk = out / ".tmp" / "deadbeef"
    junk.mkdir(parents=True, exist_ok=True)
    (junk / "zarr.json").write_text("{")
    s = _run(out)
    assert s.complete and s.reused == len(done) and s.computed == 7 - len(done)
    assert not junk.exists()
    assert_bitwise_equal_results(reference, out)


# ------------------------------------------------------------------------------- bad input
def test_store_from_other_spec_is_refused(reference):
    with pytest.raises(NNFTInputError, match="different run") as e:
        _run(reference, task=ToyTask(seed=8, n_layers=2, n_inputs=3, orders=(2, 4)))
    assert "seed" in str(e.value) and e.value.parameter == "out"
    with pytest.raises(NNFTInputError, match="n_networks"):
        run(TASK, reference, n_networks=N + 1, chunk_size=3, quiet=True)


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NNFTInputError, match="cannot write|not a directory") as e:
        _run(blocker / "sub")
    assert e.value.parameter == "out"
    with pytest.raises(NNFTInputError, match="not a directory"):
        _run(blocker)
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(NNFTInputError, match="cannot write"):
                _run(ro / "out")
            with pytest.raises(NNFTInputError, match="cannot write"):
                _run(ro)
        finally:
            ro.chmod(0o700)


def test_chunk_larger_than_run_and_bad_counts(tmp_path):
    with pytest.raises(NNFTInputError, match="larger than the run") as e:
        _run(tmp_path / "a", chunk_size=N + 1)
    assert e.value.parameter == "chunk_size"
    with pytest.raises(NNFTInputError, match="n_networks"):
        run(TASK, tmp_path / "b", n_networks=0, chunk_size=1, quiet=True)
    with pytest.raises(NNFTInputError, match="n_batches"):
        _run(tmp_path / "c", n_batches=N + 1)
    with pytest.raises(NNFTInputError, match="executor"):
        _run(tmp_path / "d", executor="threads")
    with pytest.raises(NNFTInputError, match="scheduler"):
        _run(tmp_path / "e", executor="dask")
    assert not any((tmp_path / p).exists() and any((tmp_path / p).iterdir()) for p in "abcde")


def test_foreign_directory_and_concurrent_writer_are_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.csv").write_text("1,2\n")
    with pytest.raises(NNFTInputError, match="not an nnft run store"):
        _run(foreign)
    with RunStore.open(tmp_path / "busy", TASK.identity, n_networks=N, n_batches=10):
        with pytest.raises(NNFTInputError, match="another nnft process"):
            _run(tmp_path / "busy")
    _run(tmp_path / "busy", chunk_size=N)  # lock released


# ------------------------------------------------------------------------------- nnft sample
CONFIG = """
[network]
depth = 2
width = 4
activation = "tanh"
sw2 = 1.5
sb2 = 0.05
input_dim = 2

[inputs]
values = [[0.5, -0.2], [1.0, 0.3]]

[ensemble]
n_networks = 12
chunk_size = 4
seed = 11
method = "lattice"
record = ["q", "output"]
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    p = tmp_path_factory.mktemp("cfg") / "run.toml"
    p.write_text(CONFIG)
    return p


def _app():
    import typer

    from nnft.run.cli import register

    app = typer.Typer()
    register(app)

    @app.callback()
    def _main():  # a group, so that "sample" is a subcommand as in the real CLI
        pass

    return app


def test_nnft_sample_cli(config, tmp_path):
    from typer.testing import CliRunner

    out = tmp_path / "s"
    res = CliRunner().invoke(_app(), ["sample", str(config), "--out", str(out), "--npoint", "2,4", "--chunk-size", "6"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "done: 12 networks" in res.output and res.stderr == ""  # no progress bar off a terminal
    ds = open_result(out)
    assert ds["q"].dims == ("network", "layer", "input")
    assert ds["output"].dims == ("network", "unit", "input")
    assert ds["output_npoint_g4"].dims == ("unit", "output_npoint_g4_entry")
    assert "[network]" in ds.attrs["spec"] and ds.attrs["seed"] == 11
    np.testing.assert_allclose(ds["x"].values, [[0.5, -0.2], [1.0, 0.3]])
    # the spec's own chunk size (4) resumes/recognises the same store: chunking is not identity
    res = CliRunner().invoke(_app(), ["sample", str(config), "--out", str(out), "--npoint", "2,4", "-q"])
    assert res.exit_code == 0 and res.output == ""
    # per-network records equal a direct sampler call
    import jax

    from nnft.sampling import sample_chunk
    from nnft.spec import RunSpec

    spec = RunSpec.from_toml(config)
    direct = sample_chunk(
        spec.network, spec.inputs, 12, key=jax.random.key(11), method="lattice", record=("q", "output")
    )
    np.testing.assert_array_equal(ds["q"].values, direct["q"])
    # another spec into the same store is refused (the main CLI turns this into exit code 2)
    other = tmp_path / "other.toml"
    other.write_text(CONFIG.replace("seed = 11", "seed = 12"))
    res = CliRunner().invoke(_app(), ["sample", str(other), "--out", str(out), "-q"])
    assert res.exit_code == 2 and res.stderr.startswith("error: out: ") and "different run" in res.stderr
    assert res.stderr.count("\n") == 1  # one line, no traceback
    res = CliRunner().invoke(_app(), ["sample", str(config), "--out", str(tmp_path / "t"), "--npoint", "2,x"])
    assert res.exit_code == 2 and res.stderr.startswith("error: npoint: ")
    res = CliRunner().invoke(_app(), ["sample", str(config), "--out", str(config)])
    assert res.exit_code == 2 and "not a directory" in res.stderr
    res = CliRunner().invoke(_app(), ["sample", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "u")])
    assert res.exit_code == 2 and res.stderr.startswith("error: config: ")
