#!/usr/bin/env python
"""Train the small digits supernet and build the bundled ``digits_subnets`` dataset.

Steps (each resumable; rerun the same command after an interruption):

1. train an :class:`~sklearn_ofa.nets.elastic.ElasticMobileNetV3` over the
   ``digits_mbv3`` space on 2/3 of scikit-learn's digits with the sandwich rule
   and in-place distillation (checkpoint written atomically after every epoch);
2. measure the top-1 of random subnets at several resolutions on the held-out
   third with :class:`~sklearn_ofa.accuracy.AccuracyDataset` and
   :class:`~sklearn_ofa.accuracy.SupernetEvaluator` (BatchNorm statistics
   recalibrated per subnet on training images), in OFA's folder layout;
3. export what the package ships: the compact CSV and metadata JSON (``--out``)
   and the datasheet (``<out>/../descr/digits_subnets.rst``).

Usage::

    python scripts/make_digits_subnets.py               # the shipped data (~2,400 records)
    python scripts/make_digits_subnets.py --warmup-epochs 1 --epochs 1 --n-arch 4 \
        --work-dir /tmp/x --out /tmp/x/data             # a quick trial run
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sklearn_ofa._io import atomic_output  # noqa: E402
from sklearn_ofa.nets.elastic import ElasticMobileNetV3  # noqa: E402
from sklearn_ofa.spaces import get_space  # noqa: E402

SPACE = "digits_mbv3"
DEFAULT_OUT = REPO / "sklearn_ofa" / "datasets" / "data"


# ------------------------------------------------------------------------ data
def digits_split(seed: int, test_size: float = 1 / 3):
    """Digits as float tensors in [0, 1] (N, 1, 8, 8), stratified train / held-out split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )
    return (
        torch.from_numpy(X_tr),
        torch.from_numpy(y_tr).long(),
        torch.from_numpy(X_te),
        torch.from_numpy(y_te).long(),
    )


def to_input(x8: torch.Tensor, image_size: int) -> torch.Tensor:
    """Resize 8x8 gray images to the subnet's resolution, normalise, replicate to 3 channels."""
    x = F.interpolate(x8, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return ((x - 0.3) / 0.4).expand(-1, 3, -1, -1).contiguous()


def augment(x8: torch.Tensor, gen: torch.Generator, shift: int = 1, noise: float = 0.1):
    """Random translation by up to ``shift`` pixels and Gaussian pixel noise."""
    n = len(x8)
    padded = F.pad(x8, (shift, shift, shift, shift))
    dx = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
    out = torch.stack([padded[i, :, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8] for i in range(n)])
    return out + noise * torch.randn(out.shape, generator=gen)


class ResizedLoader:
    """Re-iterable batches ``(images at image_size, labels)`` for the evaluator.

    ``image_size`` is set by the evaluator through :meth:`set_image_size` (or
    ``assign_active_img_size``, OFA's name) before it iterates.
    """

    def __init__(self, x8: torch.Tensor, y: torch.Tensor, batch_size: int, image_size: int):
        self.x8, self.y, self.batch_size, self.image_size = x8, y, batch_size, image_size

    def set_image_size(self, image_size: int) -> None:
        self.image_size = int(image_size)

    assign_active_img_size = set_image_size

    def __len__(self) -> int:
        return (len(self.y) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        for i in range(0, len(self.y), self.batch_size):
            yield (
                to_input(self.x8[i : i + self.batch_size], self.image_size),
                self.y[i : i + self.batch_size],
            )


# -------------------------------------------------------------------- training
def atomic_torch_save(obj, path: Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def atomic_write_text(text: str, path: Path) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)


TRAINING_OPTIONS = (
    "seed",
    "warmup_epochs",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "n_random",
    "kd_weight",
    "noise",
)


def training_recipe(args) -> dict:
    return {k: getattr(args, k) for k in TRAINING_OPTIONS}


def train_supernet(args, X_tr, y_tr, ckpt: Path) -> tuple[ElasticMobileNetV3, dict]:
    """Sandwich-rule training with in-place distillation; resumes from ``ckpt``."""
    torch.manual_seed(args.seed)
    net = ElasticMobileNetV3(SPACE)
    steps_per_epoch = (len(y_tr) + args.batch_size - 1) // args.batch_size
    n_epochs = args.warmup_epochs + args.epochs
    if args.optimizer == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    else:
        opt = torch.optim.SGD(
            net.parameters(),
            lr=args.lr,
            momentum=0.9,
            nesterov=True,
            weight_decay=args.weight_decay,
        )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=n_epochs * steps_per_epoch, pct_start=0.15
    )
    state = {"epoch": 0, "train_seconds": 0.0, "history": []}
    recipe = training_recipe(args)
    if ckpt.exists():
        saved = torch.load(ckpt, map_location="cpu", weights_only=False)
        net.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        state = saved["state"]
        if saved.get("recipe", recipe) != recipe:
            raise SystemExit(
                f"{ckpt} was trained with another recipe ({saved['recipe']}); "
                "use another --work-dir or the same options"
            )
        print(f"resumed training after epoch {state['epoch']}")
    space = net.space
    rng = np.random.default_rng([args.seed, 0])  # subnet sampling
    gen = torch.Generator().manual_seed(args.seed * 1000)  # batches and augmentation
    if "rng" in state:  # the random streams continue where the checkpoint left them
        rng.bit_generator.state = state["rng"]
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
    while state["epoch"] < n_epochs:
        sandwich = state["epoch"] >= args.warmup_epochs
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(y_tr), generator=gen)
        total, seen = 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x8, y = augment(X_tr[idx], gen, noise=args.noise), y_tr[idx]
            opt.zero_grad(set_to_none=True)
            net.set_max_net()
            if not sandwich:  # first the largest net alone, at random resolutions
                net.set_active_subnet(image_size=int(rng.choice(space.image_sizes)))
            logits = net(to_input(x8, net.active_image_size))
            loss = F.cross_entropy(logits, y, label_smoothing=0.1)
            loss.backward()
            soft = F.softmax(logits.detach(), dim=1)
            total += float(loss.detach()) * len(y)
            seen += len(y)
            for k in range(args.n_random + 1 if sandwich else 0):
                if k == 0:
                    net.set_min_net()
                else:
                    net.sample_active_subnet(random_state=rng)
                out = net(to_input(x8, net.active_image_size))
                kd = -(soft * F.log_softmax(out, dim=1)).sum(1).mean()
                (args.kd_weight * kd + (1 - args.kd_weight) * F.cross_entropy(out, y)).backward()
            opt.step()
            sched.step()
        state["epoch"] += 1
        state["train_seconds"] += time.perf_counter() - t0
        state["history"].append({"epoch": state["epoch"], "max_net_loss": total / seen})
        state.update(
            rng=rng.bit_generator.state, gen=gen.get_state(), torch_rng=torch.get_rng_state()
        )
        atomic_torch_save(
            {
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "state": state,
                "recipe": recipe,
            },
            ckpt,
        )
        print(
            f"epoch {state['epoch']:3d}/{n_epochs}  max-net loss {total / seen:.4f}  "
            f"({state['train_seconds']:.0f} s so far)",
            flush=True,
        )
    net.set_max_net()
    return net.eval(), state


# ------------------------------------------------------------------- building
def build_dataset(args, net, X_tr, y_tr, X_te, y_te, folder: Path):
    from sklearn_ofa.accuracy import AccuracyDataset, SupernetEvaluator

    space = net.space
    calib = ResizedLoader(
        X_tr[: args.calib_size], y_tr[: args.calib_size], args.calib_size, space.image_sizes[-1]
    )
    # a harder, fixed held-out set: each image shifted by up to 1 pixel and with pixel noise
    X_hard = augment(
        X_te,
        torch.Generator().manual_seed(args.seed + 1),
        shift=args.eval_shift,
        noise=args.eval_noise,
    )
    held_out = ResizedLoader(X_hard, y_te, args.eval_batch_size, space.image_sizes[-1])
    evaluator = SupernetEvaluator(
        net, held_out, calibration_loader=calib, device="cpu", num_threads=args.threads
    )
    dataset = AccuracyDataset(folder, space=space)
    t0 = time.perf_counter()
    dataset.build(
        evaluator,
        n_arch=args.n_arch,
        image_sizes=args.image_sizes,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        verbose=not args.no_progress,
    )
    return dataset, time.perf_counter() - t0


def export(dataset, out: Path, meta: dict) -> dict:
    """Write ``digits_subnets.csv`` (one row per (arch, image size)) and the metadata JSON."""
    X, y = dataset.load()
    rows = sorted(
        (
            (
                "-".join(map(str, a["ks"])),
                "-".join(map(str, a["e"])),
                "-".join(map(str, a["d"])),
                int(a["image_size"]),
                float(t),
            )
            for a, t in zip(X, y)
        ),
    )
    lines = [["ks", "e", "d", "image_size", "top1"]]
    lines += [[ks, e, d, r, f"{t:.6f}"] for ks, e, d, r, t in rows]
    with atomic_output(out / "digits_subnets.csv") as tmp, open(tmp, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(lines)
    top1 = np.array([r[-1] for r in rows])
    sizes = np.array([r[3] for r in rows])
    stats = {
        "n_records": len(rows),
        "n_archs": len({r[:3] for r in rows}),
        "image_sizes": sorted({r[3] for r in rows}),
        "top1_min": float(top1.min()),
        "top1_median": float(np.median(top1)),
        "top1_max": float(top1.max()),
        "top1_mean": float(top1.mean()),
        "top1_std": float(top1.std()),
        "per_image_size": {
            str(r): {"median": float(np.median(t)), "min": float(t.min()), "max": float(t.max())}
            for r, t in ((r, top1[sizes == r]) for r in np.unique(sizes))
        },
    }
    meta = {**meta, "statistics": stats}
    atomic_write_text(json.dumps(meta, indent=1) + "\n", out / "digits_subnets_meta.json")
    return meta


DATASHEET = """\
.. _digits_subnets_dataset:

Measured accuracy of subnets of a small digits supernet
-------------------------------------------------------

**Data Set Characteristics:**

:Number of Instances: {n_records} ({n_archs} distinct architectures, each at {n_sizes} input resolutions)
:Features: an architecture of the ``digits_mbv3`` search space: ``ks`` (20 kernel sizes),
    ``e`` (20 expand ratios), ``d`` (5 stage depths) and ``image_size``
:Target: top-1 accuracy on {n_held_out} held-out digits, as a fraction
:Top-1 (percent): min {min:.2f}, median {median:.2f}, max {max:.2f}, mean {mean:.2f}, std {std:.2f}
:Seed: {seed} (data split, supernet initialisation and training, subnet sampling)
:Built by: ``scripts/make_digits_subnets.py`` (rerun it to rebuild; it resumes)

Every record is a subnet of one weight-sharing supernet: its architecture, an
input resolution, and the fraction of held-out images it classifies correctly
after its BatchNorm statistics were re-estimated on training images.

Search space ``digits_mbv3``
~~~~~~~~~~~~~~~~~~~~~~~~~~~~

OFA's MobileNetV3 space made small: a 3x3 stride-2 first conv of {first_conv}
channels, a fixed first block of {first_block} channels, five elastic stages of
widths {stage_widths} (strides {stage_strides}; SE in stages {se_stages}; h-swish
from stage 3), a final expand to {final_expand} channels and a feature mix of
{last_channel}. Per block slot: kernel size in {ks_list} and expand ratio in
{e_list}; per stage: depth in {d_list}; input resolution in {image_sizes}.
Get it with ``get_space("digits_mbv3")``.

Supernet (:class:`sklearn_ofa.nets.elastic.ElasticMobileNetV3`)
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

Elastic kernel by **plain centre crop** of the 7x7 kernel (OFA additionally
learns kernel-transformation matrices; this one does not), elastic expand ratio
by taking the **first** middle channels (no importance sorting), elastic depth
by skipping the trailing blocks of a stage, elastic resolution by feeding
images of the chosen size. {n_params:,} parameters.

Training recipe
~~~~~~~~~~~~~~~

- Data: scikit-learn's ``load_digits`` (1797 8x8 images), pixels scaled to
  [0, 1], stratified split into {n_train} training and {n_held_out} held-out
  images (seed {seed}). Images are resized bilinearly to the subnet's
  resolution, normalised, and the gray channel is replicated to 3 channels.
- Augmentation: random shift by up to 1 pixel, Gaussian pixel noise
  (std {noise}).
- {warmup_epochs} epochs training only the largest subnet at random
  resolutions, then {epochs} epochs with the **sandwich rule**: per batch of
  {batch_size}, the largest subnet (cross-entropy with label smoothing 0.1),
  the smallest subnet and {n_random} random subnets at random resolutions,
  each trained with {kd_weight} x in-place distillation from the largest
  subnet's soft predictions + {ce_weight} x cross-entropy.
- Optimiser: {optimizer}, one-cycle learning rate peaking at {lr}, weight
  decay {weight_decay}.
- Training took {train_seconds:.0f} s of wall-clock time at {threads} thread(s)
  on a 2-core machine shared with other jobs (torch {torch}).

Evaluation
~~~~~~~~~~

{n_archs} distinct architectures were sampled uniformly per gene
(``AccuracyDataset.build``, seed {seed}) and each evaluated at every resolution
with ``SupernetEvaluator``: BatchNorm statistics re-estimated on {calib_size}
training images, then top-1 on the {n_held_out} held-out images, each shifted
by up to {eval_shift} pixel and with Gaussian pixel noise of std {eval_noise}
(one fixed perturbation, seed {seed_plus_1}); the perturbation spreads the
accuracies, which on clean held-out digits lie within a few points of each
other. Evaluation took {build_seconds:.0f} s of wall-clock time (last run of the build,
{n_jobs} process(es) of {threads} thread(s), on the same shared machine).

Top-1 (percent) per resolution:

{per_size_table}

Limitations
~~~~~~~~~~~

A toy task: 8x8 digits upsampled, a tiny held-out set (one image is
{one_image:.2f} points), a supernet trained for minutes. The accuracies rank
subnets of *this* supernet; they say nothing about ImageNet.
"""


def render_datasheet(meta: dict, n_params: int) -> str:
    st, rc, cfg = meta["statistics"], meta["recipe"], meta["space_config"]
    space = get_space(SPACE)
    rows = [("image size", "min", "median", "max")]
    rows += [
        (r, f"{v['min'] * 100:.2f}", f"{v['median'] * 100:.2f}", f"{v['max'] * 100:.2f}")
        for r, v in st["per_image_size"].items()
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    rule = "  ".join("=" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    table = "\n".join([rule, body[0], rule, *body[1:], rule])
    return DATASHEET.format(
        n_records=st["n_records"],
        n_archs=st["n_archs"],
        n_sizes=len(st["image_sizes"]),
        n_held_out=meta["n_held_out_images"],
        n_train=meta["n_train_images"],
        min=st["top1_min"] * 100,
        median=st["top1_median"] * 100,
        max=st["top1_max"] * 100,
        mean=st["top1_mean"] * 100,
        std=st["top1_std"] * 100,
        seed=rc["seed"],
        seed_plus_1=rc["seed"] + 1,
        first_conv=space.first_conv_width,
        first_block=space.first_block_width,
        stage_widths=space.stage_widths,
        stage_strides=tuple(space.stage_strides),
        se_stages=[i + 1 for i, se in enumerate(space.stage_se) if se],
        final_expand=space.final_expand_width,
        last_channel=space.last_channel,
        ks_list=cfg["ks_list"],
        e_list=cfg["expand_ratio_list"],
        d_list=cfg["depth_list"],
        image_sizes=cfg["image_sizes"],
        n_params=n_params,
        noise=rc["noise"],
        warmup_epochs=rc["warmup_epochs"],
        epochs=rc["epochs"],
        batch_size=rc["batch_size"],
        n_random=rc["n_random"],
        kd_weight=rc["kd_weight"],
        ce_weight=round(1 - rc["kd_weight"], 3),
        optimizer="SGD with Nesterov momentum 0.9" if rc["optimizer"] == "sgd" else "AdamW",
        lr=rc["lr"],
        weight_decay=rc["weight_decay"],
        train_seconds=meta["train_seconds"],
        threads=rc["threads"],
        torch=meta["machine"]["torch"],
        calib_size=rc["calib_size"],
        eval_shift=rc["eval_shift"],
        eval_noise=rc["eval_noise"],
        build_seconds=meta["build_seconds_last_run"],
        n_jobs=rc["n_jobs"],
        per_size_table=table,
        one_image=100 / meta["n_held_out_images"],
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--work-dir", type=Path, default=REPO / "build" / "digits_subnets")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the CSV and JSON go")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--warmup-epochs",
        type=int,
        default=15,
        help="epochs training only the largest net (at random resolutions)",
    )
    p.add_argument("--epochs", type=int, default=40, help="sandwich-rule epochs after the warm-up")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-5)
    p.add_argument(
        "--n-random", type=int, default=2, help="random subnets per step besides max/min"
    )
    p.add_argument("--kd-weight", type=float, default=0.5)
    p.add_argument("--noise", type=float, default=0.05, help="Gaussian pixel noise of augmentation")
    p.add_argument("--n-arch", type=int, default=400, help="distinct archs (each at every size)")
    p.add_argument(
        "--image-sizes",
        type=int,
        nargs="+",
        default=None,
        help="resolutions evaluated (default: all of the space)",
    )
    p.add_argument(
        "--calib-size",
        type=int,
        default=1198,
        help="training images for BN statistics (default: all of them)",
    )
    p.add_argument(
        "--eval-shift", type=int, default=1, help="max shift (pixels) of held-out images"
    )
    p.add_argument("--eval-noise", type=float, default=0.1, help="pixel noise of held-out images")
    p.add_argument("--eval-batch-size", type=int, default=600)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--train-only", action="store_true")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    space = get_space(SPACE)
    if args.image_sizes is None:
        args.image_sizes = list(space.image_sizes)

    X_tr, y_tr, X_te, y_te = digits_split(args.seed)
    net, state = train_supernet(args, X_tr, y_tr, args.work_dir / "supernet.pt")
    if args.train_only:
        return 0
    dataset, build_seconds = build_dataset(
        args, net, X_tr, y_tr, X_te, y_te, args.work_dir / "ofa_format"
    )
    meta = {
        "space": SPACE,
        "space_config": space.get_config(),
        "recipe": {
            k: (v if not isinstance(v, Path) else str(v))
            for k, v in vars(args).items()
            if k not in ("work_dir", "out", "train_only", "no_progress")
        },
        "n_train_images": len(y_tr),
        "n_held_out_images": len(y_te),
        "train_seconds": round(state["train_seconds"], 1),
        "build_seconds_last_run": round(build_seconds, 1),
        "history": state["history"],
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
            "threads": args.threads,
            "n_jobs": args.n_jobs,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    meta = export(dataset, args.out, meta)
    descr = args.out.parent / "descr" / "digits_subnets.rst"
    atomic_write_text(render_datasheet(meta, sum(p.numel() for p in net.parameters())), descr)
    print(json.dumps(meta["statistics"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
