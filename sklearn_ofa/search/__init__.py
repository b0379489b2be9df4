"""Search: regularised evolution on code matrices, Pareto fronts and constraint sweeps."""

from __future__ import annotations

from .evolution import TRUSTED_IMAGE_SIZES, EvolutionFinder
from .pareto import pareto_front, pareto_mask, pareto_sweep

__all__ = ["TRUSTED_IMAGE_SIZES", "EvolutionFinder", "pareto_front", "pareto_mask", "pareto_sweep"]
