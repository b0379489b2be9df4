"""make_accuracy_pipeline: ArchEncoder + AccuracyPredictor in one scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from .._checks import n_rows
from ..encoding import ArchEncoder
from .predictor import OFA_RECIPE, AccuracyPredictor

__all__ = ["make_accuracy_pipeline", "AccuracyPipeline"]


class AccuracyPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` whose ``predict`` works in row blocks.

    Encoding a million archs at once would hold a million one-hot rows (about
    580 MB for OFA MobileNetV3); ``predict`` instead encodes and predicts
    ``predict_chunk_size`` rows at a time, so memory stays bounded whatever the
    batch size. Batches up to that size take the plain ``Pipeline`` path.
    Everything else (parameters, ``fit``, cloning, grid search, persistence)
    is the ``Pipeline``'s.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As for :class:`~sklearn.pipeline.Pipeline` (usually an
        :class:`~sklearn_ofa.ArchEncoder` then an :class:`~sklearn_ofa.AccuracyPredictor`).
    transform_input : list of str, optional
        As for :class:`~sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, optional
        As for :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        As for :class:`~sklearn.pipeline.Pipeline`.

    Attributes
    ----------
    predict_chunk_size : int
        Rows per block (class attribute, 32,768: about 20 MB of one-hot rows).

    Examples
    --------
    >>> from sklearn_ofa import make_accuracy_pipeline
    >>> type(make_accuracy_pipeline("ofa_mbv3_w1.2")).__name__
    'AccuracyPipeline'
    """

    predict_chunk_size = 32768

    def predict(self, X: Any, **params: Any) -> Any:
        """Predict row blocks of ``X`` through the steps; see :meth:`Pipeline.predict`.

        Parameters
        ----------
        X : list of dict, dict, DataFrame or code matrix
            Archs of the encoder's space.
        **params
            Passed to :meth:`Pipeline.predict`, e.g. ``return_std=True`` for
            :meth:`AccuracyPredictor.predict <sklearn_ofa.AccuracyPredictor.predict>`.

        Returns
        -------
        ndarray of shape (n_samples,), or a tuple of them
            A tuple ``(mean, std)`` with ``return_std=True``.
        """
        n = n_rows(X)
        step = self.predict_chunk_size
        if n is None or n <= step:
            return super().predict(X, **params)
        rows = (lambda a, b: X.iloc[a:b]) if hasattr(X, "iloc") else (lambda a, b: X[a:b])
        parts = [
            super(AccuracyPipeline, self).predict(rows(a, a + step), **params)
            for a in range(0, n, step)
        ]
        if isinstance(parts[0], tuple):  # return_std=True: (mean, std) per block
            return tuple(np.concatenate(p) for p in zip(*parts))
        return np.concatenate(parts)

    def predict_interval(self, X: Any, alpha: float = 0.05) -> np.ndarray:
        """Conformal accuracy intervals of ``X``, in row blocks as :meth:`predict`.

        Parameters
        ----------
        X : list of dict, dict, DataFrame or code matrix
            Archs of the encoder's space.
        alpha : float, default=0.05
            Miscoverage, in (0, 1).

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Lower and upper accuracy; see
            :meth:`AccuracyPredictor.predict_interval
            <sklearn_ofa.AccuracyPredictor.predict_interval>`.
        """
        n = n_rows(X)
        step = self.predict_chunk_size
        rows = (lambda a, b: X.iloc[a:b]) if hasattr(X, "iloc") else (lambda a, b: X[a:b])
        blocks = [X] if n is None or n <= step else [rows(a, a + step) for a in range(0, n, step)]
        parts = [self[-1].predict_interval(self[:-1].transform(b), alpha=alpha) for b in blocks]
        return np.concatenate(parts)

    def fit(self, X: Any, y: Any = None, **params: Any) -> AccuracyPipeline:
        """Fit the steps on archs ``X`` and top-1 accuracies ``y`` (fractions).

        Parameters
        ----------
        X : list of dict, dict, DataFrame or code matrix
            Archs of the encoder's space.
        y : array-like of shape (n_samples,)
            Top-1 accuracy as a fraction in [0, 1] (OFA's convention).
        **params
            Passed to :meth:`Pipeline.fit`.

        Returns
        -------
        self : AccuracyPipeline

        Raises
        ------
        ValueError
            ``y`` holds a value outside [0, 1] (top-1 in percent: divide by 100).
        """
        _check_fractions(y)
        return super().fit(X, y, **params)


def _check_fractions(y: Any) -> None:
    """Refuse accuracies outside [0, 1], naming the first one (percent is the usual slip)."""
    if y is None:
        return
    try:
        arr = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return  # the predictor names non-numeric targets
    bad = np.flatnonzero((arr < 0) | (arr > 1))
    if len(bad):
        i = int(bad[0])
        hint = " (top-1 in percent? pass y / 100)" if 1 < arr[i] <= 100 else ""
        raise ValueError(
            f"y[{i}] = {arr[i]!r} is not an accuracy fraction; allowed values: [0, 1]"
            f"{hint}; {len(bad)} of {len(arr)} values are outside"
        )


def make_accuracy_pipeline(
    space: Any = "ofa_mbv3_w1.2",
    image_sizes: Any = None,
    *,
    recipe: str = "default",
    **predictor_params: Any,
) -> Pipeline:
    """Pipeline ``[("encoder", ArchEncoder), ("predictor", AccuracyPredictor)]``.

    The pipeline takes arch dicts (a list, one dict or a DataFrame) or a code
    matrix of ``space`` and predicts top-1 accuracy (with
    ``predict(X, return_std=True)``, also a calibrated standard deviation).

    Parameters
    ----------
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
        The search space of the archs.
    image_sizes : sequence of int or None, default=None
        Image sizes of the encoder's resolution one-hot (default: the space's).
    recipe : {"default", "ofa"}, default="default"
        ``"default"``: OFA's features plus a depth one-hot per stage
        (``ArchEncoder(depth_features=True)``) and the
        :class:`AccuracyPredictor` defaults (standardised targets, weight decay
        1e-3, a calibrated ensemble of 5). ``"ofa"``: OFA's own features
        (``ArchEncoder()``) and training recipe
        (:data:`~sklearn_ofa.accuracy.predictor.OFA_RECIPE`), for parity with
        MIT's ``ofa``. ``predictor_params`` override either.
    **predictor_params
        Parameters of :class:`AccuracyPredictor` (``hidden_size``, ``max_epochs``,
        ``random_state``, ...) and skorch's prefixed ones it routes
        (``optimizer__momentum``, ``module__hidden_size``, ...); grid-search them
        as ``predictor__<name>``.

    Returns
    -------
    AccuracyPipeline
        A :class:`~sklearn.pipeline.Pipeline` that predicts in row blocks.

    Examples
    --------
    >>> from sklearn_ofa import make_accuracy_pipeline
    >>> from sklearn_ofa.spaces import get_space
    >>> space = get_space("ofa_mbv3_w1.2")
    >>> archs = space.sample(64, random_state=0)
    >>> y = [0.7 + 0.002 * sum(a["d"]) for a in archs]
    >>> pipe = make_accuracy_pipeline(space, max_epochs=5, n_ensemble=1, random_state=0)
    >>> pipe.fit(archs, y).predict(archs[:2]).shape
    (2,)
    >>> pipe = make_accuracy_pipeline(space, max_epochs=5, n_ensemble=3, random_state=0)
    >>> mean, std = pipe.fit(archs, y).predict(archs[:2], return_std=True)
    >>> mean.shape, std.shape
    ((2,), (2,))
    >>> make_accuracy_pipeline(space, recipe="ofa")["predictor"].n_ensemble
    1
    """
    if recipe not in ("default", "ofa"):
        raise ValueError(f"recipe must be 'default' or 'ofa', got {recipe!r}")
    ofa = recipe == "ofa"
    params = {**OFA_RECIPE, **predictor_params} if ofa else predictor_params
    encoder = ArchEncoder(space=space, image_sizes=image_sizes, depth_features=not ofa)
    return AccuracyPipeline([("encoder", encoder), ("predictor", AccuracyPredictor(**params))])
