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

from .._checks import check_int_list, is_bool
from ..encoding import ArchEncoder
from ..exceptions import ArchValueError
from ..spaces import SearchSpace, get_space
from .pipeline import AccuracyPipeline
from .predictor import AccuracyPredictor

__all__ = ["load_ofa_predictor"]

_TUTORIAL_SLOT = 16
_TUTORIAL_MIN = 112
_TUTORIAL_N_SLOTS = 8
_TUTORIAL_N_INPUTS = 128


def _check_load_args(
    path: Any, image_sizes: Any, source_image_sizes: Any, clip: Any, device: Any
) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__} {path!r}")
    for label, sizes in (("image_sizes", image_sizes), ("source_image_sizes", source_image_sizes)):
        if sizes is not None:
            check_int_list(label, sizes)
    if not is_bool(clip):
        raise TypeError(f"clip_image_sizes must be a bool, got {type(clip).__name__} {clip!r}")
    try:
        if not isinstance(device, str):
            raise TypeError
        torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(
            f"device = {device!r} is not a torch device; use e.g. 'cpu' or 'cuda'"
        ) from None


def _read_state_dict(name: str) -> dict:
    """``torch.load(name, weights_only=True)`` as a dict of finite floating tensors."""
    if not os.path.exists(name):
        raise FileNotFoundError(f"no such checkpoint file: {name!r}")
    if os.path.isdir(name):
        raise IsADirectoryError(f"{name!r} is a directory, expected a .pth checkpoint file")
    try:
        state = torch.load(name, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, EOFError, KeyError, RuntimeError...
        first = str(exc).strip().splitlines()[0][:80] if str(exc).strip() else ""
        raise ValueError(
            f"{name!r} is not a PyTorch checkpoint that torch.load(..., weights_only=True) "
            f"can read ({type(exc).__name__}{': ' + first if first else ''}); expected the "
            ".pth state dict of an OFA accuracy predictor"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(
            f"{name!r} holds a {type(state).__name__}, not a state dict; expected the .pth "
            "state dict of an OFA accuracy predictor (a dict of tensors)"
        )
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ValueError(
                f"{name!r}: entry {key!r} is a {type(value).__name__}; a state dict maps "
                "parameter names to tensors"
            )
        if not value.is_floating_point():
            raise ValueError(f"{name!r}: {key} has dtype {value.dtype}; expected float weights")
        if not bool(torch.isfinite(value).all()):
            n_bad = int((~torch.isfinite(value)).sum())
            raise ValueError(
                f"{name!r}: {key} holds {n_bad} NaN/inf value(s); the weights are corrupt"
            )
    return state


def _expect_keys(state: dict, expected: list[str], name: str, fmt: str) -> None:
    missing = [k for k in expected if k not in state]
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + (
            [f"unexpected {extra[:5]}"] if extra else []
        )
        what = "; ".join(parts)
        raise ValueError(
            f"{name!r} is not a complete {fmt} accuracy-predictor state dict: {what}; "
            f"expected keys {expected}"
        )


def _tutorial_layers(state: dict, name: str) -> tuple[list, list, float]:
    try:
        linear = sorted({int(k.split(".")[0]) for k in state})
    except ValueError:
        raise ValueError(
            f"{name!r}: keys {sorted(state)[:6]} are not those of a tutorial nn.Sequential "
            "('0.weight', '0.bias', '2.weight', ...)"
        ) from None
    expected = [f"{i}.{p}" for i in linear for p in ("weight", "bias")]
    if linear != list(range(0, 2 * len(linear), 2)) or len(linear) < 1:
        raise ValueError(
            f"{name!r}: layers {linear} are not the Linear layers 0, 2, 4, ... of a tutorial "
            "nn.Sequential (Linear, ReLU, Linear, ...)"
        )
    _expect_keys(state, expected, name, "tutorial-format")
    weights = [state[f"{i}.weight"] for i in linear]
    biases = [state[f"{i}.bias"] for i in linear[:-1]]
    last_bias = state[f"{linear[-1]}.bias"]
    if last_bias.numel() != 1:
        raise ValueError(
            f"{name!r}: {linear[-1]}.bias has shape {tuple(last_bias.shape)}; the output layer "
            "predicts one accuracy (shape (1,))"
        )
    return weights, biases, float(last_bias.reshape(-1)[0])


def _nas_layers(state: dict, name: str) -> tuple[list, list, float]:
    n = len({k.split(".")[1] for k in state if k.startswith("layers.") and k.count(".") == 3})
    expected = ["base_acc"] + [f"layers.{i}.0.{p}" for i in range(n) for p in ("weight", "bias")]
    expected.append(f"layers.{n}.weight")
    _expect_keys(state, expected, name, "ofa.nas-format")
    weights = [state[f"layers.{i}.0.weight"] for i in range(n)] + [state[f"layers.{n}.weight"]]
    biases = [state[f"layers.{i}.0.bias"] for i in range(n)]
    if state["base_acc"].numel() != 1:
        raise ValueError(
            f"{name!r}: base_acc has shape {tuple(state['base_acc'].shape)}; expected (1,)"
        )
    return weights, biases, float(state["base_acc"].reshape(-1)[0])


def _check_chain(weights: list, biases: list, name: str) -> None:
    """Shapes of an MLP: 2-D weights, matching biases, widths chaining, one output."""
    width = weights[0].shape[1] if weights[0].ndim == 2 else None
    for i, w in enumerate(weights):
        if w.ndim != 2 or w.shape[1] != width:
            raise ValueError(
                f"{name!r}: layer {i} weight has shape {tuple(w.shape)}; expected "
                f"(n_out, {width}) to follow the previous layer"
            )
        if i < len(biases) and tuple(biases[i].shape) != (w.shape[0],):
            raise ValueError(
                f"{name!r}: layer {i} bias has shape {tuple(biases[i].shape)}; expected "
                f"({w.shape[0]},)"
            )
        width = w.shape[0]
    if width != 1:
        raise ValueError(f"{name!r}: the last layer has {width} outputs; expected 1 (accuracy)")
    if len(set(w.shape[0] for w in weights[:-1])) > 1:
        raise ValueError(
            f"{name!r}: hidden layers have different widths "
            f"{[int(w.shape[0]) for w in weights[:-1]]}; expected one width"
        )


def _tutorial_columns(encoder: ArchEncoder, clip: bool) -> np.ndarray:
    space = encoder.space_
    if (
        space.slot_keys != ("ks", "e")
        or space.n_slots != 20
        or [space.genes[space.slot_columns[i][0]].choices for i in range(2)]
        != [(3, 5, 7), (3, 4, 6)]
    ):
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


def _nas_columns(encoder: ArchEncoder, source: ArchEncoder, clip: bool) -> np.ndarray:
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
) -> AccuracyPipeline:
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
    AccuracyPipeline
        ``[("encoder", ArchEncoder), ("predictor", AccuracyPredictor)]``, fitted.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not a torch checkpoint (loaded with ``weights_only=True``),
        lacks the keys of either format, has NaN/inf weights, shapes that do
        not form the MLP, or a first layer whose input width differs from what
        the space's encoder produces (e.g. 200 inputs where 128 are expected);
        the message names the file.
    ArchValueError
        ``image_sizes`` outside the checkpoint's sizes (without ``clip_image_sizes``).

    Examples
    --------
    >>> from sklearn_ofa import load_ofa_predictor
    >>> pipe = load_ofa_predictor("acc_predictor.pth", "ofa_mbv3_w1.2")
    >>> pipe.predict([{"ks": [3] * 20, "e": [6] * 20, "d": [4] * 5,
    ...                "image_size": 224}])
    array([0.828...])
    """
    _check_load_args(path, image_sizes, source_image_sizes, clip_image_sizes, device)
    name = os.fspath(path)
    state = _read_state_dict(name)
    encoder = ArchEncoder(space=space, image_sizes=image_sizes).fit()
    if "0.weight" in state:  # tutorial nn.Sequential: Linear, ReLU, ...
        weights, biases, base_acc = _tutorial_layers(state, name)
        columns = _tutorial_columns(encoder, clip_image_sizes)
        n_inputs, layout = _TUTORIAL_N_INPUTS, "the tutorial layout (20 x 3 + 20 x 3 + 8)"
    elif "base_acc" in state:
        weights, biases, base_acc = _nas_layers(state, name)
        if source_image_sizes is None:
            source_image_sizes = _default_image_sizes(encoder.space_)
        source = ArchEncoder(encoder.space_, image_sizes=source_image_sizes).fit()
        columns = _nas_columns(encoder, source, clip_image_sizes)
        n_inputs = source.n_features_out_
        layout = (
            f"the arch2feature layout of space {encoder.space_.name!r} with image sizes "
            f"{list(source.space_.image_sizes)}"
        )
    else:
        raise ValueError(
            f"{name!r} is not an OFA accuracy-predictor state dict: expected keys "
            f"'0.weight' (tutorial format) or 'base_acc' (ofa.nas format), got {sorted(state)[:5]}"
        )
    if weights[0].shape[1] != n_inputs:
        raise ValueError(
            f"{name!r}: the first layer has {weights[0].shape[1]} inputs, but {layout} of space "
            f"{encoder.space_.name!r} has {n_inputs} features; this checkpoint was trained on "
            "another space or encoding (pass the right space, or source_image_sizes for an "
            "ofa.nas checkpoint)"
        )
    _check_chain(weights, biases, name)
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
    predictor.history_ = [net.history]
    predictor.base_acc_ = base_acc
    predictor.target_scale_ = 1.0
    predictor.n_features_in_ = encoder.n_features_out_
    return AccuracyPipeline([("encoder", encoder), ("predictor", predictor)])


def _default_image_sizes(space: SearchSpace) -> tuple[int, ...]:
    """The registered space's default sizes (what OFA's encoder used), else the space's own."""
    from ..spaces import list_spaces

    return get_space(space.name).image_sizes if space.name in list_spaces() else space.image_sizes
