"""OFA's MobileNetV3 and ProxylessNAS (MobileNetV2-style) search spaces."""

from __future__ import annotations

from typing import Any, Sequence

from .._checks import check_choice_list, check_int, check_name, check_options, check_real
from ._base import Gene, SearchSpace, Unit
from ._blocks import Block, make_divisible

__all__ = ["MobileNetSpace"]

_FAMILIES = ("mbv3", "proxyless")
_ACTS = ("relu", "relu6", "h_swish")


def _conv_config(cin, cout, k, stride, act, use_bn=True, bias=False):
    return {
        "name": "ConvLayer",
        "kernel_size": k,
        "stride": stride,
        "dilation": 1,
        "groups": 1,
        "bias": bias,
        "has_shuffle": False,
        "use_se": False,
        "in_channels": cin,
        "out_channels": cout,
        "use_bn": use_bn,
        "act_func": act,
        "dropout_rate": 0,
        "ops_order": "weight_bn_act",
    }


def _identity_config(c):
    return {
        "name": "IdentityLayer",
        "in_channels": c,
        "out_channels": c,
        "use_bn": False,
        "act_func": None,
        "dropout_rate": 0,
        "ops_order": "weight_bn_act",
    }


class MobileNetSpace(SearchSpace):
    """An OFA MobileNet search space: elastic kernel size, expand ratio, depth and resolution.

    ``family="mbv3"`` is OFA's ``OFAMobileNetV3`` (SE and h_swish per stage,
    final expand + feature mix head); ``family="proxyless"`` is
    ``OFAProxylessNASNets`` (relu6, a last single-block stage, BN eps 1e-3).

    Parameters
    ----------
    family : {"mbv3", "proxyless"}
    width_mult : float
        Width multiplier applied to ``base_stage_width``.
    ks_list, expand_ratio_list, depth_list : sequence of int
        Choices per block slot / per elastic stage.
    image_sizes : sequence of int
        Allowed input resolutions.
    base_stage_width : sequence of int, optional
        OFA's ``base_stage_width`` (first conv, first block, stages..., head widths).
        Defaults to OFA's.
    stride_stages, act_stages, se_stages : sequence, optional
        Per stage (first block included for mbv3), as OFA defines them.
    n_classes : int
        Classifier outputs.
    dropout_rate : float
        Of the classifier (only recorded in ``net_config``).
    name : str, optional
        Registry name; derived from family and width by default.

    Attributes
    ----------
    slot_info : list of dict
        Static facts of every block slot, in slot order: ``cin``, ``cout``,
        ``stride``, ``act`` and ``se``.

    Examples
    --------
    >>> space = MobileNetSpace("mbv3", width_mult=1.2)
    >>> space.n_slots, space.n_genes
    (20, 46)
    >>> small = MobileNetSpace("mbv3", base_stage_width=[8, 8, 16, 24, 32, 40, 48, 96, 128],
    ...                        image_sizes=[16, 24, 32], n_classes=10)
    """

    def __init__(
        self,
        family: str = "mbv3",
        width_mult: float = 1.0,
        ks_list: Sequence[int] = (3, 5, 7),
        expand_ratio_list: Sequence[int] = (3, 4, 6),
        depth_list: Sequence[int] = (2, 3, 4),
        image_sizes: Sequence[int] = tuple(range(128, 225, 4)),
        base_stage_width: Sequence[int] | None = None,
        stride_stages: Sequence[int] | None = None,
        act_stages: Sequence[str] | None = None,
        se_stages: Sequence[bool] | None = None,
        n_classes: int = 1000,
        dropout_rate: float = 0.1,
        name: str | None = None,
    ):
        if family not in _FAMILIES:
            raise ValueError(
                f"family = {family!r} is not allowed; allowed values: {list(_FAMILIES)}"
            )
        check_name(name)
        mbv3 = family == "mbv3"
        self.family = family
        self.width_mult = check_real("width_mult", width_mult, low=0, low_open=True)
        self.ks_list = tuple(sorted(check_choice_list("ks_list", ks_list, low=1, odd=True)))
        self.expand_ratio_list = tuple(
            sorted(check_choice_list("expand_ratio_list", expand_ratio_list, low=1))
        )
        self.depth_list = tuple(sorted(check_choice_list("depth_list", depth_list, low=1)))
        self.n_classes = check_int("n_classes", n_classes, low=1)
        self.dropout_rate = check_real("dropout_rate", dropout_rate, low=0, high=1, high_open=True)
        if base_stage_width is None:
            base_stage_width = (
                [16, 16, 24, 40, 80, 112, 160, 960, 1280]
                if mbv3
                else [32, 16, 24, 40, 80, 96, 192, 320, 1280]
            )
        self.base_stage_width = check_choice_list(
            "base_stage_width", base_stage_width, low=1, length=9, distinct=False
        )
        if stride_stages is None:
            stride_stages = [1, 2, 2, 2, 1, 2] if mbv3 else [2, 2, 2, 1, 2, 1]
        if act_stages is None:
            act_stages = (
                ["relu", "relu", "relu", "h_swish", "h_swish", "h_swish"] if mbv3 else ["relu6"] * 6
            )
        if se_stages is None:
            se_stages = [False, False, True, False, True, True] if mbv3 else [False] * 6
        self.stride_stages = check_options("stride_stages", stride_stages, (1, 2), length=6)
        self.act_stages = check_options("act_stages", act_stages, _ACTS, length=6)
        self.se_stages = check_options("se_stages", se_stages, (False, True), length=6)
        self.image_size_list = tuple(sorted(check_choice_list("image_sizes", image_sizes, low=1)))
        self.bn_eps = 1e-5 if mbv3 else 1e-3
        self._setup_widths()
        self.name = name or self._default_name()
        self._setup_genes()

    # ---------------------------------------------------------------- setup
    def _default_name(self) -> str:
        return f"ofa_{self.family}_w{self.width_mult:g}"

    def get_config(self) -> dict:
        return {
            "family": self.family,
            "width_mult": self.width_mult,
            "ks_list": list(self.ks_list),
            "expand_ratio_list": list(self.expand_ratio_list),
            "depth_list": list(self.depth_list),
            "image_sizes": list(self.image_size_list),
            "base_stage_width": list(self.base_stage_width),
            "stride_stages": list(self.stride_stages),
            "act_stages": list(self.act_stages),
            "se_stages": list(self.se_stages),
            "n_classes": self.n_classes,
            "dropout_rate": self.dropout_rate,
            "name": self.name,
        }

    def _setup_widths(self) -> None:
        w = self.width_mult
        bsw = self.base_stage_width
        if self.family == "mbv3":
            if len(bsw) != 9 or len(self.stride_stages) != 6:
                raise ValueError("mbv3 base_stage_width needs 9 entries and stride_stages 6")
            self.first_conv_width = make_divisible(bsw[0] * w)
            self.first_block_width = make_divisible(bsw[1] * w)
            self.stage_widths = [make_divisible(b * w) for b in bsw[2:-2]]
            self.final_expand_width = make_divisible(bsw[-2] * w)
            self.last_channel = make_divisible(bsw[-1] * w)
            self.first_block_stride = self.stride_stages[0]
            self.first_block_act = self.act_stages[0]
            self.first_block_se = self.se_stages[0]
            self.stage_strides = list(self.stride_stages[1:])
            self.stage_acts = list(self.act_stages[1:])
            self.stage_se = list(self.se_stages[1:])
            self.n_elastic_stages = len(self.stage_widths)
            self.stage_max_depth = [max(self.depth_list)] * self.n_elastic_stages
            self.first_act = "h_swish"
        else:
            if len(bsw) != 9 or len(self.stride_stages) != 6:
                raise ValueError("proxyless base_stage_width needs 9 entries and stride_stages 6")
            self.first_conv_width = make_divisible(bsw[0] * w)
            self.first_block_width = make_divisible(bsw[1] * w)
            self.stage_widths = [make_divisible(b * w) for b in bsw[2:-1]]
            self.last_channel = make_divisible(bsw[-1] * w) if w > 1.0 else bsw[-1]
            self.final_expand_width = None
            self.first_block_stride = 1
            self.first_block_act = self.act_stages[0]
            self.first_block_se = False
            self.stage_strides = list(self.stride_stages)
            self.stage_acts = list(self.act_stages)
            self.stage_se = list(self.se_stages)
            self.n_elastic_stages = len(self.stage_widths) - 1
            self.stage_max_depth = [max(self.depth_list)] * self.n_elastic_stages + [1]
            self.first_act = "relu6"

    def _setup_genes(self) -> None:
        n_stages = len(self.stage_widths)
        n_slots = sum(self.stage_max_depth)
        self.arch_keys = ("ks", "e", "d", "image_size")
        self.value_kind = {"ks": "int", "e": "int", "d": "int", "image_size": "int"}
        genes = [Gene("ks", i, self.ks_list) for i in range(n_slots)]
        genes += [Gene("e", i, self.expand_ratio_list) for i in range(n_slots)]
        for s in range(n_stages):
            choices = self.depth_list if s < self.n_elastic_stages else (1,)
            genes.append(Gene("d", s, choices))
        genes.append(Gene("image_size", None, self.image_size_list))
        self.genes = genes
        self.slot_keys = ("ks", "e")
        self.slot_stage = [s for s in range(n_stages) for _ in range(self.stage_max_depth[s])]
        self.slot_pos = [p for s in range(n_stages) for p in range(self.stage_max_depth[s])]
        self.stage_depth_key = "d"
        self.stage_depth_pos = list(range(n_stages))
        self.stage_base_depth = [0] * n_stages
        # static per-slot facts: input/output channels, stride, act, se
        self.slot_info = []
        cin = self.first_block_width
        for s in range(n_stages):
            for p in range(self.stage_max_depth[s]):
                stride = self.stage_strides[s] if p == 0 else 1
                cout = self.stage_widths[s]
                self.slot_info.append(
                    dict(
                        cin=cin,
                        cout=cout,
                        stride=stride,
                        act=self.stage_acts[s],
                        se=self.stage_se[s],
                    )
                )
                cin = cout
        self.finish_setup()

    # ------------------------------------------------------------ block walk
    def _feature_sizes(self, r: int) -> tuple[int, list[int], int]:
        """Spatial size after the first conv, at the input of every slot, and at the end."""
        f = (r + 1) // 2
        f0 = (f - 1) // self.first_block_stride + 1
        sizes = []
        cur = f0
        for info in self.slot_info:
            sizes.append(cur)
            cur = (cur - 1) // info["stride"] + 1
        # the last spatial size assumes every stage present, which holds: a stage
        # always keeps its first (strided) block
        return f, sizes, cur

    def _mbconv(self, fin, cin, cout, k, stride, e, mid, act, se) -> Block:
        fout = (fin - 1) // stride + 1
        return Block(
            "mbconv",
            "expanded_conv",
            (fin, fin, cin),
            (fout, fout, cout),
            kernel_size=k,
            stride=stride,
            mid_channels=mid,
            expand_ratio=e,
            identity=(stride == 1 and cin == cout),
            se=se,
            act=act,
            key_style=self.family,
        )

    def build_units(self) -> list[Unit]:
        r_col = int(self.key_columns["image_size"][0])
        ks_cols = self.key_columns["ks"]
        e_cols = self.key_columns["e"]
        style = self.family
        units: list[Unit] = []

        def first_conv(v):
            (r,) = v
            f = (r + 1) // 2
            return Block(
                "conv",
                "Conv",
                (r, r, 3),
                (f, f, self.first_conv_width),
                kernel_size=3,
                stride=2,
                act=self.first_act,
                key_style=style,
            )

        def first_block(v):
            (r,) = v
            f = (r + 1) // 2
            c0, c1 = self.first_conv_width, self.first_block_width
            return self._mbconv(
                f,
                c0,
                c1,
                3,
                self.first_block_stride,
                1,
                c0,
                self.first_block_act,
                self.first_block_se,
            )

        units.append(Unit("first_conv", (r_col,), first_conv))
        units.append(Unit("first_block", (r_col,), first_block))

        def slot_unit(i):
            info = self.slot_info[i]

            def build(v):
                r, k, e = v
                if k is None:
                    return None
                fin = self._feature_sizes(r)[1][i]
                mid = make_divisible(round(info["cin"] * e))
                return self._mbconv(
                    fin,
                    info["cin"],
                    info["cout"],
                    k,
                    info["stride"],
                    e,
                    mid,
                    info["act"],
                    info["se"],
                )

            return Unit(f"block{i}", (r_col, int(ks_cols[i]), int(e_cols[i])), build)

        units += [slot_unit(i) for i in range(self.n_slots)]
        cl = self.stage_widths[-1]
        if self.family == "mbv3":
            fe, lc = self.final_expand_width, self.last_channel

            def final_expand(v):
                f = self._feature_sizes(v[0])[2]
                return Block(
                    "conv", "Conv_1", (f, f, cl), (f, f, fe), act="h_swish", key_style=style
                )

            def pool(v):
                f = self._feature_sizes(v[0])[2]
                return Block(
                    "avgpool", "AvgPool2D", (f, f, fe), (1, 1, fe), use_bn=False, key_style=style
                )

            units.append(Unit("final_expand_layer", (r_col,), final_expand))
            units.append(Unit("global_avg_pool", (r_col,), pool))
            units.append(
                Unit(
                    "feature_mix_layer",
                    (),
                    lambda v: Block(
                        "conv",
                        "Conv_2",
                        (1, 1, fe),
                        (1, 1, lc),
                        act="h_swish",
                        use_bn=False,
                        key_style=style,
                    ),
                )
            )
            units.append(
                Unit(
                    "classifier",
                    (),
                    lambda v: Block(
                        "linear",
                        "Logits",
                        (1, 1, lc),
                        (self.n_classes,),
                        use_bn=False,
                        bias=True,
                        key_style=style,
                    ),
                )
            )
        else:
            lc = self.last_channel

            def feature_mix(v):
                f = self._feature_sizes(v[0])[2]
                return Block("conv", "Conv_1", (f, f, cl), (f, f, lc), act="relu6", key_style=style)

            def logits(v):
                f = self._feature_sizes(v[0])[2]
                return Block(
                    "avgpool_linear",
                    "Logits",
                    (f, f, lc),
                    (self.n_classes,),
                    use_bn=False,
                    bias=True,
                    key_style=style,
                )

            units.append(Unit("feature_mix_layer", (r_col,), feature_mix))
            units.append(Unit("classifier", (r_col,), logits))
        return units

    # -------------------------------------------------------------- net.config
    def _mbconv_config(self, b: Block, with_groups: bool = False) -> dict:
        cfg = {
            "name": "MBConvLayer",
            "in_channels": b.in_channels,
            "out_channels": b.out_channels,
            "kernel_size": b.kernel_size,
            "stride": b.stride,
            "expand_ratio": b.expand_ratio,
            "mid_channels": b.mid_channels,
            "act_func": b.act,
            "use_se": b.se,
        }
        if with_groups:
            cfg["groups"] = None
        return cfg

    def net_config(self, arch: Any) -> dict:
        """OFA's ``net.config`` of the static subnet (as ``get_active_net_config`` writes it).

        Parameters
        ----------
        arch : dict
            An arch of this space (validated).

        Returns
        -------
        dict
            The ``net.config``, loadable by :func:`~sklearn_ofa.nets.build_net`.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> cfg = space.net_config(space.sample(1, random_state=0)[0])
        >>> cfg["name"], cfg["first_conv"]["out_channels"]
        ('MobileNetV3', 24)
        """
        blocks = self.blocks(arch)
        first = blocks[0]
        mb = [b for b in blocks if b.op == "mbconv"]
        block_cfgs = []
        for i, b in enumerate(mb):
            block_cfgs.append(
                {
                    "name": "ResidualBlock",
                    "conv": self._mbconv_config(b, with_groups=(i == 0)),
                    "shortcut": _identity_config(b.in_channels) if b.identity else None,
                }
            )
        cfg: dict = {
            "name": "MobileNetV3" if self.family == "mbv3" else "ProxylessNASNets",
            "bn": {"momentum": 0.1, "eps": self.bn_eps, "ws_eps": None},
            "first_conv": _conv_config(3, first.out_channels, 3, 2, first.act),
            "blocks": block_cfgs,
        }
        classifier = {
            "name": "LinearLayer",
            "in_features": self.last_channel,
            "out_features": self.n_classes,
            "bias": True,
            "use_bn": False,
            "act_func": None,
            "dropout_rate": self.dropout_rate,
            "ops_order": "weight_bn_act",
        }
        if self.family == "mbv3":
            cfg["final_expand_layer"] = _conv_config(
                self.stage_widths[-1], self.final_expand_width, 1, 1, "h_swish"
            )
            cfg["feature_mix_layer"] = _conv_config(
                self.final_expand_width, self.last_channel, 1, 1, "h_swish", use_bn=False
            )
        else:
            cfg["feature_mix_layer"] = _conv_config(
                self.stage_widths[-1], self.last_channel, 1, 1, "relu6"
            )
        cfg["classifier"] = classifier
        return cfg

    def from_net_config(self, config: dict, image_size: int) -> dict:
        """Parse an OFA ``net.config`` (either OFA layout) back into an arch of this space.

        Parameters
        ----------
        config : dict
            An OFA ``net.config``.
        image_size : int
            Input resolution of the subnet (``net.config`` does not record it).

        Returns
        -------
        dict
            The arch, validated.

        Raises
        ------
        NetConfigError
            ``config`` is malformed or not a subnet of this space.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> space = get_space("ofa_mbv3_w1.2")
        >>> arch = space.sample(1, random_state=3)[0]
        >>> back = space.from_net_config(space.net_config(arch), arch["image_size"])
        >>> bool((space.to_codes([back]) == space.to_codes([arch])).all())
        True
        """
        if not isinstance(config, dict) or "blocks" not in config or "first_conv" not in config:
            raise self._not_in_space("expected a dict with 'first_conv' and 'blocks'")
        want = "MobileNetV3" if self.family == "mbv3" else "ProxylessNASNets"
        if config.get("name") != want:
            raise self._not_in_space(f"name is {config.get('name')!r}, expected {want!r}")
        fc = config["first_conv"].get("out_channels")
        if fc != self.first_conv_width:
            raise self._not_in_space(
                f"first_conv out_channels is {fc}, expected {self.first_conv_width}"
            )
        convs = []
        for i, blk in enumerate(config["blocks"]):
            conv = blk.get("conv", blk.get("mobile_inverted_conv"))
            if conv is None or conv.get("name") == "ZeroLayer":
                raise self._not_in_space(f"blocks[{i}] is a zero (skipped) layer")
            convs.append(conv)
        if not convs or convs[0]["out_channels"] != self.first_block_width:
            raise self._not_in_space(f"first block should output {self.first_block_width} channels")
        ks = [self.ks_list[0]] * self.n_slots
        es = [self.expand_ratio_list[0]] * self.n_slots
        depth = []
        pos = 1
        slot = 0
        for s, width in enumerate(self.stage_widths):
            n = 0
            while pos < len(convs) and convs[pos]["out_channels"] == width:
                if n >= self.stage_max_depth[s]:
                    raise self._not_in_space(
                        f"stage {s} has more than {self.stage_max_depth[s]} blocks"
                    )
                conv = convs[pos]
                e = conv.get("expand_ratio")
                if conv.get("mid_channels") and conv.get("in_channels"):
                    e_mid = conv["mid_channels"] / conv["in_channels"]
                    if e is None or abs(e_mid - e) > 0.5:
                        e = e_mid
                ks[slot + n] = conv["kernel_size"]
                es[slot + n] = int(round(e))
                n += 1
                pos += 1
            depth.append(n)
            slot += self.stage_max_depth[s]
        if pos != len(convs):
            raise self._not_in_space(
                f"blocks[{pos}] outputs {convs[pos]['out_channels']} channels, which no stage of "
                f"this space has (stage widths {self.stage_widths})"
            )
        arch = {
            "ks": ks,
            "e": es,
            "d": depth,
            "image_size": check_int("image_size", image_size, low=1),
        }
        try:
            return self.validate(arch, where="net.config arch")
        except (ValueError, TypeError) as exc:
            raise self._not_in_space(str(exc)) from None
