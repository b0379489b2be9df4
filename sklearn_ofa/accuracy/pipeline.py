"""make_accuracy_pipeline: ArchEncoder + AccuracyPredictor in one scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from ..encoding import ArchEncoder
from .predictor import AccuracyPredictor

__all__ = ["make_accuracy_pipeline"]


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
        ``random_state``, ...); grid-search them as ``predictor__<name>``.

    Returns
    -------
    Pipeline

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
    return Pipeline(
        [
            ("encoder", ArchEncoder(space=space, image_sizes=image_sizes)),
            ("predictor", AccuracyPredictor(**predictor_params)),
        ]
    )
