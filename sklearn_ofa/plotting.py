"""Matplotlib figures: accuracy and latency parity plots, accuracy/efficiency Pareto fronts.

Needs the ``plots`` extra (``pip install sklearn-ofa[plots]``). The parity plots
follow scikit-learn's ``PredictionErrorDisplay``: :class:`AccuracyParityDisplay`
and :class:`LatencyParityDisplay` with ``from_predictions`` / ``from_estimator``,
``plot(ax=None)`` and ``ax_`` / ``figure_``. Every function draws into ``ax``
when given (else a new figure) and returns the Figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import kendall_tau, mape, rmse, within_pct

__all__ = [
    "AccuracyParityDisplay",
    "LatencyParityDisplay",
    "plot_accuracy_parity",
    "plot_latency_parity",
    "plot_pareto_front",
]


def _axes(ax: Any):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sklearn_ofa.plotting needs matplotlib: pip install 'sklearn-ofa[plots]'"
        ) from exc
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
        return fig, ax
    return ax.figure, ax


def _pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape or len(x) == 0:
        raise ValueError(
            f"{names[0]} and {names[1]} must be non-empty and of the same length, "
            f"got {len(x)} and {len(y)}"
        )
    return x, y


def _identity(ax, lo: float, hi: float):
    (line,) = ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="y = x")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    return line


def _span(*arrays: np.ndarray, pad: float = 0.03) -> tuple[float, float]:
    lo = min(float(a.min()) for a in arrays)
    hi = max(float(a.max()) for a in arrays)
    margin = (hi - lo) * pad or abs(hi) * pad or 1.0
    return lo - margin, hi + margin


class _ParityDisplay:
    """Predicted against measured values on ``y = x``, scikit-learn Display style.

    Build it with :meth:`from_predictions` or :meth:`from_estimator` (which
    plot), or construct it and call :meth:`plot`.

    Attributes
    ----------
    y_true, y_pred : ndarray of shape (n_archs,)
        The plotted values (after ``scale``).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    scatter_ : matplotlib PathCollection
        One point per arch, ``(y_true, y_pred)``.
    line_ : matplotlib Line2D
        The ``y = x`` line.
    """

    _names = ("y_true", "y_pred")

    def __init__(self, *, y_true: Any, y_pred: Any, title: str | None = None):
        self.y_true, self.y_pred = _pair(y_true, y_pred, self._names)
        self.title = title

    @classmethod
    def from_predictions(cls, y_true: Any, y_pred: Any, *, ax: Any = None, **kwargs: Any):
        """Plot measured ``y_true`` against ``y_pred``; keyword arguments as the class takes.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_archs,)
            Measured and predicted values.
        ax : matplotlib Axes, optional
            Drawn into when given, else a new figure.
        **kwargs
            The other parameters of the class (``title``, ...).

        Returns
        -------
        display
            The plotted display (``ax_``, ``figure_``).
        """
        return cls(y_true=y_true, y_pred=y_pred, **kwargs).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator: Any, X: Any, y: Any, *, ax: Any = None, **kwargs: Any):
        """Plot ``y`` against ``estimator.predict(X)`` (a fitted predictor or table).

        Parameters
        ----------
        estimator : fitted estimator with ``predict``
            The predictor or latency table to check.
        X : array-like
            Inputs of ``estimator.predict`` (e.g. a code matrix).
        y : array-like of shape (n_archs,)
            Measured values.
        ax : matplotlib Axes, optional
            Axes to draw into (a new figure when None).
        **kwargs
            The other parameters of the class.

        Returns
        -------
        display
        """
        return cls.from_predictions(y, estimator.predict(X), ax=ax, **kwargs)

    def _draw(self, ax) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def plot(self, ax: Any = None):
        """Draw into ``ax`` (a new figure when None) and return ``self``.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw into (a new figure when None).

        Returns
        -------
        display
            ``self``, with ``ax_``, ``figure_``, ``scatter_`` and ``line_`` set.
        """
        self.figure_, self.ax_ = _axes(ax)
        self._draw(self.ax_)
        return self


class AccuracyParityDisplay(_ParityDisplay):
    """Predicted against measured accuracy, Kendall's tau and RMSE in the title.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_archs,)
        Measured and predicted accuracy.
    title : str, optional
        Prefix of the title (default ``"Accuracy predictor"``).
    scale : float, default=1.0
        Multiplies both before plotting (e.g. 100 for percent).

    Attributes
    ----------
    ax_, figure_, scatter_, line_
        As :class:`LatencyParityDisplay`; set by :meth:`plot`.
    kendall_tau_ : float
        NaN for a single arch.
    rmse_ : float

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> disp = AccuracyParityDisplay.from_predictions([0.70, 0.75, 0.80], [0.71, 0.74, 0.82])
    >>> disp.ax_.get_title()
    'Accuracy predictor: Kendall tau 1.000, RMSE 0.0141'
    >>> disp.scatter_.get_offsets().shape
    (3, 2)
    """

    def __init__(self, *, y_true: Any, y_pred: Any, title: str | None = None, scale: float = 1.0):
        super().__init__(y_true=y_true, y_pred=y_pred, title=title)
        self.scale = scale
        self.y_true, self.y_pred = self.y_true * scale, self.y_pred * scale

    def _draw(self, ax) -> None:
        t, p = self.y_true, self.y_pred
        self.kendall_tau_ = kendall_tau(t, p) if len(t) > 1 else float("nan")
        self.rmse_ = rmse(t, p)
        self.scatter_ = ax.scatter(t, p, s=12, alpha=0.7, label="archs")
        self.line_ = _identity(ax, *_span(t, p))
        ax.set_xlabel("measured accuracy")
        ax.set_ylabel("predicted accuracy")
        ax.set_title(
            f"{self.title or 'Accuracy predictor'}: Kendall tau {self.kendall_tau_:.3f}, "
            f"RMSE {self.rmse_:.3g}"
        )


class LatencyParityDisplay(_ParityDisplay):
    """Predicted (lookup table) against measured latency, with a ``±band`` relative band.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_archs,)
        Measured and predicted latency.
    band : float, default=0.10
        Half-width of the shaded band around ``y = x``, relative.
    title : str, optional
        Prefix of the title (default ``"Latency table"``); the title also
        gives the MAPE and the share of archs inside the band.
    unit : str, default="ms"
        Unit shown in the axis labels.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    scatter_ : matplotlib PathCollection
        One point per arch.
    line_ : matplotlib Line2D
        ``y = x``.
    band_ : matplotlib PolyCollection
        The shaded ``±band``.
    mape_ : float
        Mean absolute percentage error, in percent.
    within_ : float
        Share of archs inside the band.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> disp = LatencyParityDisplay.from_predictions([10, 20, 30], [11, 19, 36])
    >>> disp.ax_.get_title()
    'Latency table: MAPE 11.7%, 66.7% within ±10%'
    """

    _names = ("measured", "predicted")

    def __init__(
        self,
        *,
        y_true: Any,
        y_pred: Any,
        band: float = 0.10,
        title: str | None = None,
        unit: str = "ms",
    ):
        super().__init__(y_true=y_true, y_pred=y_pred, title=title)
        if isinstance(band, bool) or not isinstance(band, (int, float)) or not 0 < band < 1:
            raise ValueError(f"band = {band!r} is not allowed; allowed values: 0 < band < 1")
        self.band, self.unit = band, unit

    def _draw(self, ax) -> None:
        m, p, band = self.y_true, self.y_pred, self.band
        lo, hi = _span(m, p)
        lo = max(lo, 0.0)
        xs = np.array([lo, hi])
        self.band_ = ax.fill_between(
            xs, xs * (1 - band), xs * (1 + band), color="C2", alpha=0.2, label=f"±{band:.0%}"
        )
        self.scatter_ = ax.scatter(m, p, s=12, alpha=0.7, label="archs")
        self.line_ = _identity(ax, lo, hi)
        self.mape_, self.within_ = mape(m, p), within_pct(m, p, 100 * band)
        ax.set_xlabel(f"measured latency ({self.unit})")
        ax.set_ylabel(f"predicted latency ({self.unit})")
        ax.set_title(
            f"{self.title or 'Latency table'}: MAPE {self.mape_:.1f}%, "
            f"{self.within_:.1%} within ±{band:.0%}"
        )


def plot_accuracy_parity(
    y_true: Any, y_pred: Any, *, ax: Any = None, title: str | None = None, scale: float = 1.0
):
    """Predicted against measured accuracy (:class:`AccuracyParityDisplay`); returns the Figure.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_archs,)
        Measured and predicted accuracy.
    ax : matplotlib Axes, optional
        Axes to draw into (a new figure when None).
    title : str, optional
        Prefix of the title (default ``"Accuracy predictor"``).
    scale : float, default=1.0
        Multiplies both before plotting (e.g. 100 for percent).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig = plot_accuracy_parity([0.70, 0.75, 0.80], [0.71, 0.74, 0.82])
    >>> fig.axes[0].get_title()
    'Accuracy predictor: Kendall tau 1.000, RMSE 0.0141'
    """
    return AccuracyParityDisplay.from_predictions(
        y_true, y_pred, ax=ax, title=title, scale=scale
    ).figure_


def plot_latency_parity(
    measured: Any,
    predicted: Any,
    *,
    ax: Any = None,
    band: float = 0.10,
    title: str | None = None,
    unit: str = "ms",
):
    """Predicted against measured latency (:class:`LatencyParityDisplay`); returns the Figure.

    Parameters
    ----------
    measured, predicted : array-like of shape (n_archs,)
        Measured and predicted latencies.
    ax : matplotlib Axes, optional
        Axes to draw into (a new figure when None).
    band : float, default=0.10
        Half-width of the shaded band around ``y = x``, relative.
    title : str, optional
        Prefix of the title (default ``"Latency table"``).
    unit : str, default="ms"
        Unit shown in the axis labels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig = plot_latency_parity([10, 20, 30], [11, 19, 36])
    >>> fig.axes[0].get_title()
    'Latency table: MAPE 11.7%, 66.7% within ±10%'
    """
    return LatencyParityDisplay.from_predictions(
        measured, predicted, ax=ax, band=band, title=title, unit=unit
    ).figure_


def _columns(obj: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """(accuracy, efficiency, constraints or None) of a search result, sweep curve or frame."""
    if hasattr(obj, "evaluated_"):  # a fitted EvolutionFinder
        obj = obj.evaluated_
    if "evaluated" in getattr(obj, "keys", lambda: ())():  # a search result
        obj = obj["evaluated"]
    acc = np.asarray(obj["accuracy"], dtype=np.float64)
    eff = np.asarray(obj["efficiency"], dtype=np.float64)
    cons = obj["constraint"] if "constraint" in obj.keys() and np.ndim(obj["constraint"]) else None
    return acc, eff, cons


def plot_pareto_front(
    accuracy: Any,
    efficiency: Any = None,
    *,
    ax: Any = None,
    xlabel: str = "latency (ms)",
    show_all: bool = True,
    constraints: Any = None,
    title: str | None = None,
):
    """Accuracy against efficiency cost, with the Pareto front highlighted.

    Parameters
    ----------
    accuracy : array-like, or a search result / sweep curve / fitted finder / DataFrame
        Either the accuracies (then ``efficiency`` is required) or an object
        with ``accuracy`` and ``efficiency`` columns: the curve of
        :func:`~sklearn_ofa.search.pareto_sweep` (its constraints are drawn
        as vertical lines), a search result (its evaluated archs) or a fitted
        :class:`~sklearn_ofa.search.evolution.EvolutionFinder`.
    efficiency : array-like, optional
        Efficiency costs, when ``accuracy`` is an array.
    ax : matplotlib Axes, optional
        Axes to draw into (a new figure when None).
    xlabel : str, default="latency (ms)"
        E.g. ``"MMACs"`` for a FLOPs constraint.
    show_all : bool, default=True
        Draw every point in grey behind the front.
    constraints : array-like, optional
        Budgets to mark with vertical dotted lines.
    title : str, optional
        Title of the axes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig = plot_pareto_front([0.70, 0.78, 0.74, 0.80], [10, 20, 25, 30])
    >>> len(fig.axes[0].lines)  # the front as a step line
    1
    """
    from .search.pareto import pareto_front

    if efficiency is None:
        acc, eff, cons = _columns(accuracy)
        if constraints is None:
            constraints = cons
    else:
        acc, eff = _pair(accuracy, efficiency, ("accuracy", "efficiency"))
    fig, ax = _axes(ax)
    front = pareto_front(acc, eff)
    if show_all and len(front) < len(acc):
        others = np.setdiff1d(np.arange(len(acc)), front)
        ax.scatter(eff[others], acc[others], s=6, color="0.75", alpha=0.5, label="evaluated")
    ax.step(eff[front], acc[front], where="post", color="C0", lw=1.5)
    ax.scatter(eff[front], acc[front], s=24, color="C0", zorder=3, label="Pareto front")
    for c in [] if constraints is None else np.ravel(constraints):
        ax.axvline(float(c), color="C3", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("predicted accuracy")
    ax.set_title(title or f"Pareto front ({len(front)} of {len(acc)} archs)")
    ax.legend(loc="lower right", fontsize="small")
    return fig
