"""
Importing OFA's pretrained predictor and latency tables
=======================================================

OFA's released accuracy predictor (``acc_predictor.pth``) and its Samsung Note10
latency tables load into this package's estimators and predict the same numbers.
The files are not shipped with the package; this example looks for them in
``../shared/ofa_reference`` (set ``SKLEARN_OFA_REFERENCE`` to point elsewhere).
"""

import os
from pathlib import Path

from sklearn_ofa import LatencyTable, load_ofa_predictor
from sklearn_ofa.spaces import get_space

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
candidates = [Path(os.environ.get("SKLEARN_OFA_REFERENCE", "ofa_reference"))]
candidates += [base / "shared" / "ofa_reference" for base in (here.parents[1], *Path.cwd().parents)]
root = next((p for p in candidates if p.exists()), candidates[0])

if not root.exists():
    print(f"OFA reference data not found at {root}; nothing to import.")
else:
    space = get_space("ofa_mbv3_w1.2", image_sizes=[160, 176, 192, 208, 224])
    acc = load_ofa_predictor(root / "predictors" / "acc_predictor.pth", space)
    lut = LatencyTable.from_ofa_yaml(root / "note10_lut", space=space)
    archs = space.sample(5, random_state=0)
    for arch, a, ms in zip(archs, acc.predict(archs), lut.predict(archs)):
        print(f"image {arch['image_size']}: predicted top-1 {a:.4f}, Note10 latency {ms:.1f} ms")
