"""
Grid-searching the accuracy predictor
=====================================

The accuracy pipeline is an ordinary scikit-learn :class:`~sklearn.pipeline.Pipeline`
(encoder + skorch MLP), so :class:`~sklearn.model_selection.GridSearchCV` reaches
the MLP's hyper-parameters as ``predictor__<name>``. Data: the bundled digits subnets.
"""

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_ofa import make_accuracy_pipeline
from sklearn_ofa.accuracy.scoring import kendall_tau_scorer
from sklearn_ofa.datasets import load_digits_subnets

bunch = load_digits_subnets()
rng = np.random.default_rng(0)
idx = rng.permutation(len(bunch.data))[:400]
X = [bunch.data[i] for i in idx]
y = bunch.target[idx]

pipe = make_accuracy_pipeline(bunch.space, max_epochs=30, random_state=0)
grid = GridSearchCV(
    pipe,
    {"predictor__hidden_size": [64, 256], "predictor__n_layers": [2, 3]},
    scoring=kendall_tau_scorer,
    cv=KFold(3, shuffle=True, random_state=0),
)
grid.fit(X, y)
print("best parameters:", grid.best_params_)
print(f"best 3-fold Kendall tau: {grid.best_score_:.3f}")
