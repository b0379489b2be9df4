"""AccuracyPredictor: OFA's accuracy MLP as a scikit-learn regressor trained by skorch."""

from __future__ import annotations

import contextlib
import copy
import inspect
import numbers
import sys
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning as _SkorchDeviceWarning
from torch import nn
from torch.nn import functional as F

from .._checks import check_bool, check_finite_predictions, reject_non_numbers
from .._constraints import StrictInterval as Interval
from .._versioning import VersionStampMixin
from .losses import RankingMSELoss

__all__ = ["AccuracyMLP", "AccuracyPredictor", "DeviceWarning", "OFA_RECIPE"]

#: OFA's own training recipe of its accuracy MLP (``AccuracyPredictor(**OFA_RECIPE)``):
#: 3 x 400, Adam 1e-3, weight decay 1e-4, batch 256, 100 epochs at a constant lr, MSE on
#: the raw targets (no ranking term), one network. With OFA's features (``ArchEncoder()``)
#: it is the recipe of ``make_accuracy_pipeline(space, recipe="ofa")``.
OFA_RECIPE: dict = {
    "hidden_size": 400,
    "n_layers": 3,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "max_epochs": 100,
    "batch_size": 256,
    "lr_schedule": "constant",
    "standardize_target": False,
    "n_ensemble": 1,
    "early_stopping": False,
    "rank_weight": 0.0,
}


class DeviceWarning(_SkorchDeviceWarning):
    """A predictor is loaded on another device than the one it was trained on.

    A subclass of :class:`skorch.exceptions.DeviceWarning`, so a filter on
    skorch's warning also catches this one.
    """


#: skorch's parameter prefixes routed to the network(s), as ``NeuralNet`` does.
ROUTED_PREFIXES = (
    "module",
    "optimizer",
    "criterion",
    "callbacks",
    "iterator_train",
    "iterator_valid",
)
#: skorch spellings of this estimator's own parameters (the flat name is canonical).
SKORCH_ALIASES = {
    "module__hidden_size": "hidden_size",
    "module__n_layers": "n_layers",
    "optimizer__weight_decay": "weight_decay",
    "optimizer__lr": "lr",
}
_FROM_DATA = ("module__input_dim", "module__base_acc")
_HISTORY_KEY = "history_"
_ADDED_PARAMS = {
    "optimizer": None,
    "criterion": None,
    "callbacks": None,
    "train_split": None,
    "warm_start": False,
    "calibrate_std": False,
    "rank_weight": 0.0,
}


def _to_stderr(text: str) -> None:
    """Sink of skorch's epoch table (``verbose >= 2``): stderr, below a running tqdm bar."""
    from tqdm.auto import tqdm

    tqdm.write(text, file=sys.stderr)


class _EpochBar(Callback):
    """Advances a tqdm bar by one at the end of every epoch (attached while training)."""

    def __init__(self, bar: Any):
        self.bar = bar

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        self.bar.update(1)


@contextlib.contextmanager
def _epoch_progress(net: Any, bar: Any):
    """Advance ``bar`` (None: nothing) once per epoch of the initialized ``net`` in the block."""
    if bar is None:
        yield
        return
    net.callbacks_.append(("epoch_progress", _EpochBar(bar)))
    try:
        yield
    finally:
        net.callbacks_ = [(n, cb) for n, cb in net.callbacks_ if n != "epoch_progress"]


def _routing_error(key: str) -> str | None:
    """Why ``key`` is not a routed skorch parameter, or None when it is one."""
    prefix, _, rest = key.partition("__")
    if not rest or prefix not in ROUTED_PREFIXES:
        return f"{key!r} is not a parameter nor a skorch prefix {list(ROUTED_PREFIXES)}"
    if key in _FROM_DATA:
        return f"{key!r} is set from the training data"
    if prefix == "module" and key not in SKORCH_ALIASES:
        return f"AccuracyMLP takes only {sorted(k for k in SKORCH_ALIASES if k[0] == 'm')}"
    return None


def _fold(module: nn.Module, scale: float, base: float) -> None:
    """Scale the last layer by ``scale`` and set the constant offset to ``base``."""
    with torch.no_grad():
        module.layers[-1].weight.mul_(scale)
        module.base_acc.fill_(base)


def _all_finite(X: np.ndarray) -> bool:
    """``np.isfinite(X).all()``; for a large X, the sum instead (NaN/inf propagate into it,
    and no n x d boolean temporary is made). A finite X whose sum overflows reads as not
    finite and takes the validated path, which is still correct."""
    if X.size <= 1 << 22:
        return bool(np.isfinite(X).all())
    return bool(np.isfinite(np.add.reduce(X, axis=None, dtype=np.float64)))


class AccuracyMLP(nn.Module):
    """``n_layers`` x (Linear + ReLU), a bias-free Linear to one output, plus ``base_acc``.

    Parameters
    ----------
    input_dim : int
        Number of input features.
    hidden_size : int
        Width of every hidden layer.
    n_layers : int
        Number of hidden layers.
    base_acc : float
        Constant added to the output (a non-trainable buffer).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ofa.accuracy.predictor import AccuracyMLP
    >>> mlp = AccuracyMLP(input_dim=8, hidden_size=16, n_layers=2, base_acc=0.5)
    >>> mlp(torch.zeros(3, 8)).shape
    torch.Size([3, 1])
    """

    def __init__(
        self, input_dim: int, hidden_size: int = 400, n_layers: int = 3, base_acc: float = 0.0
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = input_dim
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden_size), nn.ReLU()]
            width = hidden_size
        layers.append(nn.Linear(width, 1, bias=False))
        self.layers = nn.Sequential(*layers)
        self.register_buffer("base_acc", torch.tensor([float(base_acc)]))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # the layers' functional forms: the same kernels as ``self.layers(X)`` without
        # the per-module call overhead (the search calls this thousands of times)
        layers = self.layers
        for i in range(0, len(layers) - 1, 2):
            X = torch.relu(F.linear(X, layers[i].weight, layers[i].bias))
        return F.linear(X, layers[-1].weight) + self.base_acc


class AccuracyPredictor(VersionStampMixin, RegressorMixin, BaseEstimator):
    """Predict top-1 accuracy from architecture features with OFA's MLP, trained by skorch.

    The network is ``n_layers`` x (Linear + ReLU) of ``hidden_size`` units, a
    final Linear without bias, and a constant offset ``base_acc`` equal to the
    mean of the training targets. Each member of the ensemble is a fitted
    :class:`skorch.NeuralNetRegressor` (Adam, MSE loss by default) in ``nets_``;
    predictions are their average.

    skorch's own parameters are routed to the network(s) as a bare
    ``NeuralNetRegressor`` routes them: ``module__*``, ``optimizer__*``,
    ``criterion__*``, ``callbacks__*``, ``iterator_train__*`` and
    ``iterator_valid__*`` are accepted by the constructor, ``set_params``,
    ``clone`` and grid searches (``predictor__optimizer__momentum`` in a
    pipeline); the constructor takes them as further keyword arguments
    (its listed signature leaves out that ``**kwargs``). ``module__hidden_size``, ``module__n_layers``,
    ``optimizer__weight_decay`` and ``optimizer__lr`` are the skorch spellings of
    ``hidden_size``, ``n_layers``, ``weight_decay`` and ``lr``: setting either
    spelling sets the flat (canonical) parameter, which ``repr`` and
    ``get_params(deep=False)`` show.

    Parameters
    ----------
    hidden_size : int, default=400
        Width of the hidden layers (alias ``module__hidden_size``).
    n_layers : int, default=3
        Number of hidden layers (alias ``module__n_layers``).
    lr : float, default=1e-3
        Learning rate (alias ``optimizer__lr``).
    weight_decay : float, default=1e-3
        The optimizer's weight decay (alias ``optimizer__weight_decay``); OFA's
        recipe uses 1e-4.
    max_epochs : int, default=100
        Training epochs per ``fit`` / ``partial_fit`` call (an upper bound with
        ``early_stopping``).
    batch_size : int, default=128
        Mini-batch size.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        Learning rate over the epochs: cosine decay to zero per epoch, or constant.
    standardize_target : bool, default=True
        Train on ``(y - mean) / std`` and fold the scale back into the last
        layer afterwards (the stored network predicts ``y`` directly). With
        ``False`` (as in OFA) the network learns ``y - base_acc`` directly.
    n_ensemble : int, default=5
        Number of independently initialised networks whose predictions are
        averaged (training and prediction cost grow with it; OFA's recipe is 1).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (seeded by ``random_state``)
        and keep the weights of the epoch with the lowest validation loss,
        stopping after ``patience`` epochs without improvement.
    validation_fraction : float, default=0.1
        Held-out fraction with ``early_stopping``.
    patience : int, default=20
        Epochs without improvement before stopping.
    device : str, default="cpu"
        Torch device for training and prediction (e.g. ``"cuda"``).
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of weight initialisation, shuffling and the validation split; an
        int makes CPU training deterministic.
    verbose : int, default=0
        Progress on stderr (stdout stays clean). 0: none. 1: a tqdm bar over
        the epochs of all ensemble members. 2 or more: also skorch's table of
        every epoch.
    optimizer : torch optimizer class or None, default=None
        ``None``: :class:`torch.optim.Adam` (OFA's). Its keyword arguments are
        ``optimizer__<name>`` (e.g. ``optimizer__momentum`` for SGD).
    criterion : torch loss class or None, default=None
        ``None``: :class:`torch.nn.MSELoss`, or with ``rank_weight > 0``
        :class:`~sklearn_ofa.accuracy.losses.RankingMSELoss` (squared error
        plus a pairwise ranking term). A class given here is
        used as it is, its arguments as ``criterion__<name>``; ``fit``
        refuses it with ``rank_weight > 0``, which would have no effect.
    callbacks : list of skorch callbacks or None, default=None
        Run after the built-in ``"lr_schedule"`` (cosine) and ``"early_stopping"``
        callbacks; each network gets its own copy. ``callbacks__<name>__<param>``
        sets a callback's parameter, ``callbacks__<name>=None`` drops it.
    train_split : callable or None, default=None
        skorch's ``train_split``. ``None``: no split, or with ``early_stopping`` a
        :class:`skorch.dataset.ValidSplit` of ``validation_fraction``.
    warm_start : bool, default=False
        ``fit`` continues training the fitted networks (``max_epochs`` more
        epochs) instead of starting new ones.
    rank_weight : float, default=0.0
        Weight of a pairwise ranking term added to the squared error
        (:class:`~sklearn_ofa.accuracy.losses.RankingMSELoss`, temperature
        0.03 target units: ``criterion__temperature``); ``0`` trains on the
        squared error alone, as OFA does. Not the default: on the bundled real
        subnets it raised Kendall tau a little but made the calibrated
        intervals cover less.
    calibrate_std : bool, default=True
        With ``n_ensemble >= 2``: split the rows into ``n_ensemble`` folds
        (seeded by ``random_state``), train member ``i`` on all folds but
        ``i``, and set ``std_scale_`` from the out-of-fold residuals so that
        ``predict(X, return_std=True)`` gives calibrated standard deviations.
        ``False``: every member trains on all rows and ``return_std`` is refused.

    Attributes
    ----------
    nets_ : list of skorch.NeuralNetRegressor
        The fitted networks (``module_`` is an :class:`AccuracyMLP`).
    history_ : list of skorch.callbacks.History
        The training history of each network in ``nets_`` (``history_[0]`` for one
        net, e.g. ``history_[0][:, "train_loss"]``); continued training appends
        to it. Kept through pickle, joblib and skops.
    base_acc_ : float
        Mean of the training targets of the first ``fit`` / ``partial_fit``.
    target_scale_ : float
        Standard deviation of those targets with ``standardize_target``, else 1.0.
    std_scale_ : float or None
        Factor from the ensemble's spread to the standard deviation of
        ``predict(X, return_std=True)``: the root mean square out-of-fold
        residual over the root mean square spread of the members on the
        training rows. ``None`` when not calibrated (see ``calibrate_std``).
    conformal_scores_ : ndarray or None
        Sorted out-of-fold residuals over the members' spread on the training
        rows, the scores of :meth:`predict_interval`; ``None`` when not calibrated.
    n_features_in_ : int
        Number of input features.

    Notes
    -----
    OFA's own recipe is :data:`OFA_RECIPE` (``lr_schedule="constant",
    batch_size=256, weight_decay=1e-4, standardize_target=False,
    n_ensemble=1``). The defaults (cosine decay, batch 128, standardised
    targets, weight decay 1e-3, an ensemble of 5 whose spread is calibrated
    out of fold) gave higher Kendall tau and lower RMSE in 5-fold CV on 901
    real OFA MobileNetV3 subnets with measured ImageNet top-1 (see the user
    guide); they cost about 5x OFA's training and prediction time.

    With ``calibrate_std`` each member is trained on ``(n_ensemble - 1) /
    n_ensemble`` of the rows, and ``std_scale_`` makes the members' spread
    match the out-of-fold residuals. ``partial_fit`` trains every member on
    all the rows given and keeps ``std_scale_`` of ``fit``. Fitted networks are pickled as
    numpy weight arrays, so pickle, joblib and skops work and a predictor
    trained on CUDA loads on a CPU-only machine (with a :class:`DeviceWarning`).

    ``partial_fit`` (and ``fit`` with ``warm_start=True`` on a fitted predictor)
    trains the same networks ``max_epochs`` more epochs on the data given,
    keeping their optimizer state (a fresh optimizer after unpickling); the
    cosine schedule restarts from ``lr``. The target offset ``base_acc_`` and
    scale ``target_scale_`` stay those of the first call, so the networks go on
    learning in the same units; the network shape and ``n_ensemble`` must not
    change between calls.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ofa import AccuracyPredictor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 2, size=(64, 8)).astype("float32")
    >>> y = 0.75 + 0.01 * X[:, 0]
    >>> model = AccuracyPredictor(hidden_size=16, max_epochs=5, n_ensemble=1,
    ...                           random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    >>> len(model.partial_fit(X, y).history_[0])  # 5 more epochs of the same network
    10
    >>> AccuracyPredictor(module__hidden_size=32, optimizer__weight_decay=0.0)
    AccuracyPredictor(hidden_size=32, weight_decay=0.0)

    A calibrated standard deviation comes from the ensemble (5 members by default):

    >>> ens = AccuracyPredictor(hidden_size=16, max_epochs=5, n_ensemble=3,
    ...                         random_state=0).fit(X, y)
    >>> mean, std = ens.predict(X[:3], return_std=True)
    >>> mean.shape, std.shape, bool((std > 0).all())
    ((3,), (3,), True)
    """

    _parameter_constraints: dict = {
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_layers": [Interval(numbers.Integral, 0, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "standardize_target": ["boolean"],
        "n_ensemble": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state", np.random.Generator],
        "verbose": ["verbose"],
        "optimizer": [callable, None],
        "criterion": [callable, None],
        "callbacks": [list, tuple, None],
        "train_split": [callable, None],
        "warm_start": ["boolean"],
        "calibrate_std": ["boolean"],
        "rank_weight": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_size: int = 400,
        n_layers: int = 3,
        lr: float = 1e-3,
        weight_decay: float = 1e-3,
        max_epochs: int = 100,
        batch_size: int = 128,
        lr_schedule: str = "cosine",
        standardize_target: bool = True,
        n_ensemble: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 20,
        device: str = "cpu",
        random_state: Any = None,
        verbose: int = 0,
        optimizer: Any = None,
        criterion: Any = None,
        callbacks: Any = None,
        train_split: Any = None,
        warm_start: bool = False,
        calibrate_std: bool = True,
        rank_weight: float = 0.0,
        **kwargs: Any,
    ):
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr_schedule = lr_schedule
        self.standardize_target = standardize_target
        self.n_ensemble = n_ensemble
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.optimizer = optimizer
        self.criterion = criterion
        self.callbacks = callbacks
        self.train_split = train_split
        self.warm_start = warm_start
        self.rank_weight = rank_weight
        self.calibrate_std = calibrate_std
        for key, value in kwargs.items():
            if key not in SKORCH_ALIASES and _routing_error(key):
                raise TypeError(
                    f"{type(self).__name__}.__init__() got an unexpected keyword "
                    f"argument {key!r}: {_routing_error(key)}"
                )
            setattr(self, SKORCH_ALIASES.get(key, key), value)

    # ------------------------------------------------------------ parameters
    def _routed_params(self) -> dict:
        """The skorch-prefixed parameters set on this estimator."""
        return {
            k: v
            for k, v in self.__dict__.items()
            if "__" in k and k.partition("__")[0] in ROUTED_PREFIXES
        }

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator, with the skorch-prefixed ones set on it.

        Parameters
        ----------
        deep : bool, default=True
            Also list the skorch spellings of the flat parameters
            (``module__hidden_size``, ...).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        if deep:
            params.update({alias: params[name] for alias, name in SKORCH_ALIASES.items()})
        return params

    def set_params(self, **params: Any) -> AccuracyPredictor:
        """Set parameters, routing skorch's prefixed ones as ``NeuralNet`` does.

        Parameters
        ----------
        **params
            Flat parameters, their skorch spellings (``module__hidden_size``) or
            prefixed skorch parameters (``optimizer__momentum``).

        Returns
        -------
        self : AccuracyPredictor

        Raises
        ------
        ValueError
            An unknown parameter (scikit-learn's message, naming the key).
        """
        plain = {}
        for key, value in params.items():
            key = SKORCH_ALIASES.get(key, key)
            if "__" not in key:
                plain[key] = value
                continue
            why = _routing_error(key)
            if why:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {self}. Valid parameters are: "
                    f"{sorted(super().get_params(deep=False))!r} and the skorch prefixes "
                    f"{[p + '__' for p in ROUTED_PREFIXES]!r} ({why})."
                )
            setattr(self, key, value)
        if plain:
            super().set_params(**plain)
        return self

    # ----------------------------------------------------------------- skorch
    def _criterion(self) -> dict:
        """skorch's criterion arguments: the given class, or the default loss."""
        if self.criterion is not None:
            return {"criterion": self.criterion}
        if self.rank_weight > 0:
            return {"criterion": RankingMSELoss, "criterion__rank_weight": float(self.rank_weight)}
        return {"criterion": nn.MSELoss}

    def _make_net(
        self,
        n_features: int,
        seed: int,
        base_acc: float,
        hidden: int | None = None,
        n_layers: int | None = None,
        device: str | None = None,
    ):
        """An unfitted skorch regressor with this estimator's settings."""
        from skorch import NeuralNetRegressor
        from skorch.callbacks import EarlyStopping, LRScheduler
        from skorch.dataset import ValidSplit

        callbacks: list = []
        if self.lr_schedule == "cosine":
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler(
                        policy="CosineAnnealingLR",
                        T_max=self.max_epochs,
                        step_every="epoch",
                        last_epoch=-1,  # each fit/partial_fit call: a new cosine from lr
                    ),
                )
            )
        if self.early_stopping:
            sink = {"sink": _to_stderr} if self.verbose >= 2 else {}
            callbacks.append(
                ("early_stopping", EarlyStopping(patience=self.patience, load_best=True, **sink))
            )
        callbacks += copy.deepcopy(list(self.callbacks or ()))  # one copy per network
        train_split = self.train_split
        if train_split is None and self.early_stopping:
            train_split = ValidSplit(self.validation_fraction, random_state=seed)
        kwargs = {
            "module": AccuracyMLP,
            "module__input_dim": n_features,
            "module__hidden_size": self.hidden_size if hidden is None else hidden,
            "module__n_layers": self.n_layers if n_layers is None else n_layers,
            "module__base_acc": base_acc,
            **self._criterion(),
            "optimizer": self.optimizer or torch.optim.Adam,
            "optimizer__weight_decay": self.weight_decay,
            "lr": self.lr,
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "iterator_train__shuffle": True,
            "train_split": train_split,
            "callbacks": callbacks,
            "device": self.device if device is None else device,
            "verbose": int(self.verbose >= 2),  # skorch's epoch table, printed on stderr
            **self._routed_params(),
        }
        if self.verbose >= 2 and "callbacks__print_log" not in kwargs:
            kwargs.setdefault("callbacks__print_log__sink", _to_stderr)
        return NeuralNetRegressor(**kwargs)

    def _sync_verbosity(self, net: Any) -> None:
        """Give a fitted ``net`` the current ``verbose`` (it may have changed since ``fit``)."""
        net.verbose = int(self.verbose >= 2)
        for _, cb in net.callbacks_:
            if getattr(cb, "sink", None) in (print, _to_stderr):  # not a sink of the user's
                cb.sink = _to_stderr if self.verbose >= 2 else print

    def _training_bar(self, n_nets: int) -> Any:
        """A tqdm bar on stderr over all epochs of ``n_nets`` networks (``verbose >= 1``)."""
        if not self.verbose:
            return contextlib.nullcontext()
        from tqdm.auto import tqdm

        return tqdm(
            total=n_nets * self.max_epochs,
            desc=f"training {n_nets} net{'s' if n_nets != 1 else ''}",
            unit="epoch",
            file=sys.stderr,
        )

    def _check_Xy(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        try:
            torch.device(self.device)
        except (RuntimeError, ValueError, TypeError):
            raise ValueError(
                f"device = {self.device!r} is not a torch device; use e.g. 'cpu', 'cuda' "
                "or 'cuda:0'"
            ) from None
        reject_non_numbers(X, "X")
        reject_non_numbers(y, "y", allow_bool=False)
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True, reset=reset)
        if not X.flags.writeable:  # torch warns on read-only arrays (e.g. memmaps)
            X = X.copy()
        if self.early_stopping and len(X) < 10:
            raise ValueError(
                f"early_stopping=True needs at least 10 samples, got n_samples={len(X)}"
            )
        return X, np.asarray(y, dtype=np.float64)

    def _draw_seeds(self) -> list[int]:
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            seeds = rs.integers(0, 2**31 - 1, size=self.n_ensemble)
        else:
            seeds = check_random_state(rs).randint(0, 2**31 - 1, size=self.n_ensemble)
        return [int(s) for s in seeds]

    def _check_trained(self, module: nn.Module) -> None:
        if not all(bool(torch.isfinite(p).all()) for p in module.parameters()):
            raise ValueError(
                f"training diverged: the network's weights are not finite after "
                f"{self.max_epochs} epochs with lr={self.lr!r}; lower lr or set "
                "standardize_target=True"
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> AccuracyPredictor:
        """Train the ensemble on features ``X`` and accuracies ``y``.

        With ``warm_start=True`` and a fitted predictor, continue training its
        networks instead (as :meth:`partial_fit`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features (e.g. the output of :class:`~sklearn_ofa.ArchEncoder`).
            Strings are refused, not converted.
        y : array-like of shape (n_samples,)
            Finite accuracies (numbers; strings and booleans are refused).

        Returns
        -------
        self : AccuracyPredictor

        Raises
        ------
        ValueError
            No samples, NaN/inf in ``X`` or ``y``, or training diverged (the
            network's weights are not finite).
        TypeError
            ``X`` or ``y`` holds strings, ``y`` holds booleans.
        """
        if self.warm_start and "nets_" in self.__dict__:
            return self._continue(X, y)
        return self._fit_new(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any) -> AccuracyPredictor:
        """Train the fitted networks ``max_epochs`` more epochs on ``X``, ``y``.

        The first call on an unfitted predictor is :meth:`fit`. Later calls keep
        ``base_acc_`` and ``target_scale_`` of the first one (see Notes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features with the fitted number of columns.
        y : array-like of shape (n_samples,)
            Finite accuracies.

        Returns
        -------
        self : AccuracyPredictor

        Raises
        ------
        ValueError
            Another number of features, or ``hidden_size``, ``n_layers`` or
            ``n_ensemble`` changed since the networks were made; as :meth:`fit`.
        """
        if "nets_" in self.__dict__:
            return self._continue(X, y)
        return self._fit_new(X, y)

    def _fit_new(self, X: Any, y: Any) -> AccuracyPredictor:
        if self.criterion is not None and self.rank_weight > 0:
            raise ValueError(
                f"rank_weight = {self.rank_weight!r} has no effect with criterion = "
                f"{getattr(self.criterion, '__name__', self.criterion)!r}; allowed values: "
                "rank_weight = 0 with a criterion (its arguments as criterion__<name>), or "
                "criterion = None"
            )
        X, y = self._check_Xy(X, y, reset=True)
        mean = float(y.mean())
        scale = float(y.std()) if self.standardize_target else 1.0
        if not np.isfinite(scale) or scale <= 1e-12:
            scale = 1.0
        if self.standardize_target:
            target, base = (y - mean) / scale, 0.0
        else:
            target, base = y, mean
        target = target.astype(np.float32).reshape(-1, 1)
        seeds = self._draw_seeds()
        n_nets = len(seeds)
        fold_of = None
        if self.calibrate_std and n_nets >= 2 and len(X) >= 2 * n_nets:
            # member i leaves out fold i: its predictions there are out-of-fold
            order = np.random.RandomState(seeds[0] % (2**32 - 1)).permutation(len(X))
            fold_of = np.empty(len(X), dtype=np.intp)
            fold_of[order] = np.arange(len(X)) % n_nets
        nets = []
        with self._training_bar(n_nets) as bar:
            for i, seed in enumerate(seeds):
                rows = slice(None) if fold_of is None else fold_of != i
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    net = self._make_net(X.shape[1], seed, base)
                    net.initialize()  # net.fit is initialize + partial_fit
                    with _epoch_progress(net, bar):
                        net.partial_fit(X[rows], target[rows])
                if bar is not None:  # early stopping: the epochs this net did not run
                    bar.update((i + 1) * self.max_epochs - bar.n)
                _fold(net.module_, scale, mean)
                self._check_trained(net.module_)
                nets.append(net)
        self.std_scale_ = self.conformal_scores_ = None
        if fold_of is not None:
            preds = np.stack([self._forward(net.module_, X) for net in nets]).astype(np.float64)
            resid = np.abs(y - preds[fold_of, np.arange(len(X))])
            spread = np.maximum(preds.std(axis=0, ddof=1), 1e-12)
            self.std_scale_ = float(np.sqrt(np.mean(resid**2) / np.mean(spread**2)))
            self.conformal_scores_ = np.sort(resid / spread)
        self.nets_ = nets
        self.history_ = [net.history for net in nets]
        self.base_acc_ = mean
        self.target_scale_ = scale
        self._seeds_ = seeds
        return self

    def _continue(self, X: Any, y: Any) -> AccuracyPredictor:
        X, y = self._check_Xy(X, y, reset=False)
        self._check_same_networks()
        mean, scale = self.base_acc_, getattr(self, "target_scale_", 1.0)
        target = ((y - mean) / scale).astype(np.float32).reshape(-1, 1)
        seeds = getattr(self, "_seeds_", None) or [0] * len(self.nets_)
        with self._training_bar(len(self.nets_)) as bar:
            for i, (net, seed) in enumerate(zip(self.nets_, seeds)):
                _fold(net.module_, 1.0 / scale, 0.0)  # back to the training-time network
                self._sync_verbosity(net)
                for group in net.optimizer_.param_groups:
                    group["lr"] = net.lr  # the cosine schedule restarts from lr
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed((seed + len(net.history)) % (2**31 - 1))
                    with _epoch_progress(net, bar):
                        net.partial_fit(X, target, epochs=self.max_epochs)
                if bar is not None:
                    bar.update((i + 1) * self.max_epochs - bar.n)
                _fold(net.module_, scale, mean)
                self._check_trained(net.module_)
        self.history_ = [net.history for net in self.nets_]
        return self

    def _check_same_networks(self) -> None:
        linears = [m for m in self.nets_[0].module_.layers if isinstance(m, nn.Linear)]
        fitted = {"n_ensemble": len(self.nets_), "n_layers": len(linears) - 1}
        if len(linears) > 1:
            fitted["hidden_size"] = linears[0].out_features
        for name, value in fitted.items():
            if getattr(self, name) != value:
                raise ValueError(
                    f"cannot continue training: the fitted networks have {name}={value}, "
                    f"got {name}={getattr(self, name)!r}; use fit with warm_start=False to "
                    "train new networks"
                )

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Predicted accuracy per row (ensemble mean), optionally with its standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            An empty batch (``[]`` or shape ``(0, n_features)``) gives an empty result.
        return_std : bool, default=False
            Also return the calibrated standard deviation of each prediction:
            the spread of the ensemble members times ``std_scale_`` (see Notes),
            so that ``mean +- z * std`` is a Gaussian interval.

        Returns
        -------
        y_mean : ndarray of float64, shape (n_samples,)
            Finite predictions.
        y_std : ndarray of float64, shape (n_samples,)
            Only with ``return_std=True``.

        Raises
        ------
        ValueError
            Wrong number of features, NaN/inf in ``X``, a non-finite output of
            the network, or ``return_std=True`` on a predictor without a
            calibrated spread (``n_ensemble=1``, ``calibrate_std=False``, or
            fewer than ``2 * n_ensemble`` training rows).
        """
        if "nets_" not in self.__dict__:
            check_is_fitted(self, "nets_")
        check_bool("return_std", return_std)
        if return_std and self.__dict__.get("std_scale_") is None:
            raise ValueError(
                "return_std=True needs a calibrated ensemble: fit with n_ensemble >= 2 "
                f"and calibrate_std=True on at least 2 * n_ensemble rows (this one has "
                f"n_ensemble={len(self.nets_)}, calibrate_std={self.calibrate_std!r})"
            )
        if not self._is_clean_features(X):  # the encoder's output skips the full check
            shape = getattr(X, "shape", None)
            if (
                isinstance(X, (list, tuple))
                and len(X) == 0
                or (shape is not None and len(shape) in (1, 2) and shape[0] == 0)
            ):
                if shape is not None and len(shape) == 2 and shape[1] != self.n_features_in_:
                    raise ValueError(
                        f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                        f"{self.n_features_in_} features as input."
                    )
                empty = np.zeros(0, dtype=np.float64)
                return (empty, empty.copy()) if return_std else empty
            reject_non_numbers(X, "X")
            X = validate_data(self, X, dtype=np.float32, reset=False)
        if return_std:
            preds = np.stack([self._forward(net.module_, X) for net in self.nets_])
            mean = check_finite_predictions(
                preds.mean(axis=0, dtype=np.float64), type(self).__name__
            )
            std = self.std_scale_ * preds.std(axis=0, ddof=1, dtype=np.float64)
            return mean, std
        out = np.zeros(len(X), dtype=np.float64)
        for net in self.nets_:
            out += self._forward(net.module_, X)
        return check_finite_predictions(out / len(self.nets_), type(self).__name__)

    def predict_interval(self, X: Any, alpha: float = 0.05) -> np.ndarray:
        """Prediction intervals of accuracy (split conformal on the ensemble's spread).

        The interval of a row is ``mean -+ q * s``, where ``s`` is the members'
        spread on that row and ``q`` the ``ceil((n + 1) * (1 - alpha))``-th
        smallest of the ``n`` training rows' out-of-fold scores
        ``|y - pred_oof| / s`` (see ``calibrate_std``). For new archs like the
        training archs, at least ``1 - alpha`` of the true accuracies fall
        inside, on average; unlike ``mean -+ z * std``, this needs no Gaussian
        residuals.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, as for :meth:`predict`.
        alpha : float, default=0.05
            Miscoverage, in (0, 1).

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Lower and upper accuracy.

        Raises
        ------
        ValueError
            A predictor without a calibrated ensemble (as ``return_std``), or
            ``alpha`` too small for the number of training rows
            (``n >= 1 / alpha - 1`` are needed).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_ofa import AccuracyPredictor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((200, 6), dtype=np.float32)
        >>> y = 0.7 + 0.05 * X[:, 0] + 0.01 * rng.standard_normal(200)
        >>> model = AccuracyPredictor(hidden_size=16, max_epochs=20, n_ensemble=3,
        ...                           random_state=0).fit(X, y)
        >>> lo_hi = model.predict_interval(X[:4], alpha=0.1)
        >>> lo_hi.shape, bool((lo_hi[:, 0] < lo_hi[:, 1]).all())
        ((4, 2), True)
        """
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
            raise ValueError(
                f"alpha = {alpha!r} is not allowed; allowed values: a number in (0, 1)"
            )
        mean, std = self.predict(X, return_std=True)
        scores = self.conformal_scores_
        n = len(scores)
        rank = int(np.ceil((n + 1) * (1 - alpha)))
        if rank > n:
            raise ValueError(
                f"alpha = {alpha!r} is too small for {n} training rows: a {(1 - alpha) * 100:g}% "
                f"interval needs at least {int(np.ceil(1 / alpha)) - 1}; raise alpha"
            )
        spread = std / self.std_scale_ if self.std_scale_ > 0 else np.zeros_like(std)
        half = float(scores[rank - 1]) * spread
        return np.column_stack([mean - half, mean + half])

    def _is_clean_features(self, X: Any) -> bool:
        """True for a finite 2-D float32 ndarray with the fitted number of columns
        (and a predictor fitted without feature names, which would warn)."""
        return (
            type(X) is np.ndarray
            and "feature_names_in_" not in self.__dict__
            and X.dtype == np.float32
            and X.ndim == 2
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and _all_finite(X)
        )

    @staticmethod
    def _forward(module: nn.Module, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        # 8192 rows: one 400-wide hidden activation is 13 MB, so a large batch stays small
        device = module.base_acc.device
        if module.training:  # eval() walks every submodule: skip it when already set
            module.eval()
        out = np.empty(len(X), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(X), chunk):
                xb = np.ascontiguousarray(X[start : start + chunk])
                xb = torch.from_numpy(xb if xb.flags.writeable else xb.copy())
                out[start : start + len(xb)] = module(xb.to(device)).reshape(-1).cpu().numpy()
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------ persistence
    # The fitted networks are stored as numpy weight arrays, not as skorch/torch
    # objects: pickle, joblib and skops (which cannot store tensors) all work,
    # and a predictor trained on CUDA loads on a CPU-only machine.
    def __getstate__(self) -> dict:
        state = super().__getstate__()  # a copy, with the package version stamp
        if "nets_" in state:
            state["nets_"] = [
                {k: v.detach().cpu().numpy() for k, v in net.module_.state_dict().items()}
                for net in state["nets_"]
            ]
            state["_net_device"] = [str(net.device) for net in self.nets_]
        if _HISTORY_KEY in state:  # plain lists of dicts (skops stores these)
            state[_HISTORY_KEY] = [list(h) for h in state[_HISTORY_KEY]]
        return state

    def __setstate__(self, state: dict) -> None:
        state = {**_ADDED_PARAMS, **state}  # pickles made before these parameters existed
        weights = state.pop("nets_", None)
        devices = state.pop("_net_device", None)
        histories = state.pop(_HISTORY_KEY, None)
        seeds = state.get("_seeds_") or [0] * len(weights or ())
        super().__setstate__(state)  # warns when saved by another sklearn_ofa version
        if weights is None:
            return
        from skorch.history import History

        nets = []
        for i, arrays in enumerate(weights):
            device = devices[i] if devices else self.device
            if device.startswith("cuda") and not torch.cuda.is_available():
                warnings.warn(
                    f"this predictor was trained on device {device!r} but CUDA is not "
                    "available; loading it on 'cpu'",
                    DeviceWarning,
                    stacklevel=2,
                )
                device = "cpu"
            n_layers = sum(k.endswith(".bias") for k in arrays)
            hidden = arrays["layers.0.weight"].shape[0] if n_layers else self.hidden_size
            net = self._make_net(
                arrays["layers.0.weight"].shape[1], seeds[i], 0.0, hidden, n_layers, device
            )
            net.initialize()
            net.module_.load_state_dict(
                {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
            )
            if histories is not None:
                net.history = History(histories[i])
            nets.append(net)
        self.nets_ = nets
        self.history_ = [net.history for net in nets]


def _public_signature() -> inspect.Signature:
    # scikit-learn's checks pass every signature name to set_params, "kwargs" included;
    # the routed keys are documented instead of shown as **kwargs
    sig = inspect.signature(AccuracyPredictor.__init__)
    return sig.replace(
        parameters=[p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    )


AccuracyPredictor.__init__.__signature__ = _public_signature()
