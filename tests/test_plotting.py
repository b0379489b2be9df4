"""Figures of sklearn_ofa.plotting on the Agg backend: artists, titles, axes reuse."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402

from sklearn_ofa.plotting import (  # noqa: E402
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
    assert ax.get_title() == "Latency table: MAPE 7.5%, 75% within ±10%"
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

    curve = Bunch(constraint=np.array([15.0, 25.0]), accuracy=np.array([0.75, 0.79]),
                  efficiency=np.array([14.0, 24.5]), on_front=np.array([True, True]))
    ax = plot_pareto_front(curve, show_all=False).axes[0]
    assert len(ax.collections) == 1 and len(ax.lines) == 1 + 2
    result = Bunch(evaluated=Bunch(accuracy=np.array([0.7, 0.8, 0.6]),
                                   efficiency=np.array([1.0, 2.0, 3.0])))
    ax = plot_pareto_front(result).axes[0]
    assert len(ax.collections) == 2 and len(ax.lines) == 1


def test_pareto_front_of_fitted_finder():
    from sklearn.linear_model import Ridge

    from sklearn_ofa import FLOPsModel
    from sklearn_ofa.search import EvolutionFinder

    flops = FLOPsModel("digits_mbv3").fit()
    X = flops.space_.sample_codes(200, random_state=0)
    acc = Ridge().fit(X, np.log(flops.predict(X)))
    finder = EvolutionFinder(acc, flops, float(np.median(flops.predict(X))), population_size=20,
                             n_generations=4, random_state=0).fit()
    ax = plot_pareto_front(finder, xlabel="MMACs").axes[0]
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == len(finder.evaluated_.accuracy) == 20 * 5
