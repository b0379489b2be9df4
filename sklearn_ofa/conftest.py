"""pytest setup of the package's doctests (``pytest sklearn_ofa --doctest-modules``).

Every example runs in a fresh temporary folder. The few examples that read OFA's
released data run inside ``../shared/ofa_reference`` (or ``$SKLEARN_OFA_REFERENCE``)
and skip, with the reason, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REFERENCE = Path(
    os.environ.get(
        "SKLEARN_OFA_REFERENCE",
        Path(__file__).resolve().parents[2] / "shared" / "ofa_reference",
    )
)

#: Doctest name -> folder of the reference data it runs in.
NEEDS_REFERENCE = {
    "sklearn_ofa.efficiency.lut.LatencyTable.from_ofa_yaml": ".",
    "sklearn_ofa.accuracy.ofa_import.load_ofa_predictor": "predictors",
}


@pytest.fixture(autouse=True)
def _doctest_folder(request, tmp_path, monkeypatch):
    """Run each doctest in ``tmp_path``, or in the reference data it needs."""
    if not isinstance(request.node, pytest.DoctestItem):
        return
    folder = NEEDS_REFERENCE.get(request.node.name)
    if folder is None:
        monkeypatch.chdir(tmp_path)
        return
    if not _REFERENCE.is_dir():
        pytest.skip(
            f"OFA reference data not found at {_REFERENCE} "
            "(set SKLEARN_OFA_REFERENCE or place shared/ beside the repository)"
        )
    monkeypatch.chdir(_REFERENCE / folder)
