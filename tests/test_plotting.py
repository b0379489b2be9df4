"""Figures of sklearn_ofa.plotting on the Agg backend: artists, titles, axes reuse."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402

from sklearn_ofa.plotting import (  # noqa: E402
    AccuracyParityDisplay,
    LatencyParityDisplay,
    plot_accuracy_parity,
    plot_latency_parity,
    plot_pareto_front,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_accuracy_parity_artists_and_kendall_tau():
    fig = plot_accuracy_parity([0.70, 0.72, 0.75, 0.80], [0.71, 0.73, 0.74, 0.82])
    ax = fig.axes[0]
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == 4
    assert len(ax.lines) == 1  # y = x
    assert "Kendall tau 1.000" in ax.get_title()
    reversed_fig = plot_accuracy_parity([1, 2, 3, 4], [4, 3, 2, 1], title="rev")
    assert reversed_fig.axes[0].get_title().startswith("rev: Kendall tau -1.000")


def test_latency_parity_band_and_title():
    fig = plot_latency_parity([10, 20, 30, 40], [10.5, 19, 36, 40], band=0.1)
    ax = fig.axes[0]
    kinds = sorted(type(c).__name__ for c in ax.collections)
    assert len(ax.collections) == 2
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the ±10% band
    assert any(isinstance(c, PathCollection) for c in ax.collections), kinds
    assert len(ax.lines) == 1
    # relative errors .05, .05, .2, 0 -> MAPE 7.5 %, 3 of 4 inside the band
    assert ax.get_title() == "Latency table: MAPE 7.5%, 75.0% within ±10%"
    with pytest.raises(ValueError, match="band = 2"):
        plot_latency_parity([1], [1], band=2)
    with pytest.raises(ValueError, match="same length"):
        plot_latency_parity([1, 2], [1])


def test_pareto_front_arrays_into_given_axes():
    fig0, (ax_a, ax_b) = plt.subplots(1, 2)
    acc = [0.70, 0.78, 0.74, 0.80, 0.60]
    eff = [10, 20, 25, 30, 12]
    fig = plot_pareto_front(acc, eff, ax=ax_b, xlabel="MMACs", constraints=[15, 28])
    assert fig is fig0
    assert not ax_a.collections
    front, others = ax_b.collections[1], ax_b.collections[0]
    assert len(front.get_offsets()) == 3 and len(others.get_offsets()) == 2
    assert len(ax_b.lines) == 1 + 2  # step line + two constraint lines
    np.testing.assert_allclose(ax_b.lines[0].get_xdata(), [10, 20, 30])
    assert ax_b.get_xlabel() == "MMACs"


def test_pareto_front_of_sweep_curve_and_search_result():
    from sklearn.utils import Bunch

    curve = Bunch(
        constraint=np.array([15.0, 25.0]),
        accuracy=np.array([0.75, 0.79]),
        efficiency=np.array([14.0, 24.5]),
        on_front=np.array([True, True]),
    )
    ax = plot_pareto_front(curve, show_all=False).axes[0]
    assert len(ax.collections) == 1 and len(ax.lines) == 1 + 2
    result = Bunch(
        evaluated=Bunch(accuracy=np.array([0.7, 0.8, 0.6]), efficiency=np.array([1.0, 2.0, 3.0]))
    )
    ax = plot_pareto_front(result).axes[0]
    assert len(ax.collections) == 2 and len(ax.lines) == 1


def test_pareto_front_of_fitted_finder():
    from sklearn.linear_model import Ridge

    from sklearn_ofa import FLOPsModel
    from sklearn_ofa.search import EvolutionFinder

    flops = FLOPsModel("digits_mbv3").fit()
    X = flops.space_.sample_codes(200, random_state=0)
    acc = Ridge().fit(X, np.log(flops.predict(X)))
    finder = EvolutionFinder(
        acc,
        flops,
        float(np.median(flops.predict(X))),
        population_size=20,
        n_generations=4,
        random_state=0,
    ).fit()
    ax = plot_pareto_front(finder, xlabel="MMACs").axes[0]
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == len(finder.evaluated_.accuracy) == 20 * 5


# ------------------------------------------------------------------ Display objects
def test_accuracy_parity_display_from_predictions_plots_the_data_and_metrics():
    y_true, y_pred = [0.70, 0.72, 0.75, 0.80], [0.71, 0.74, 0.73, 0.82]
    disp = AccuracyParityDisplay.from_predictions(y_true, y_pred, scale=100)
    assert disp.figure_ is disp.ax_.figure and disp.ax_ in disp.figure_.axes
    np.testing.assert_allclose(disp.scatter_.get_offsets(), np.c_[y_true, y_pred] * 100)
    lo, hi = disp.line_.get_xdata()
    np.testing.assert_allclose(disp.line_.get_ydata(), [lo, hi])  # y = x
    assert lo < 70 and hi > 82
    # hand values: one discordant pair of six -> tau = (5 - 1) / 6; errors 1, 2, 2, 2 points
    assert disp.kendall_tau_ == pytest.approx(4 / 6)
    assert disp.rmse_ == pytest.approx(np.sqrt(13 / 4))
    assert (
        disp.ax_.get_title() == f"Accuracy predictor: Kendall tau 0.667, RMSE {np.sqrt(13 / 4):.3g}"
    )


def test_displays_from_estimator_and_plot_into_a_given_axes():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, -1.0] + 20 + rng.normal(scale=0.5, size=30)
    est = LinearRegression().fit(X, y)
    fig, (ax_a, ax_b) = plt.subplots(1, 2)
    disp = LatencyParityDisplay.from_estimator(est, X, y, ax=ax_b, band=0.2, unit="us")
    assert disp.ax_ is ax_b and disp.figure_ is fig and not ax_a.collections
    np.testing.assert_allclose(disp.scatter_.get_offsets(), np.c_[y, est.predict(X)])
    rel = np.abs(est.predict(X) - y) / np.abs(y)
    assert disp.mape_ == pytest.approx(100 * rel.mean())
    assert disp.within_ == pytest.approx(np.mean(rel <= 0.2))
    # the band's polygon spans y = 0.8 x .. 1.2 x at the right end
    verts = disp.band_.get_paths()[0].vertices
    x_hi = verts[:, 0].max()
    np.testing.assert_allclose(verts[:, 1].max(), 1.2 * x_hi)
    assert disp.ax_.get_xlabel() == "measured latency (us)"
    # constructed, then plotted twice into two axes: the same data each time
    acc = AccuracyParityDisplay(y_true=y, y_pred=est.predict(X), title="ridge")
    first = acc.plot(ax=ax_a)
    assert first is acc and acc.ax_ is ax_a and acc.ax_.get_title().startswith("ridge: ")
    again = acc.plot()
    assert again.ax_ is not ax_a
    np.testing.assert_allclose(again.scatter_.get_offsets(), ax_a.collections[0].get_offsets())


def test_display_errors_name_the_field():
    with pytest.raises(ValueError, match="band = 0 is not allowed"):
        LatencyParityDisplay(y_true=[1, 2], y_pred=[1, 2], band=0)
    with pytest.raises(
        ValueError, match="y_true and y_pred must be non-empty and of the same length"
    ):
        AccuracyParityDisplay.from_predictions([1, 2, 3], [1, 2])
