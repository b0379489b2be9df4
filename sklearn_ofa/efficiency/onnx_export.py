"""Export the blocks (and some whole subnets) of a search space as ONNX files.

A latency table for a runtime (ONNX Runtime, OpenVINO) times the same blocks
that a PyTorch table times, exported once each with static shapes. An export
folder holds one ONNX file per distinct block, optionally whole subnets for a
calibration, a ``manifest.json`` (key, input shape, MACs, checksum of every
file) and a copy of the torch-free profiler :mod:`sklearn_ofa.profile_onnx`,
so it can be copied to a device that has no PyTorch.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import profile_onnx
from .._io import atomic_output
from ..spaces import get_space

__all__ = ["export_onnx", "export_space"]

_OPSET = 17


def export_onnx(module: nn.Module, input_shape: Any, path: Any = None) -> bytes:
    """Export ``module`` (in eval mode) to ONNX with a static input shape.

    Parameters
    ----------
    module : torch.nn.Module
        The block or network.
    input_shape : sequence of int
        Full input shape, batch first (``(1, 3, 224, 224)``).
    path : path-like, optional
        Also write the model there (atomically).

    Returns
    -------
    bytes
        The serialized ONNX model (input ``"input"``, output ``"output"``, opset 17).

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_ofa.efficiency.onnx_export import export_onnx
    >>> data = export_onnx(nn.Conv2d(3, 8, 3), (1, 3, 16, 16))
    >>> data[:2] != b""
    True
    """
    x = torch.zeros(tuple(int(s) for s in input_shape))
    buf = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (x,),
                buf,
                dynamo=False,
                opset_version=_OPSET,
                input_names=["input"],
                output_names=["output"],
                do_constant_folding=True,
            )
    finally:
        module.train(was_training)
    data = buf.getvalue()
    if path is not None:
        with atomic_output(path) as tmp:
            tmp.write_bytes(data)
    return data


def _file_name(kind: str, key: str) -> str:
    return f"{kind}/{hashlib.sha1(key.encode()).hexdigest()[:20]}.onnx"


def export_space(
    space: Any,
    folder: Any,
    *,
    image_sizes: Any = None,
    n_subnets: int = 0,
    random_state: Any = 0,
    batch_size: int = 1,
    verbose: bool = False,
) -> dict:
    """Write every distinct block of ``space`` (and ``n_subnets`` random subnets) as ONNX.

    Files already written by an interrupted export are kept (each file is
    written atomically), so running it again finishes the job; the manifest
    is written last.

    Parameters
    ----------
    space : str or SearchSpace
        The search space.
    folder : path-like
        The export folder (created).
    image_sizes : list of int, optional
        Resolutions (default: the space's).
    n_subnets : int, default=0
        Random whole subnets to export too, for a calibration.
    random_state : int or numpy.random.Generator, default=0
        Seed of the subnet sample.
    batch_size : int, default=1
        Batch dimension of every input.
    verbose : bool, default=False
        A progress bar.

    Returns
    -------
    dict
        The manifest (also in ``folder/manifest.json``).

    Examples
    --------
    >>> from sklearn_ofa.efficiency.onnx_export import export_space
    >>> from sklearn_ofa.spaces import MobileNetSpace
    >>> tiny = MobileNetSpace("mbv3", base_stage_width=[8, 8, 8, 16, 16, 24, 24, 32, 64],
    ...                       depth_list=[1], ks_list=[3], expand_ratio_list=[3],
    ...                       image_sizes=[32], n_classes=10, name="tiny")
    >>> manifest = export_space(tiny, "export_tiny", n_subnets=1)
    >>> sorted({item["kind"] for item in manifest["items"]})
    ['block', 'subnet']
    """
    from ..nets import build_block, build_subnet
    from .flops_model import block_macs
    from .lut import LatencyTable

    if isinstance(n_subnets, bool) or not isinstance(n_subnets, (int, np.integer)) or n_subnets < 0:
        raise ValueError(f"n_subnets = {n_subnets!r} is not allowed; allowed values: an int >= 0")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size = {batch_size!r} is not allowed; allowed values: an int >= 1")
    table = LatencyTable(space, image_sizes=image_sizes)
    table._check_params()
    sp = table._resolve_space()
    folder = Path(folder)
    blocks = table._needed(sp, None)
    items: list[dict] = []
    for key in sorted(blocks):
        blk = blocks[key]
        h, w, c = blk.in_shape
        items.append(
            {
                "id": f"b-{hashlib.sha1(key.encode()).hexdigest()[:20]}",
                "kind": "block",
                "key": key,
                "file": _file_name("blocks", key),
                "input_shape": [int(batch_size), int(c), int(h), int(w)],
                "macs": int(block_macs(blk)),
                "_block": blk,
            }
        )
    codes = sp.sample_codes(int(n_subnets), random_state=random_state) if n_subnets else None
    if codes is not None:
        for i, arch in enumerate(sp.from_codes(codes)):
            r = int(arch["image_size"])
            ident = json.dumps(np.asarray(codes[i]).tolist())
            items.append(
                {
                    "id": f"s-{i}",
                    "kind": "subnet",
                    "codes": np.asarray(codes[i]).tolist(),
                    "image_size": r,
                    "file": _file_name("subnets", ident),
                    "input_shape": [int(batch_size), 3, r, r],
                    "_arch": arch,
                }
            )
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="exporting ONNX", unit="file", file=sys.stderr)
    torch.manual_seed(0)
    try:
        for item in items:
            path = folder / item["file"]
            if not path.exists():
                module = (
                    build_block(item.pop("_block"))
                    if item["kind"] == "block"
                    else build_subnet(sp, item["_arch"])
                )
                export_onnx(module, item["input_shape"], path)
            item.pop("_block", None)
            item.pop("_arch", None)
            item["sha256"] = profile_onnx.sha256(path)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    manifest = {
        "format": 1,
        "space": sp.get_config(),
        "batch_size": int(batch_size),
        "opset": _OPSET,
        "torch": torch.__version__,
        "items": items,
    }
    shutil.copyfile(profile_onnx.__file__, folder / "profile_onnx.py")
    with atomic_output(folder / profile_onnx.MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return manifest


def _space_of(manifest: dict) -> Any:
    return get_space(manifest["space"])
