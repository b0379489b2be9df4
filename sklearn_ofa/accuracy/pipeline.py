"""make_accuracy_pipeline: ArchEncoder + AccuracyPredictor in one scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from .._checks import n_rows
from ..encoding import ArchEncoder
from .predictor import AccuracyPredictor

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

    def predict(self, X: Any, **params: Any) -> np.ndarray:
        """Predict row blocks of ``X`` through the steps; see :meth:`Pipeline.predict`.

        Parameters
        ----------
        X : list of dict, dict, DataFrame or code matrix
            Archs of the encoder's space.
        **params
            Passed to :meth:`Pipeline.predict`.

        Returns
        -------
        ndarray of shape (n_samples,)
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
        return np.concatenate(parts)


def make_accuracy_pipeline(
    space: Any = "ofa_mbv3_w1.2", image_sizes: Any = None, **predictor_params: Any
) -> Pipeline:
    """Pipeline ``[("encoder", ArchEncoder), ("predictor", AccuracyPredictor)]``.

    The pipeline takes arch dicts (a list, one dict or a DataFrame) or a code
    matrix of ``space`` and predicts top-1 accuracy.

    Parameters
    ----------
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
        The search space of the archs.
    image_sizes : sequence of int or None, default=None
        Image sizes of the encoder's resolution one-hot (default: the space's).
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
    """
    return AccuracyPipeline(
        [
            ("encoder", ArchEncoder(space=space, image_sizes=image_sizes)),
            ("predictor", AccuracyPredictor(**predictor_params)),
        ]
    )
