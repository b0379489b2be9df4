"""
Searching under a FLOPs budget
==============================

Fit the accuracy pipeline on the bundled digits subnets, then run the
evolutionary search under several MAC budgets and draw the trade-off curve.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_ofa import FLOPsModel, make_accuracy_pipeline
from sklearn_ofa.datasets import load_digits_subnets
from sklearn_ofa.plotting import plot_pareto_front
from sklearn_ofa.search import EvolutionFinder, pareto_sweep

bunch = load_digits_subnets()
acc = make_accuracy_pipeline(bunch.space, max_epochs=40, random_state=0).fit(
    bunch.data, bunch.target
)
flops = FLOPsModel(bunch.space).fit()

finder = EvolutionFinder(acc, flops, population_size=50, n_generations=15, random_state=0)
mmacs = flops.predict(bunch.space.sample_codes(500, random_state=1))
budgets = [float(b) for b in np.quantile(mmacs, [0.1, 0.5, 0.9])]
curve = pareto_sweep(finder, budgets)
print(curve)
plot_pareto_front(curve, xlabel="million MACs")
plt.show()
