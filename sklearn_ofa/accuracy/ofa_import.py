"""Import OFA's pretrained accuracy predictors into a fitted pipeline of this package.

Two checkpoint formats are understood:

- the *tutorial* format (``acc_predictor.pth`` of the MobileNetV3 w1.2 space): a
  plain ``nn.Sequential`` state dict (keys ``0.weight`` ... ``6.bias``) over 128
  features: 20 x 3 kernel-size one-hots, 20 x 3 expand-ratio one-hots, then 8
  image-size slots ``(r - 112) // 16`` (sizes 112..239);
- the *ofa.nas* format (e.g. ``ofa_resnet50_acc_predictor.pth``): keys
  ``layers.<i>.0.weight``, ``layers.<n>.weight`` and ``base_acc`` over OFA's
  ``arch2feature`` layout, which is this package's layout for the image sizes
  the checkpoint was trained with.

The first-layer weight columns are permuted (and spread: several package
image-size columns can read one checkpoint slot) so that the imported network
gives the checkpoint's predictions on this package's features.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from ..encoding import ArchEncoder
from ..exceptions import ArchValueError
from ..spaces import SearchSpace, get_space
from .predictor import AccuracyPredictor

__all__ = ["load_ofa_predictor"]

_TUTORIAL_SLOT = 16
_TUTORIAL_MIN = 112
_TUTORIAL_N_SLOTS = 8


def _tutorial_columns(encoder: ArchEncoder, clip: bool) -> np.ndarray:
    space = encoder.space_
    if space.slot_keys != ("ks", "e") or space.n_slots != 20 or [
        space.genes[space.slot_columns[i][0]].choices for i in range(2)
    ] != [(3, 5, 7), (3, 4, 6)]:
        raise ValueError(
            f"the tutorial checkpoint encodes MobileNetV3 archs of 20 blocks with ks in "
            f"[3, 5, 7] and e in [3, 4, 6]; space {space.name!r} does not match"
        )
    src = []
    for col, choices in zip(encoder.gene_columns_, space.n_choices[encoder.gene_columns_]):
        gene = space.genes[col]
        if gene.key == "image_size":
            for r in gene.choices:
                slot = (int(r) - _TUTORIAL_MIN) // _TUTORIAL_SLOT
                if not 0 <= slot < _TUTORIAL_N_SLOTS:
                    if not clip:
                        raise ArchValueError(
                            f"image_size = {r} is outside the checkpoint's sizes "
                            f"(112..239, in 16-pixel slots); pass image_sizes within that "
                            "range or clip_image_sizes=True to use the nearest slot"
                        )
                    slot = min(max(slot, 0), _TUTORIAL_N_SLOTS - 1)
                src.append(120 + slot)
        else:
            base = 0 if gene.key == "ks" else 60
            src.extend(base + 3 * gene.pos + np.arange(choices))
    return np.asarray(src, dtype=np.intp)


def _nas_columns(
    encoder: ArchEncoder, source_image_sizes: Sequence[int], clip: bool
) -> np.ndarray:
    source = ArchEncoder(encoder.space_, image_sizes=source_image_sizes).fit()
    index = {name: i for i, name in enumerate(source.get_feature_names_out())}
    known = np.asarray(source.space_.image_sizes)
    src = []
    for name in encoder.get_feature_names_out():
        if name.startswith("image_size_") and name not in index:
            r = int(name.rsplit("_", 1)[1])
            if not clip:
                raise ArchValueError(
                    f"image_size = {r} is not one of the checkpoint's sizes "
                    f"{known.tolist()}; pass image_sizes among them or clip_image_sizes=True "
                    "to use the nearest"
                )
            name = f"image_size_{known[np.abs(known - r).argmin()]}"
        src.append(index[name])
    return np.asarray(src, dtype=np.intp)


def load_ofa_predictor(
    path: str | os.PathLike,
    space: str | SearchSpace = "ofa_mbv3_w1.2",
    image_sizes: Sequence[int] | None = None,
    *,
    source_image_sizes: Sequence[int] | None = None,
    clip_image_sizes: bool = False,
    device: str = "cpu",
) -> Pipeline:
    """Load an OFA accuracy-predictor checkpoint as a fitted accuracy pipeline.

    Parameters
    ----------
    path : str or path-like
        The ``.pth`` state dict (tutorial or ``ofa.nas`` format, see the module notes).
    space : str or SearchSpace, default="ofa_mbv3_w1.2"
        The search space the checkpoint was trained on.
    image_sizes : sequence of int or None, default=None
        Image sizes the pipeline accepts (default: the space's).
    source_image_sizes : sequence of int or None, default=None
        ``ofa.nas`` format only: the image sizes of the checkpoint's encoder
        (default: the space's default sizes, e.g. OFA's ResNet50 list).
    clip_image_sizes : bool, default=False
        Image sizes the checkpoint never saw raise :class:`ArchValueError`;
        with ``True`` they use the nearest size it knows.
    device : str, default="cpu"
        Torch device of the loaded network.

    Returns
    -------
    Pipeline
        ``[("encoder", ArchEncoder), ("predictor", AccuracyPredictor)]``, fitted.

    Examples
    --------
    >>> from sklearn_ofa import load_ofa_predictor
    >>> pipe = load_ofa_predictor("acc_predictor.pth", "ofa_mbv3_w1.2")  # doctest: +SKIP
    >>> pipe.predict([{"ks": [3] * 20, "e": [6] * 20, "d": [4] * 5,
    ...                "image_size": 224}])  # doctest: +SKIP
    array([0.80...])
    """
    state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    encoder = ArchEncoder(space=space, image_sizes=image_sizes).fit()
    if "0.weight" in state:  # tutorial nn.Sequential: Linear, ReLU, ...
        linear = sorted({int(k.split(".")[0]) for k in state})
        weights = [state[f"{i}.weight"] for i in linear]
        biases = [state[f"{i}.bias"] for i in linear[:-1]]
        base_acc = float(state[f"{linear[-1]}.bias"].reshape(-1)[0])
        columns = _tutorial_columns(encoder, clip_image_sizes)
    elif "base_acc" in state:
        n = len({k.split(".")[1] for k in state if k.startswith("layers.") and k.count(".") == 3})
        weights = [state[f"layers.{i}.0.weight"] for i in range(n)] + [
            state[f"layers.{n}.weight"]
        ]
        biases = [state[f"layers.{i}.0.bias"] for i in range(n)]
        base_acc = float(state["base_acc"].reshape(-1)[0])
        if source_image_sizes is None:
            source_image_sizes = _default_image_sizes(encoder.space_)
        columns = _nas_columns(encoder, source_image_sizes, clip_image_sizes)
    else:
        raise ValueError(
            f"{os.fspath(path)!r} is not an OFA accuracy-predictor state dict: expected keys "
            f"'0.weight' (tutorial format) or 'base_acc' (ofa.nas format), got {sorted(state)[:5]}"
        )
    if weights[0].shape[1] <= columns.max():
        raise ValueError(
            f"checkpoint's first layer has {weights[0].shape[1]} inputs, fewer than the layout "
            f"of space {encoder.space_.name!r} needs"
        )
    hidden = int(weights[0].shape[0])
    predictor = AccuracyPredictor(
        hidden_size=hidden, n_layers=len(biases), n_ensemble=1, device=device
    )
    net = predictor._make_net(encoder.n_features_out_, seed=0, base_acc=base_acc)
    net.initialize()
    module_state = {"base_acc": torch.tensor([base_acc])}
    for i, (w, b) in enumerate(zip(weights, biases)):
        w = w[:, torch.from_numpy(columns)] if i == 0 else w
        module_state[f"layers.{2 * i}.weight"] = w.float()
        module_state[f"layers.{2 * i}.bias"] = b.float()
    module_state[f"layers.{2 * len(biases)}.weight"] = weights[-1].float()
    net.module_.load_state_dict(module_state)
    predictor.nets_ = [net]
    predictor.base_acc_ = base_acc
    predictor.n_features_in_ = encoder.n_features_out_
    return Pipeline([("encoder", encoder), ("predictor", predictor)])


def _default_image_sizes(space: SearchSpace) -> tuple[int, ...]:
    """The registered space's default sizes (what OFA's encoder used), else the space's own."""
    from ..spaces import list_spaces

    return get_space(space.name).image_sizes if space.name in list_spaces() else space.image_sizes
