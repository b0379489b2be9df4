"""Bundled sample data: real (architecture, measured top-1) records that run anywhere.

Examples
--------
>>> from sklearn_ofa.datasets import load_digits_subnets
>>> X, y = load_digits_subnets(return_X_y=True)
>>> len(X) == len(y)
True
"""

from ._digits import load_digits_subnets

__all__ = ["load_digits_subnets"]
