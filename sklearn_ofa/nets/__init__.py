"""PyTorch layers and static subnet builders (from an arch or an OFA ``net.config``)."""

from .elastic import ElasticMobileNetV3
from .layers import (
    ConvLayer,
    IdentityLayer,
    LinearLayer,
    MBConvLayer,
    ResidualBlock,
    ResNetBottleneckBlock,
    SEModule,
    build_activation,
)
from .networks import MobileNetV3, ProxylessNASNets, ResNets, build_block, build_net, build_subnet

__all__ = [
    "build_subnet",
    "build_net",
    "build_block",
    "MobileNetV3",
    "ElasticMobileNetV3",
    "ProxylessNASNets",
    "ResNets",
    "ConvLayer",
    "IdentityLayer",
    "LinearLayer",
    "MBConvLayer",
    "ResidualBlock",
    "ResNetBottleneckBlock",
    "SEModule",
    "build_activation",
]
