"""Training losses for :class:`~sklearn_ofa.accuracy.AccuracyPredictor`.

A search only uses the *order* of predicted accuracies; these losses add a
pairwise ranking term to the squared error, so that the network is also
trained to order the archs of each batch correctly.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import check_real

__all__ = ["RankingMSELoss"]


class RankingMSELoss(nn.Module):
    """Mean squared error plus a pairwise logistic ranking loss over the batch.

    For every pair ``(i, j)`` of a batch with ``y_i > y_j`` the ranking term is
    ``temperature * softplus(-(p_i - p_j) / temperature)``: near zero when the
    prediction orders the pair with a margin of a few temperatures, linear in
    the error when it orders them the wrong way. The loss is
    ``mean((p - y) ** 2) + rank_weight * mean(ranking term)``.

    Pass the class as ``criterion`` and its arguments as ``criterion__<name>``
    (``AccuracyPredictor(criterion=RankingMSELoss, criterion__rank_weight=1.0)``,
    or the same keywords to :func:`~sklearn_ofa.make_accuracy_pipeline`).

    Parameters
    ----------
    rank_weight : float, default=1.0
        Weight of the ranking term; ``0`` is the plain squared error.
    temperature : float, default=0.03
        Margin scale of the ranking term, in the units of the training targets
        (standard deviations with ``standardize_target=True``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.accuracy.losses import RankingMSELoss
    >>> loss = RankingMSELoss(rank_weight=1.0, temperature=0.03)
    >>> y = torch.tensor([[0.0], [1.0], [2.0]])
    >>> float(loss(y, y)) < 1e-3            # right values, right order
    True
    >>> bool(loss(y.flip(0), y) > loss(y, y))  # the wrong order costs more
    True
    """

    def __init__(self, rank_weight: float = 1.0, temperature: float = 0.03) -> None:
        super().__init__()
        self.rank_weight = check_real("rank_weight", rank_weight, low=0.0)
        self.temperature = check_real("temperature", temperature, low=0.0, low_open=True)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of a batch.

        Parameters
        ----------
        pred : torch.Tensor
            Predictions, any shape with one value per sample.
        target : torch.Tensor
            Targets, the same number of values.

        Returns
        -------
        torch.Tensor
            A scalar: the squared error plus ``rank_weight`` times the ranking term.
        """
        if pred.numel() != target.numel():
            raise ValueError(
                f"pred has {pred.numel()} values but target has {target.numel()}; "
                "allowed: one prediction per target"
            )
        pred, target = pred.reshape(-1), target.reshape(-1)
        mse = torch.mean((pred - target) ** 2)
        if self.rank_weight == 0 or pred.numel() < 2:
            return mse
        better = (target[:, None] - target[None, :]) > 0  # pairs (i, j) with y_i > y_j
        if not bool(better.any()):
            return mse
        gap = (pred[:, None] - pred[None, :])[better]
        rank = F.softplus(-gap / self.temperature).mean() * self.temperature
        return mse + self.rank_weight * rank
