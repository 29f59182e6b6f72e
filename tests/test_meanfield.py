"""Mean-field fixed points against the reference table (note grosvenor_jefferson §9.1, §4) and closed forms."""

import numpy as np
import pytest

from nnft import NNFTInputError
from nnft.kernels import correlation_map, variance_map
from nnft.meanfield import critical_line, critical_sw2, fixed_point_q, mean_field, phase_diagram

# note §9 item 1: (sw2, sb2) -> q*, chi1, c*, xi_c, xi_q (tanh; 5 decimals, xi to 2 decimals)
TABLE = [
    ((1.2, 0.05), 0.26990, 0.84517, 1.0, 5.95, 1.81),
    ((1.5, 0.05), 0.41804, 0.93864, 1.0, 15.79, 1.68),
    ((2.0, 0.05), 0.72176, 1.04767, 0.74408, 25.21, 1.39),
    ((3.0, 0.05), 1.42801, 1.20893, 0.29932, 9.05, 1.04),
    ((4.0, 0.30), 2.54836, 1.25687, 0.57539, 6.55, 0.76),
]


@pytest.mark.parametrize("point,q,x1,c,xic,xiq", TABLE)
def test_tanh_reference_table(point, q, x1, c, xic, xiq):
    mf = mean_field("tanh", *point)
    assert abs(mf.q_star - q) < 1e-4
    assert abs(mf.chi1 - x1) < 1e-4
    assert abs(mf.c_star - c) < 1e-4
    # xi are printed to 2 decimals. The note's 5.95 at (1.2, 0.05) is -1/ln(0.84517) = 5.9445 rounded
    # up, so allow one unit of the last printed digit, and check the exact relation xi_c = -1/ln chi1
    # against the table's own chi1 in the ordered phase.
    assert abs(mf.xi_c - xic) <= 0.01
    assert abs(mf.xi_q - xiq) <= 0.01
    if x1 < 1:
        assert abs(mf.xi_c + 1 / np.log(x1)) < 1e-3
    assert mf.phase == ("ordered" if x1 < 1 else "chaotic")
    assert mf.lyapunov == pytest.approx(0.5 * np.log(mf.chi1), rel=1e-14)


def test_iterating_the_maps_reaches_the_fixed_points():
    for sw2, sb2 in [(1.5, 0.05), (3.0, 0.05)]:
        mf = mean_field("tanh", sw2, sb2)
        q = 1.0
        for _ in range(300):
            q = float(variance_map("tanh", sw2, sb2, q))
        assert abs(q - mf.q_star) < 1e-10
        c = 0.2
        for _ in range(400):
            c = float(correlation_map("tanh", sw2, sb2, mf.q_star, c))
        assert abs(c - mf.c_star) < 1e-8


def test_critical_point_by_root_finding():
    assert abs(critical_sw2("tanh", 0.05) - 1.76095) < 1e-5
    mf = mean_field("tanh", critical_sw2("tanh", 0.05), 0.05)
    assert abs(mf.chi1 - 1) < 1e-10 and mf.phase == "critical" and mf.xi_c == np.inf


def test_critical_line_table():
    """Note §4 table (values there carry 5 decimals; the last two columns were checked adaptively)."""
    sb2 = [1e-4, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0]
    ref = [1.08603, 1.42421, 1.54419, 1.76095, 1.98607, 2.28515, 2.50513, 2.84316, 3.44321, 4.26640]
    q_ref = [0.04571, 0.27330, 0.37124, 0.57005, 0.80580, 1.16450, 1.46117, 1.97103, 3.03640, 4.8306]
    crit = critical_line("tanh", sb2)
    assert np.max(np.abs(crit - ref)) < 1e-5
    q = np.asarray(fixed_point_q("tanh", crit, sb2))
    assert np.max(np.abs(q - q_ref)) < 1e-4


@pytest.mark.parametrize("sw2,sb2", [(0.3, 0.1), (0.9, 0.01), (0.999, 0.5)])
def test_linear_closed_form(sw2, sb2):
    mf = mean_field("linear", sw2, sb2)
    assert mf.q_star == pytest.approx(sb2 / (1 - sw2), rel=1e-10)
    assert mf.chi1 == pytest.approx(sw2, rel=1e-14) and mf.c_star == 1.0
    assert mf.xi_c == pytest.approx(-1 / np.log(sw2), rel=1e-12)


@pytest.mark.parametrize("sw2,sb2", [(1.0, 0.1), (1.8, 0.01), (1.99, 0.3)])
def test_relu_closed_form(sw2, sb2):
    mf = mean_field("relu", sw2, sb2)
    assert mf.q_star == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-10)
    assert mf.chi1 == pytest.approx(sw2 / 2, rel=1e-14)
    assert mf.chi_par == pytest.approx(sw2 / 2, rel=1e-12)


def test_unbounded_phase():
    assert mean_field("linear", 1.2, 0.1).phase == "unbounded"
    assert mean_field("relu", 2.5, 0.1).phase == "unbounded"
    assert np.isinf(mean_field("linear", 1.2, 0.1).q_star)


def test_phase_diagram_is_vectorised_and_consistent():
    sw = np.linspace(0.5, 4.0, 30)
    sb = np.linspace(0.0, 0.5, 12)
    pd = phase_diagram("tanh", sw, sb)
    assert pd.q_star.shape == (12, 30) and pd.chi1.shape == (12, 30)
    i, j = 5, 17
    mf = mean_field("tanh", sw[j], sb[i])
    assert pd.q_star[i, j] == pytest.approx(mf.q_star, rel=1e-10)
    assert pd.chi1[i, j] == pytest.approx(mf.chi1, rel=1e-10)
    ok = np.isfinite(pd.critical_sw2) & (sb > 0)
    ref = critical_line("tanh", sb[ok])
    assert np.max(np.abs(pd.critical_sw2[ok] - ref)) < 1e-8
    fig = pd.plot()
    assert fig.axes


def test_bad_meanfield_inputs():
    with pytest.raises(NNFTInputError, match=r"sw2: must be a variance in \[0, inf\)"):
        mean_field("tanh", -1.0, 0.05)
    with pytest.raises(NNFTInputError, match="sb2: must be finite"):
        mean_field("tanh", 1.0, float("nan"))
    with pytest.raises(NNFTInputError, match="unknown activation"):
        mean_field("tanhh", 1.0, 0.1)
    with pytest.raises(NNFTInputError, match="grid has no points"):
        phase_diagram("tanh", [], [0.1])
    with pytest.raises(NNFTInputError, match="no critical point"):
        critical_sw2("relu", 0.1)
