"""How close the package comes to OFA's own numbers, on OFA's released files.

- OFA's pretrained MobileNetV3 w1.2 accuracy predictor loaded with
  ``load_ofa_predictor``: maximum absolute difference to the predictions OFA's
  tutorial made for the parity records (``ofa_reference/parity/mbv3_w1.2.json``);
- ``load_ofa_supernet`` on the randomised w1.2 checkpoint: maximum relative
  difference (max |diff| / max |OFA|) of the logits to OFA's
  ``get_active_subnet(preserve_weight=True)`` logits, with OFA's kernel
  transformation matrices and with the plain centre crop (identity matrices);
- OFA's released w1.2 specialized nets (``ofa_reference/specialized``): the
  predictor's top-1 for each ``net.config`` against the top-1 in its name.

Run (about a minute)::

    python benchmarks/bench_parity.py

Writes ``benchmarks/results/parity.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

from sklearn_ofa import load_ofa_predictor  # noqa: E402
from sklearn_ofa.exceptions import NetConfigError  # noqa: E402
from sklearn_ofa.metrics import kendall_tau  # noqa: E402
from sklearn_ofa.nets import OFASupernet  # noqa: E402
from sklearn_ofa.spaces import get_space  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "ofa_reference"


def logits_error(net, record) -> float:
    gen = torch.Generator().manual_seed(record["input_seed"])
    x = torch.randn(record["input_shape"], generator=gen)
    with torch.no_grad():
        y = net(x)
    ref = torch.tensor(record["logits"])
    return float((y - ref).abs().max() / ref.abs().max())


def specialized() -> list[dict]:
    """Predicted vs named top-1 of the w1.2 specialized nets (other spaces skipped)."""
    sizes = range(128, 264, 4)
    space = get_space("ofa_mbv3_w1.2", image_sizes=sizes)
    pipe = load_ofa_predictor(
        REFERENCE / "predictors" / "acc_predictor.pth", space, clip_image_sizes=True
    )
    rows = []
    for d in sorted((REFERENCE / "specialized").iterdir()):
        cfg = json.loads((d / "net.config").read_text())
        size = json.loads((d / "run.config").read_text())["image_size"]
        try:
            arch = space.from_net_config(cfg, size)
        except NetConfigError:
            continue  # a net of another space (w1.0, ProxylessNAS)
        named = float(d.name.split("top1-")[1].split("_")[0]) / 100
        rows.append(
            {
                "name": d.name,
                "image_size": size,
                "named": named,
                "predicted": float(pipe.predict([arch])[0]),
            }
        )
    return rows


def main() -> None:
    torch.set_num_threads(1)
    records = json.loads((REFERENCE / "parity" / "mbv3_w1.2.json").read_text())["records"]
    pipe = load_ofa_predictor(REFERENCE / "predictors" / "acc_predictor.pth", "ofa_mbv3_w1.2")
    pred = pipe.predict([r["arch"] for r in records])
    expected = np.array([r["tutorial_pred_acc"] for r in records])
    out = {
        "predictor_records": len(records),
        "predictor_max_abs_diff": float(np.max(np.abs(pred - expected))),
    }
    fixture = REFERENCE / "supernet_fixture"
    subnets = json.loads((fixture / "subnets_seed0.json").read_text())
    state = torch.load(fixture / "ofa_mbv3_w1.2_random_supernet.pth", weights_only=True)
    state = state["state_dict"]
    crop = {k: (torch.eye(v.shape[0]) if k.endswith("_matrix") else v) for k, v in state.items()}
    for name, weights in (("transformed", state), ("crop", crop)):
        net = OFASupernet(weights)
        errors = [logits_error(net.subnet(r["arch"]), r) for r in subnets]
        out[f"logits_rel_error_{name}"] = errors
        print(f"{name}: max relative logits error {max(errors):.2e} over {len(errors)} subnets")
    out["specialized"] = rows = specialized()
    pred, named = (np.array([r[k] for r in rows]) for k in ("predicted", "named"))
    out["specialized_kendall_tau"] = kendall_tau(named, pred)
    print(
        f"specialized: {len(rows)} nets, predicted - named {100 * np.mean(pred - named):.2f} "
        f"points, Kendall tau {out['specialized_kendall_tau']:.2f}"
    )
    print(f"predictor: max abs diff {out['predictor_max_abs_diff']:.1e} on {len(records)} archs")
    print("wrote", save("parity", out))


if __name__ == "__main__":
    main()
