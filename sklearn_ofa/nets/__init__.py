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
from .ofa_supernet import OFASupernet, load_ofa_supernet

__all__ = [
    "build_subnet",
    "build_net",
    "build_block",
    "MobileNetV3",
    "ElasticMobileNetV3",
    "OFASupernet",
    "load_ofa_supernet",
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
