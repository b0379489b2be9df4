"""Shared fixtures: the OFA reference data beside the project (skips cleanly without it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
OFA_REFERENCE = Path(
    os.environ.get("SKLEARN_OFA_REFERENCE", REPO.parent / "shared" / "ofa_reference")
)
REAL_DATA = Path(
    os.environ.get(
        "SKLEARN_OFA_REAL_DATA", REPO.parent / "shared" / "real_data" / "dynast_ofa_mbv3_w1.0"
    )
)

# Keep test timings and results reproducible on the 2-core CI machine.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ofa_reference() -> Path:
    """Path of ``../shared/ofa_reference`` (OFA's released data); skip when absent."""
    if not OFA_REFERENCE.is_dir():
        pytest.skip(
            f"OFA reference data not found at {OFA_REFERENCE} "
            "(set SKLEARN_OFA_REFERENCE or place shared/ beside the repository)"
        )
    return OFA_REFERENCE


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Path of ``../shared/real_data/dynast_ofa_mbv3_w1.0`` (the DyNAS-T CSVs); skip when absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(
            f"real OFA subnet data not found at {REAL_DATA} "
            "(set SKLEARN_OFA_REAL_DATA or place shared/ beside the repository)"
        )
    return REAL_DATA


@pytest.fixture(scope="session")
def parity(ofa_reference):
    """Loader of ``parity/<name>.json`` records."""
    cache: dict = {}

    def load(name: str) -> dict:
        if name not in cache:
            path = ofa_reference / "parity" / f"{name}.json"
            if not path.exists():
                pytest.skip(f"{path} is missing")
            cache[name] = json.loads(path.read_text())
        return cache[name]

    return load


@pytest.fixture(scope="session")
def specialized_nets(ofa_reference):
    """List of (name, net.config dict, image_size) of OFA's specialized subnets."""
    out = []
    for d in sorted((ofa_reference / "specialized").iterdir()):
        cfg = json.loads((d / "net.config").read_text())
        image_size = json.loads((d / "run.config").read_text())["image_size"]
        out.append((d.name, cfg, image_size))
    return out


def subprocess_env() -> dict:
    """Environment for a child Python that must import this checkout's sklearn_ofa."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ------------------------------------------------------------- search predictors
@pytest.fixture(scope="module")
def flops():
    """The analytic FLOPs model of ofa_mbv3_w1.2 (the searches' efficiency predictor)."""
    from sklearn_ofa import FLOPsModel

    return FLOPsModel("ofa_mbv3_w1.2").fit()


@pytest.fixture(scope="module")
def ridge(flops):
    """A fitted accuracy regressor on codes: log-MACs plus a fixed random effect per gene value."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    space = flops.space_
    X = space.sample_codes(600, random_state=1)
    effect = np.random.default_rng(7).normal(0, 0.01, size=(space.n_genes, 32))
    y = 0.05 * np.log(flops.predict(X)) + effect[np.arange(space.n_genes), np.maximum(X, 0)].sum(1)
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), Ridge(alpha=1.0))
    return model.fit(X, y)
