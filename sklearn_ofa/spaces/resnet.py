"""OFA's ResNet50 search space (``OFAResNets``)."""

from __future__ import annotations

from typing import Any, Sequence

from .._checks import check_choice_list, check_int, check_name
from ._base import Gene, SearchSpace, Unit
from ._blocks import Block, make_divisible

__all__ = ["ResNetSpace"]


def _stem_conv_config(cin, cout, stride):
    return {
        "name": "ConvLayer",
        "in_channels": cin,
        "out_channels": cout,
        "kernel_size": 3,
        "stride": stride,
        "dilation": 1,
        "use_bn": True,
        "act_func": "relu",
    }


class ResNetSpace(SearchSpace):
    """OFA's elastic ResNet50: depth per stage, input-stem skip, expand ratio per block, width.

    Arch keys: ``d`` (5 entries: the input stem, 0 or 2, then one of
    ``depth_list`` per stage), ``e`` (one expand ratio per block slot), ``w``
    (6 width indices: stem middle, stem output, then one per stage) and
    ``image_size``.

    Parameters
    ----------
    depth_list : sequence of int
        Extra blocks per stage on top of ``base_depth_list``.
    expand_ratio_list : sequence of float
        Bottleneck expand-ratio choices of every block.
    width_mult_list : sequence of float
        Width-multiplier choices of the stem and of every block's middle width.
    image_sizes : sequence of int
        Input resolutions.
    base_depth_list : sequence of int
        Blocks per stage at depth choice 0.
    stage_width_list : sequence of int
        Output channels of each stage.
    n_classes : int
        Classifier outputs.
    name : str, optional
        Registry name (``"ofa_resnet50"``-style; derived by default).

    Examples
    --------
    >>> space = ResNetSpace()
    >>> space.n_slots, space.n_genes
    (18, 30)
    """

    def __init__(
        self,
        depth_list: Sequence[int] = (0, 1, 2),
        expand_ratio_list: Sequence[float] = (0.2, 0.25, 0.35),
        width_mult_list: Sequence[float] = (0.65, 0.8, 1.0),
        image_sizes: Sequence[int] = (128, 144, 160, 176, 192, 224, 240, 256),
        base_depth_list: Sequence[int] = (2, 2, 4, 2),
        stage_width_list: Sequence[int] = (256, 512, 1024, 2048),
        n_classes: int = 1000,
        name: str | None = None,
    ):
        check_name(name)
        self.depth_list = tuple(sorted(check_choice_list("depth_list", depth_list, low=0)))
        self.expand_ratio_list = tuple(
            sorted(
                check_choice_list(
                    "expand_ratio_list", expand_ratio_list, kind="real", low=0, low_open=True
                )
            )
        )
        self.width_mult_list = check_choice_list(
            "width_mult_list", width_mult_list, kind="real", low=0, low_open=True
        )
        self.image_size_list = tuple(sorted(check_choice_list("image_sizes", image_sizes, low=1)))
        self.base_depth_list = check_choice_list(
            "base_depth_list", base_depth_list, low=1, distinct=False
        )
        self.stage_width_list = check_choice_list(
            "stage_width_list", stage_width_list, low=1, distinct=False
        )
        self.n_classes = check_int("n_classes", n_classes, low=1)
        self.name = name or "ofa_resnet50"
        self.bn_eps = 1e-5
        if len(self.base_depth_list) != len(self.stage_width_list):
            raise ValueError("base_depth_list and stage_width_list must have the same length")
        self.input_channel = [make_divisible(64 * w) for w in self.width_mult_list]
        self.mid_input_channel = [make_divisible(c // 2) for c in self.input_channel]
        self.stage_widths = [
            [make_divisible(width * w) for w in self.width_mult_list]
            for width in self.stage_width_list
        ]
        self.stride_list = [1, 2, 2, 2][: len(self.stage_width_list)] + [2] * max(
            0, len(self.stage_width_list) - 4
        )
        self._setup_genes()

    def get_config(self) -> dict:
        return {
            "depth_list": list(self.depth_list),
            "expand_ratio_list": list(self.expand_ratio_list),
            "width_mult_list": list(self.width_mult_list),
            "image_sizes": list(self.image_size_list),
            "base_depth_list": list(self.base_depth_list),
            "stage_width_list": list(self.stage_width_list),
            "n_classes": self.n_classes,
            "name": self.name,
        }

    def _setup_genes(self) -> None:
        n_stages = len(self.base_depth_list)
        max_d = max(self.depth_list)
        stage_slots = [b + max_d for b in self.base_depth_list]
        n_slots = sum(stage_slots)
        widx = tuple(range(len(self.width_mult_list)))
        self.arch_keys = ("d", "e", "w", "image_size")
        self.value_kind = {"d": "int", "e": "float", "w": "int", "image_size": "int"}
        genes = [Gene("d", 0, (0, max_d))]
        genes += [Gene("d", s + 1, self.depth_list) for s in range(n_stages)]
        genes += [Gene("e", i, self.expand_ratio_list) for i in range(n_slots)]
        genes += [Gene("w", i, widx) for i in range(n_stages + 2)]
        genes.append(Gene("image_size", None, self.image_size_list))
        self.genes = genes
        self.slot_keys = ("e",)
        self.slot_stage = [s for s in range(n_stages) for _ in range(stage_slots[s])]
        self.slot_pos = [p for s in range(n_stages) for p in range(stage_slots[s])]
        self.stage_depth_key = "d"
        self.stage_depth_pos = [s + 1 for s in range(n_stages)]
        self.stage_base_depth = list(self.base_depth_list)
        self.finish_setup()

    # ------------------------------------------------------------ block walk
    def _sizes(self, r: int) -> tuple[int, int, list[int]]:
        """Spatial size after the stem conv, after max pooling, and at each slot's input."""
        f1 = (r - 1) // 2 + 1
        f2 = (f1 - 1) // 2 + 1
        sizes = []
        cur = f2
        for s, p in zip(self.slot_stage, self.slot_pos):
            sizes.append(cur)
            if p == 0:
                cur = (cur - 1) // self.stride_list[s] + 1
        return f1, f2, sizes + [cur]

    def build_units(self) -> list[Unit]:
        col = self.key_columns
        r_c = int(col["image_size"][0])
        d_c = col["d"]
        e_c = col["e"]
        w_c = col["w"]
        units: list[Unit] = []

        def stem0(v):
            r, w0 = v
            f1 = self._sizes(r)[0]
            c = self.mid_input_channel[wl_index(w0)]
            return Block(
                "conv",
                "stem_conv",
                (r, r, 3),
                (f1, f1, c),
                kernel_size=3,
                stride=2,
                act="relu",
                key_style="resnet",
            )

        def wl_index(w):
            return int(w)

        def stem1(v):
            r, w0, d0 = v
            if d0 != max(self.depth_list):
                return None
            f1 = self._sizes(r)[0]
            c = self.mid_input_channel[wl_index(w0)]
            return Block(
                "residual_conv",
                "stem_residual_conv",
                (f1, f1, c),
                (f1, f1, c),
                kernel_size=3,
                stride=1,
                identity=True,
                act="relu",
                key_style="resnet",
            )

        def stem2(v):
            r, w0, w1 = v
            f1 = self._sizes(r)[0]
            cin = self.mid_input_channel[wl_index(w0)]
            cout = self.input_channel[wl_index(w1)]
            return Block(
                "conv",
                "stem_conv",
                (f1, f1, cin),
                (f1, f1, cout),
                kernel_size=3,
                stride=1,
                act="relu",
                key_style="resnet",
            )

        def maxpool(v):
            r, w1 = v
            f1, f2, _ = self._sizes(r)
            c = self.input_channel[wl_index(w1)]
            return Block(
                "maxpool",
                "max_pool",
                (f1, f1, c),
                (f2, f2, c),
                kernel_size=3,
                stride=2,
                use_bn=False,
                key_style="resnet",
            )

        units.append(Unit("input_stem0", (r_c, int(w_c[0])), stem0))
        units.append(Unit("input_stem1", (r_c, int(w_c[0]), int(d_c[0])), stem1))
        units.append(Unit("input_stem2", (r_c, int(w_c[0]), int(w_c[1])), stem2))
        units.append(Unit("max_pooling", (r_c, int(w_c[1])), maxpool))

        def slot_unit(i):
            s = int(self.slot_stage[i])
            p = int(self.slot_pos[i])
            stride = self.stride_list[s] if p == 0 else 1
            out_col = int(w_c[s + 2])
            if p == 0:
                in_col = int(w_c[1]) if s == 0 else int(w_c[s + 1])
                in_widths = self.input_channel if s == 0 else self.stage_widths[s - 1]
                columns = (r_c, int(e_c[i]), out_col, in_col)
            else:
                in_widths = self.stage_widths[s]
                columns = (r_c, int(e_c[i]), out_col)

            def build(v):
                r, e, wout = v[0], v[1], v[2]
                if e is None:
                    return None
                win = v[3] if p == 0 else wout
                cin = in_widths[wl_index(win)]
                cout = self.stage_widths[s][wl_index(wout)]
                fin = self._sizes(r)[2][i]
                fout = (fin - 1) // stride + 1
                mid = make_divisible(round(cout * e))
                return Block(
                    "bottleneck",
                    "bottleneck",
                    (fin, fin, cin),
                    (fout, fout, cout),
                    kernel_size=3,
                    stride=stride,
                    mid_channels=mid,
                    expand_ratio=e,
                    identity=(stride == 1 and cin == cout),
                    act="relu",
                    key_style="resnet",
                )

            return Unit(f"block{i}", columns, build)

        units += [slot_unit(i) for i in range(self.n_slots)]
        last_w = int(w_c[len(self.stage_widths) + 1])

        def head(v):
            r, w = v
            f = self._sizes(r)[2][-1]
            c = self.stage_widths[-1][wl_index(w)]
            return Block(
                "avgpool_linear",
                "classifier",
                (f, f, c),
                (self.n_classes,),
                use_bn=False,
                bias=True,
                key_style="resnet",
            )

        units.append(Unit("classifier", (r_c, last_w), head))
        return units

    def feature_prefix(self, col: int) -> str:
        """Feature-name prefix of a gene column; ``d[0]`` is the input stem's skip.

        Parameters
        ----------
        col : int
            A gene column.

        Returns
        -------
        str
            The prefix, as :meth:`SearchSpace.feature_prefix` gives it but
            ``"input_stem_d"`` for ``d[0]``.

        Examples
        --------
        >>> from sklearn_ofa.spaces import get_space
        >>> get_space("ofa_resnet50").feature_prefix(0)
        'input_stem_d'
        """
        if col == int(self.key_columns["d"][0]):
            return "input_stem_d"
        return super().feature_prefix(col)

    # -------------------------------------------------------------- net.config
    def net_config(self, arch: Any) -> dict:
        """OFA's ``net.config`` of the static subnet (``OFAResNets.get_active_net_config``).

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
        >>> space = get_space("ofa_resnet50")
        >>> cfg = space.net_config(space.sample(1, random_state=0)[0])
        >>> cfg["name"]
        'ResNets'
        """
        blocks = self.blocks(arch)
        stem = []
        for b in blocks:
            if b.name == "stem_conv":
                stem.append(_stem_conv_config(b.in_channels, b.out_channels, b.stride))
            elif b.name == "stem_residual_conv":
                stem.append(
                    {
                        "name": "ResidualBlock",
                        "conv": _stem_conv_config(b.in_channels, b.out_channels, 1),
                        "shortcut": {
                            "name": "IdentityLayer",
                            "in_channels": b.in_channels,
                            "out_channels": b.out_channels,
                            "use_bn": False,
                            "act_func": None,
                            "dropout_rate": 0,
                            "ops_order": "weight_bn_act",
                        },
                    }
                )
        block_cfgs = [
            {
                "name": "ResNetBottleneckBlock",
                "in_channels": b.in_channels,
                "out_channels": b.out_channels,
                "kernel_size": b.kernel_size,
                "stride": b.stride,
                "expand_ratio": b.expand_ratio,
                "mid_channels": b.mid_channels,
                "act_func": "relu",
                "groups": 1,
                "downsample_mode": "avgpool_conv",
            }
            for b in blocks
            if b.op == "bottleneck"
        ]
        return {
            "name": "ResNets",
            "bn": {"momentum": 0.1, "eps": self.bn_eps, "ws_eps": None},
            "input_stem": stem,
            "blocks": block_cfgs,
            "classifier": {
                "name": "LinearLayer",
                "in_features": blocks[-1].in_channels,
                "out_features": self.n_classes,
                "bias": True,
                "dropout_rate": 0,
            },
        }

    def from_net_config(self, config: dict, image_size: int) -> dict:
        """Parse an OFA ``ResNets`` net.config back into an arch of this space.

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
        >>> space = get_space("ofa_resnet50")
        >>> arch = space.sample(1, random_state=0)[0]
        >>> back = space.from_net_config(space.net_config(arch), arch["image_size"])
        >>> back["image_size"] == arch["image_size"]
        True
        """
        if not isinstance(config, dict) or config.get("name") != "ResNets":
            raise self._not_in_space("expected a dict with name 'ResNets'")
        stem = config.get("input_stem") or []
        if len(stem) not in (2, 3):
            raise self._not_in_space(f"input_stem has {len(stem)} layers, expected 2 or 3")
        d0 = max(self.depth_list) if len(stem) == 3 else 0

        def widx(channels, options, what):
            if channels not in options:
                raise self._not_in_space(f"{what} has {channels} channels, allowed {options}")
            return options.index(channels)

        w = [
            widx(stem[0]["out_channels"], self.mid_input_channel, "input_stem[0]"),
            widx(stem[-1]["out_channels"], self.input_channel, "input_stem[-1]"),
        ]
        blocks = config.get("blocks") or []
        e = [self.expand_ratio_list[0]] * self.n_slots
        d = [d0]
        pos = 0
        slot = 0
        max_d = max(self.depth_list)
        for s, base in enumerate(self.base_depth_list):
            n = 0
            first = True
            while (
                pos < len(blocks)
                and (first or blocks[pos]["stride"] == 1)
                and (first or blocks[pos]["in_channels"] == blocks[pos]["out_channels"])
            ):
                if first:
                    w.append(widx(blocks[pos]["out_channels"], self.stage_widths[s], f"stage {s}"))
                if n >= base + max_d:
                    break
                e[slot + n] = blocks[pos]["expand_ratio"]
                first = False
                n += 1
                pos += 1
            if n - base not in self.depth_list:
                raise self._not_in_space(
                    f"stage {s} has {n} blocks, allowed {[base + x for x in self.depth_list]}"
                )
            d.append(n - base)
            slot += base + max_d
        if pos != len(blocks):
            raise self._not_in_space(f"blocks[{pos}] is left over after the last stage")
        arch = {"d": d, "e": e, "w": w, "image_size": check_int("image_size", image_size, low=1)}
        try:
            return self.validate(arch, where="net.config arch")
        except (ValueError, TypeError) as exc:
            raise self._not_in_space(str(exc)) from None
