"""The mean-field reproduction: its private weight-space simulation and its metrics.

Statistical checks follow DESIGN.md: fixed seeds, |estimate − theory| < 4 s.e. (+ the theory's stated
error). For ReLU networks the estimators used here are *exactly* unbiased at any width
(see the test), so that test carries no finite-width allowance at all.
"""

from __future__ import annotations

import json
import math

import jax
import numpy as np

from nnft.meanfield import mean_field
from nnft.reproduce import get_reproduction, reproduction_names, run_reproduction
from nnft.reproduce.meanfield import (
    C_ALLOWANCE,
    CHI_ALLOWANCE,
    NOTE_TABLE,
    Q_ALLOWANCE,
    MeanFieldConfig,
    MeanFieldReproduction,
    _simulate_weight_space,
    _theory_layers,
)

Z = 4.0


def _per_net(a: np.ndarray) -> tuple[float, float]:
    a = a.reshape(a.shape[0], -1).mean(axis=1)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size))


def test_registered():
    assert "meanfield" in reproduction_names()
    r = get_reproduction("meanfield")
    assert r.name == "meanfield" and r.title


# one simulation shape for every test, equal to the "quick" scale's: JAX compiles it once per activation
SIM = {"width": 256, "depth": 32, "n_pairs": 8, "batch": 8}


def test_simulation_shapes_and_network_indexing():
    a = _simulate_weight_space(jax.random.key(3), "tanh", 1.5, 0.1, n_nets=4, **SIM)
    b = _simulate_weight_space(jax.random.key(3), "tanh", 1.5, 0.1, n_nets=12, **SIM)
    c = _simulate_weight_space(jax.random.key(4), "tanh", 1.5, 0.1, n_nets=4, **SIM)
    assert a.q.shape == (4, 32, 16) and a.c.shape == (4, 32, 8) and a.growth.shape == (4, 32, 8)
    assert b.q.shape == (12, 32, 16)
    assert a.q.dtype == np.float64
    # network i draws its weights from fold_in(key, i): how many networks are simulated does not matter
    np.testing.assert_allclose(a.q, b.q[:4], rtol=1e-6)
    np.testing.assert_allclose(a.growth, b.growth[:4], rtol=1e-6)
    assert not np.allclose(a.q, c.q)
    assert np.all(np.abs(a.c) <= 1 + 1e-6) and np.all(a.growth > 0)


def test_input_layer_kernel_at_requested_point():
    """Layer 1 is z¹ = W¹x + b¹, so E|z¹|²/N = σw² |x|²/N + σb² exactly; the in-pair correlation is ρ up
    to the sample-correlation bias ≈ −ρ(1−ρ²)/(2N) < 1/N (allowance 1/N)."""
    run = _simulate_weight_space(
        jax.random.key(0), "tanh", 1.0, 0.0, n_nets=8, input_norm2=0.7, input_overlap=0.3, **SIM
    )
    q, se = _per_net(run.q[:, 0, :])
    assert abs(q - 0.7) < Z * se
    c, se_c = _per_net(run.c[:, 0, :])
    assert abs(c - 0.3) < Z * se_c + 1.0 / SIM["width"]


def test_q_and_chi1_exact_for_relu():
    """ReLU nets: E|z^l|²/N follows the mean-field length map exactly at any width, and the mean tangent
    growth equals σw² E[φ'²] = σw²/2 exactly.

    Why: given layer l−1, z^l is Gaussian and centred, so E relu(z)² = Var(z)/2; a fresh W^{l+1} gives
    E|W D v|²/|v|² = σw² |D v|²/|v|²; and flipping the sign of a row (W_i, b_i) maps (z_i, v_i) to
    (−z_i, −v_i), so E[1(z_i > 0) v_i²/|v|²] = ½ E[v_i²/|v|²]. Hence no finite-width allowance.
    """
    sw2, sb2, depth = 1.5, 0.05, SIM["depth"]
    run = _simulate_weight_space(jax.random.key(11), "relu", sw2, sb2, n_nets=16, **SIM)
    q_th, _, chi_th = _theory_layers("relu", sw2, sb2, depth, 1.0, 0.5)
    for layer in (0, 3, 10, depth - 1):
        m, se = _per_net(run.q[:, layer, :])
        assert abs(m - q_th[layer]) < Z * se, (layer, m, q_th[layer], se)
    w = slice(1, depth)
    m, se = _per_net(run.growth[:, w])
    assert abs(m - sw2 / 2) < Z * se, (m, se)
    np.testing.assert_allclose(chi_th[w], sw2 / 2)
    assert abs(mean_field("relu", sw2, sb2).chi1 - sw2 / 2) < 1e-12


def test_tanh_chaotic_fixed_point_within_finite_width_allowance():
    """tanh at (3.0, 0.05), chaotic: q*, χ₁, c* from width-256 networks within 4 s.e. + the
    reproduction's a-priori O(1/N) allowances (module constants, not tuned here)."""
    mf = mean_field("tanh", 3.0, 0.05)
    norm2, rho = MeanFieldReproduction._inputs_at_fixed_point(mf, MeanFieldConfig("tanh", 3.0, 0.05))
    width, depth = SIM["width"], SIM["depth"]
    run = _simulate_weight_space(
        jax.random.key(5), "tanh", 3.0, 0.05, n_nets=16, input_norm2=norm2, input_overlap=rho, **SIM
    )
    q_th, c_th, _ = _theory_layers("tanh", 3.0, 0.05, depth, norm2, rho)
    # inputs placed at the fixed point: the theory stays there at every layer
    np.testing.assert_allclose(q_th, mf.q_star, rtol=1e-6)
    np.testing.assert_allclose(c_th, mf.c_star, atol=1e-6)
    w = slice(depth // 2, depth)
    m, se = _per_net(run.q[:, w, :])
    assert abs(m - mf.q_star) < Z * se + Q_ALLOWANCE * mf.q_star / width
    m, se = _per_net(run.growth[:, w])
    assert abs(m - mf.chi1) < Z * se + CHI_ALLOWANCE * mf.chi1 / width
    m, se = _per_net(run.c[:, w])
    assert abs(m - mf.c_star) < Z * se + C_ALLOWANCE / width


def test_ordered_vs_chaotic_growth_is_resolved():
    """The measured χ₁ separates the phases: below 1 at σw² = 1.2, above 1 at σw² = 3 (tanh, σb² = 0.05)."""
    lo = _simulate_weight_space(jax.random.key(1), "tanh", 1.2, 0.05, n_nets=8, **SIM)
    hi = _simulate_weight_space(jax.random.key(2), "tanh", 3.0, 0.05, n_nets=8, **SIM)
    m_lo, se_lo = _per_net(lo.growth[:, 16:])
    m_hi, se_hi = _per_net(hi.growth[:, 16:])
    assert m_lo + Z * se_lo < 1.0 < m_hi - Z * se_hi


def test_table_metrics_match_the_note():
    ms = MeanFieldReproduction._table_metrics()
    assert len(ms) == 5 * len(NOTE_TABLE) + 1
    failed = [(m.name, m.value, m.reference) for m in ms if not m.passed]
    assert not failed
    crit = ms[-1]
    assert "critical" in crit.name and abs(crit.value - 1.76095) < 1e-5


def test_overlap_helper_places_first_layer_at_fixed_point():
    mf = mean_field("tanh", 2.0, 0.05)
    cfg = MeanFieldConfig("tanh", 2.0, 0.05)
    n, rho = MeanFieldReproduction._inputs_at_fixed_point(mf, cfg)
    q1 = 2.0 * n + 0.05
    assert abs(q1 - mf.q_star) < 1e-12
    assert abs((2.0 * rho * n + 0.05) / q1 - mf.c_star) < 1e-12


def test_pipeline_on_a_small_setting(tmp_path, monkeypatch):
    """The whole reproduction on 2 settings × 4 networks: metrics.json keys, figures, result.json, progress."""
    from nnft.reproduce import meanfield as mod

    tiny = {
        "width": SIM["width"],
        "depth": SIM["depth"],
        "n_nets": 4,
        "configs": (mod.MeanFieldConfig("tanh", 3.0), mod.MeanFieldConfig("relu", 1.5)),
    }
    monkeypatch.setitem(mod.SCALE_SETTINGS, "quick", tiny)
    seen = []
    res = run_reproduction("meanfield", scale="quick", out_dir=tmp_path, seed=1, progress=lambda d, t, s: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    data = json.loads((tmp_path / "meanfield" / "metrics.json").read_text())
    assert isinstance(data, list) and len(data) == len(res.metrics)
    for m in data:
        assert {"name", "value", "reference", "tolerance", "passed"} <= set(m)
        assert isinstance(m["passed"], bool)
    names = [m["name"] for m in data]
    assert any(n.endswith("c_star") and "tanh sw2=3" in n for n in names)  # chaotic: c* measured
    assert not any(n.endswith("c_star") and "relu" in n for n in names)  # ordered: no c* metric
    for f in res.figures:
        assert (tmp_path / f).is_file() and f.startswith("meanfield/")
    assert (tmp_path / "meanfield" / "result.json").is_file()
