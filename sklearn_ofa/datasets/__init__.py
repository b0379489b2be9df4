"""Bundled data: real (architecture, measured top-1) records that run anywhere.

- :func:`load_digits_subnets`: subnets of a small supernet trained on digits;
- :func:`load_ofa_mbv3_imagenet`: real ImageNet top-1 of OFA MobileNetV3 subnets.

Examples
--------
>>> from sklearn_ofa.datasets import load_digits_subnets
>>> X, y = load_digits_subnets(return_X_y=True)
>>> len(X) == len(y)
True
"""

from ._digits import load_digits_subnets
from ._ofa_imagenet import load_ofa_mbv3_imagenet

__all__ = ["load_digits_subnets", "load_ofa_mbv3_imagenet"]
