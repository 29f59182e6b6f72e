"""Dask executor: a LocalCluster of 2 spawned worker processes gives results identical to serial.

Runs in CI (marked ``slow``, which CI runs; < 60 s on 2 cores). Workers use the ``spawn`` start
method: JAX must never be forked.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from nnft.errors import NNFTInputError  # noqa: E402
from nnft.run import DaskExecutor, ToyTask, open_result, run, sample_run  # noqa: E402

pytestmark = pytest.mark.slow

N = 20
TASK = ToyTask(seed=7, n_layers=2, n_inputs=3, orders=(2, 4))


@pytest.fixture(scope="module")
def cluster():
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        with distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as c:
            yield c


def _data(path):
    ds = open_result(path)
    return {k: ds[k].values for k in ds.data_vars}


def test_dask_equals_serial(cluster, tmp_path):
    run(TASK, tmp_path / "serial", n_networks=N, chunk_size=3, quiet=True)
    s = run(
        TASK, tmp_path / "dask", n_networks=N, chunk_size=3, quiet=True, executor="dask",
        scheduler=cluster.scheduler_address,
    )
    assert s.complete and s.computed == 7
    a, b = _data(tmp_path / "serial"), _data(tmp_path / "dask")
    assert a.keys() == b.keys()
    for k in a:  # bit for bit: records, states and derived estimates
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert open_result(tmp_path / "dask").attrs["executor"] == "dask"


def test_dask_resume_and_chunk_size(cluster, tmp_path):
    """Half serially, the rest on the cluster with another chunk size: same records, same statistics."""
    run(TASK, tmp_path / "ref", n_networks=N, chunk_size=3, quiet=True)
    out = tmp_path / "mixed"
    run(TASK, out, n_networks=N, chunk_size=3, quiet=True, max_chunks=3)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        s = run(
            TASK, out, n_networks=N, chunk_size=5, quiet=True,
            executor=DaskExecutor(client=client, max_in_flight=1),
        )
    assert s.complete and s.reused == 3
    a, b = _data(tmp_path / "ref"), _data(out)
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_allclose(a["f_g4"], b["f_g4"], rtol=1e-12)
    np.testing.assert_array_equal(a["x_count"], b["x_count"])


def test_dask_sampler_equals_serial(cluster, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        "[network]\ndepth = 2\nwidth = 4\nactivation = \"relu\"\nsw2 = 2.0\nsb2 = 0.0\ninput_dim = 1\n\n"
        "[inputs]\nvalues = [[0.2], [0.6], [1.0]]\n\n"
        "[ensemble]\nn_networks = 16\nchunk_size = 4\nseed = 5\nmethod = \"weights\"\nrecord = [\"norm\", \"output\"]\n"
    )
    sample_run(cfg, tmp_path / "serial", npoint_orders=(2, 4, 6), quiet=True)
    sample_run(
        cfg, tmp_path / "dask", npoint_orders=(2, 4, 6), quiet=True, executor="dask",
        scheduler=cluster.scheduler_address,
    )
    a, b = _data(tmp_path / "serial"), _data(tmp_path / "dask")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_bad_scheduler_address(tmp_path):
    with pytest.raises(NNFTInputError, match="cannot connect") as e:
        run(
            TASK, tmp_path / "x", n_networks=N, chunk_size=3, quiet=True,
            executor=DaskExecutor("tcp://127.0.0.1:1", connect_timeout=2),
        )
    assert e.value.parameter == "scheduler"
