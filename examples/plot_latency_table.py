"""
Building and calibrating a latency table
========================================

Profile every block of a small search space on this CPU, measure a few whole
subnets the same way, and calibrate the block sum against them.
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import cross_val_predict

from sklearn_ofa import LatencyTable
from sklearn_ofa.metrics import latency_report
from sklearn_ofa.plotting import LatencyParityDisplay
from sklearn_ofa.spaces import get_space

space = get_space("digits_mbv3", image_sizes=[24, 32])
lut = LatencyTable(space, warmup=2, repeats=10).fit()
print(f"{lut.n_blocks_} distinct blocks profiled")

codes = space.sample_codes(24, random_state=0)
measured = lut.measure(codes)
raw = lut.predict_raw(codes)
print("raw block sum:", latency_report(measured, raw))

est = LatencyTable(space, table=lut.lut_, calibration="linear", image_sizes=[24, 32])
calibrated = cross_val_predict(est, codes, measured, cv=4)
print("calibrated (4-fold CV):", latency_report(measured, calibrated))
LatencyParityDisplay.from_predictions(measured, calibrated, title="linear calibration, 4-fold CV")
plt.show()
