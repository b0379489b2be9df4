"""Search: regularised evolution on code matrices, NSGA-II Pareto fronts and constraint sweeps."""

from __future__ import annotations

from .evolution import TRUSTED_IMAGE_SIZES, EvolutionFinder
from .nsga import ParetoFinder
from .pareto import pareto_front, pareto_mask, pareto_sweep

__all__ = [
    "TRUSTED_IMAGE_SIZES",
    "EvolutionFinder",
    "ParetoFinder",
    "pareto_front",
    "pareto_mask",
    "pareto_sweep",
]
