"""Pareto fronts of accuracy (higher is better) against efficiency (lower is better)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.utils import Bunch

__all__ = ["pareto_front", "pareto_mask", "pareto_sweep"]


def _check_pair(accuracy: Any, efficiency: Any) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, values in (("accuracy", accuracy), ("efficiency", efficiency)):
        try:
            arrays.append(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numbers, got {type(values).__name__} that is not "
                f"numeric; allowed values: finite numbers"
            ) from None
    acc, eff = arrays
    if acc.ndim != 1 or eff.ndim != 1 or acc.shape != eff.shape:
        raise ValueError(
            f"accuracy and efficiency must be 1-D arrays of the same length, "
            f"got shapes {acc.shape} and {eff.shape}"
        )
    for name, arr in (("accuracy", acc), ("efficiency", eff)):
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr))
            i = int(bad[0])
            raise ValueError(
                f"{name}[{i}] = {arr[i]} is not allowed ({len(bad)} non-finite "
                f"value(s) in {name}); allowed values: finite numbers"
            )
    return acc, eff


def pareto_mask(accuracy: Any, efficiency: Any) -> np.ndarray:
    """Boolean mask of the points that no other point dominates.

    A point dominates another when its accuracy is at least as high and its
    efficiency cost at most as high, and one of the two strictly. Identical
    points do not dominate each other. O(n log n).

    Parameters
    ----------
    accuracy : array-like of shape (n_points,)
        Higher is better.
    efficiency : array-like of shape (n_points,)
        The cost (latency, MACs); lower is better.

    Returns
    -------
    ndarray of bool of shape (n_points,)
        True for the Pareto-optimal points.

    Examples
    --------
    >>> pareto_mask([0.7, 0.8, 0.75, 0.8], [10, 20, 25, 30]).tolist()
    [True, True, False, False]
    """
    acc, eff = _check_pair(accuracy, efficiency)
    n = len(acc)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((-acc, eff))  # efficiency ascending, accuracy descending
    a, e = acc[order], eff[order]
    new_group = np.r_[True, e[1:] != e[:-1]]  # groups of equal efficiency
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    best_before = np.r_[-np.inf, np.maximum.accumulate(a)[starts[1:] - 1]]  # strictly cheaper
    group_best = a[starts]  # best accuracy at equal efficiency
    dominated = (best_before[group] >= a) | (group_best[group] > a)
    mask = np.empty(n, dtype=bool)
    mask[order] = ~dominated
    return mask


def pareto_front(accuracy: Any, efficiency: Any) -> np.ndarray:
    """Indices of the non-dominated points, sorted by efficiency (cheapest first).

    Parameters
    ----------
    accuracy : array-like of shape (n_points,)
        Higher is better.
    efficiency : array-like of shape (n_points,)
        The cost (latency, MACs); lower is better.

    Returns
    -------
    ndarray of int
        Indices of the points of :func:`pareto_mask`, cheapest first.

    Examples
    --------
    >>> pareto_front([0.7, 0.8, 0.75, 0.6], [10, 20, 25, 5]).tolist()
    [3, 0, 1]
    """
    mask = pareto_mask(accuracy, efficiency)
    idx = np.flatnonzero(mask)
    eff = np.asarray(efficiency, dtype=np.float64)[idx]
    acc = np.asarray(accuracy, dtype=np.float64)[idx]
    return idx[np.lexsort((-acc, eff))]


def pareto_sweep(finder: Any, constraints: Iterable[float], *, return_finders: bool = False):
    """Search once per constraint and return the accuracy/efficiency trade-off curve.

    Each constraint gets a copy of ``finder`` (the same fitted predictors,
    parameters and ``random_state``) with ``constraint`` set.

    Parameters
    ----------
    finder : EvolutionFinder
        The search to repeat (not modified; copies are fitted).
    constraints : iterable of float
        Efficiency budgets, one search each.
    return_finders : bool, default=False
        Also return the fitted finder of each constraint (with its history).

    Returns
    -------
    curve : Bunch
        Equal-length columns, one row per constraint (``pandas.DataFrame(curve)``
        works): ``constraint``, ``accuracy``, ``efficiency``, ``arch`` and
        ``on_front`` (whether the row's best arch is Pareto-optimal among the rows).
    finders : list of EvolutionFinder
        Only with ``return_finders=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_ofa import FLOPsModel
    >>> from sklearn_ofa.search import EvolutionFinder, pareto_sweep
    >>> flops = FLOPsModel("ofa_mbv3_w1.2").fit()
    >>> X = flops.space_.sample_codes(200, random_state=0)
    >>> acc = Ridge().fit(X, np.log(flops.predict(X)))
    >>> finder = EvolutionFinder(acc, flops, population_size=20, n_generations=3, random_state=0)
    >>> curve = pareto_sweep(finder, [250, 400])
    >>> [bool(e <= c) for e, c in zip(curve.efficiency, curve.constraint)]
    [True, True]
    """
    constraints = [float(c) for c in constraints]
    if not constraints:
        raise ValueError("constraints = [] is not allowed; allowed values: one or more numbers")
    params = finder.get_params(deep=False)  # keeps the fitted predictors (clone would unfit them)
    finders = [type(finder)(**{**params, "constraint": c}).fit() for c in constraints]
    acc = np.array([f.best_accuracy_ for f in finders])
    eff = np.array([f.best_efficiency_ for f in finders])
    curve = Bunch(
        constraint=np.array(constraints),
        accuracy=acc,
        efficiency=eff,
        arch=[f.best_arch_ for f in finders],
        on_front=pareto_mask(acc, eff),
    )
    return (curve, finders) if return_finders else curve
