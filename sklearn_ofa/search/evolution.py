"""Regularised evolution over code matrices, driven by accuracy and efficiency predictors.

One generation is a handful of numpy operations on the whole population:
parent selection, mutation and crossover of every child at once, constraint
filtering in vectorised rounds, one batched accuracy prediction.

The search keeps *full* codes internally: block slots that the depth switches
off keep a hidden gene value (as an arch dict does), so a depth mutation that
switches a slot back on restores it. The random archs, mutations, crossovers
and masks are the space's own operators (``sample_codes(masked=False)``,
``mutate_full_codes``, ``crossover_full_codes``, ``mask_inactive``). Predictors
always receive the masked code matrix of the space (``-1`` for switched-off slots).
"""

from __future__ import annotations

import numbers
import time
from typing import Any, ClassVar, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._checks import check_bool
from .._constraints import StrictInterval as Interval
from .._versioning import VersionStampMixin
from ..exceptions import SpaceMismatchError
from ..spaces import CODE_DTYPE, Codes, SearchSpace, get_space
from ..spaces._codes import CheckedCodes

__all__ = ["TRUSTED_IMAGE_SIZES", "EvolutionFinder"]

#: Image sizes at which OFA's pretrained MobileNetV3 accuracy predictor was trained;
#: ``image_sizes="auto"`` keeps an ``ofa_mbv3_*`` search inside them.
TRUSTED_IMAGE_SIZES = (160, 224)

_MAX_COPIES = 64  # at most this many candidates per pending child in one round
_MAX_BATCH = 50_000  # and at most this many candidates per efficiency call
_OVERSAMPLE = 2.0  # first round: candidates per child = this / expected acceptance rate
_RETARGET_BELOW = 0.98  # measured / predicted under which search(verify=) searches again
_COPY_ROUNDS = 1  # rounds in which a child identical to a parent is redrawn
_OVERSAMPLE_RETRY = 6.0  # later rounds (few children left): finish in one more round


def _predictor_space(est: Any) -> SearchSpace | None:
    """The search space a fitted estimator (or a Pipeline step) was fitted on, if it says."""
    space = getattr(est, "space_", None)
    if isinstance(space, SearchSpace):
        return space
    for _, step in getattr(est, "steps", []) or []:
        space = getattr(step, "space_", None)
        if isinstance(space, SearchSpace):
            return space
    return None


def _check_predictor(est: Any, role: str) -> None:
    """``est`` has ``predict`` and, if it is an estimator (has ``fit``), is fitted."""
    if not callable(getattr(est, "predict", None)):
        raise TypeError(
            f"{role} must be a fitted estimator with a predict(X) method, got {type(est).__name__}"
        )
    if callable(getattr(est, "fit", None)):
        try:
            check_is_fitted(est)
        except NotFittedError:
            raise NotFittedError(
                f"{role} ({type(est).__name__}) is not fitted; fit it first or pass a fitted "
                f"one (e.g. LatencyTable.from_ofa_yaml, FLOPsModel(space).fit(), "
                f"load_ofa_predictor)"
            ) from None


def _row_keys(codes: np.ndarray) -> np.ndarray:
    """One comparable, hashable scalar per code row (its bytes)."""
    codes = np.ascontiguousarray(codes)
    return codes.view(np.dtype((np.void, codes.dtype.itemsize * codes.shape[1]))).ravel()


def _codes_for(src: SearchSpace, dst: SearchSpace, allowed: dict, role: str):
    """Translate the search's codes (space ``src``) into ``dst``-tagged codes of a predictor,
    after checking once that every value the search can produce exists in ``dst``."""
    try:
        translate = dst.translator_from(src)
    except SpaceMismatchError as exc:
        raise SpaceMismatchError(
            f"{role} works on space {dst.describe()} whose genes or structure differ from the "
            f"search space {src.describe()} ({exc}); pass space= matching the predictors"
        ) from None
    translate.check(allowed, role)
    return _ToSpace(translate, dst)


def _upper_bound(est: Any, probe: Any):
    """``f(X, alpha)`` giving ``est``'s upper bounds, or None (with a warning) when it has none.

    A one-sided ``predict_upper`` is preferred; else the upper end of
    ``predict_interval`` (two-sided, so more conservative at the same alpha).
    """
    import warnings

    why = f"{type(est).__name__} has no predict_interval"
    for name in ("predict_upper", "predict_interval"):
        method = getattr(est, name, None)
        if method is None:
            continue
        try:
            method(probe, alpha=0.5)
        except ValueError as exc:
            why = str(exc)
            continue
        if name == "predict_upper":
            return method
        return lambda X, alpha: _upper_column(method(X, alpha=alpha))
    warnings.warn(
        f"confidence is set but the efficiency predictor gives no interval ({why}); the "
        "constraint is judged on its point prediction",
        UserWarning,
        stacklevel=4,
    )
    return None


def _measure_passes(measure: Any, X: np.ndarray, rounds: int, seed: Any) -> np.ndarray:
    """(rounds, n) measurements of the rows of ``X``, each pass in a new shuffled order."""
    rng = np.random.default_rng(seed if isinstance(seed, numbers.Integral) else None)
    passes = np.empty((rounds, len(X)))
    for r in range(rounds):
        order = np.arange(len(X)) if r == 0 else rng.permutation(len(X))
        got = np.asarray(measure(X[order]), dtype=np.float64).ravel()
        if got.shape != (len(X),) or not (np.isfinite(got) & (got > 0)).all():
            raise ValueError(
                f"measure gave {got!r} for {len(X)} archs; expected one latency > 0 per arch"
            )
        passes[r, order] = got
    return passes


def _pass_margin(passes: np.ndarray, confidence: float | None) -> float:
    """Relative margin over the median that a re-measurement stays under at ``confidence``."""
    rounds = len(passes)
    if confidence is None or rounds < 2:
        return 0.0
    from scipy.stats import norm

    rel = passes / np.median(passes, axis=0) - 1
    spread = float(np.sqrt(np.sum(rel**2) / (rel.shape[1] * (rounds - 1))))
    return float(norm.ppf(confidence)) * spread * np.sqrt(2 / rounds)


def _upper_column(bounds: Any) -> Any:
    bounds = np.asarray(bounds)
    return bounds[:, 1] if bounds.ndim == 2 and bounds.shape[1:] == (2,) else bounds


def _steps_predict(est: Any):
    """``est.predict``, or for a Pipeline its steps called directly.

    ``Pipeline.predict`` re-checks every step is fitted on each call: a tenth of
    a millisecond that thousands of calls of one search repeat. The search has
    checked the predictors once (:func:`_check_predictor`); each step's own
    ``transform``/``predict`` still validates its input. With metadata routing
    enabled the Pipeline's own ``predict`` is used.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.metadata_routing import _routing_enabled

    if not isinstance(est, Pipeline) or _routing_enabled():
        return est.predict
    transforms = [step for _, _, step in est._iter(with_final=False)]
    final = est.steps[-1][1].predict

    def predict(X: Any) -> Any:
        for step in transforms:
            X = step.transform(X)
        return final(X)

    return predict


class _ToSpace:
    """Checked search codes -> ``dst``-tagged predictor codes (a class, so finders pickle)."""

    def __init__(self, translate: Any, dst: SearchSpace):
        self.translate = translate
        self.dst = dst

    def __call__(self, codes: np.ndarray) -> Codes:
        return CheckedCodes(self.translate(codes, checked=True), self.dst)


class _Population(NamedTuple):
    """A population: full and masked codes, accuracy and efficiency of each arch."""

    full: np.ndarray
    masked: np.ndarray
    acc: np.ndarray
    eff: np.ndarray

    def take(self, idx: np.ndarray) -> _Population:
        return _Population(self.full[idx], self.masked[idx], self.acc[idx], self.eff[idx])

    def concat(self, other: _Population) -> _Population:
        return _Population(*(np.concatenate(pair) for pair in zip(self, other)))


class EvolutionFinder(VersionStampMixin, BaseEstimator):
    """Regularised evolutionary search for the most accurate arch under an efficiency budget.

    Each generation keeps the ``parent_ratio`` most accurate archs of the
    population (elitism) and breeds ``population_size`` children from them:
    ``mutation_ratio`` of them by mutating one random parent, the rest by
    uniform crossover of two. A child whose predicted efficiency exceeds
    ``constraint`` is redrawn from the same parent(s) until it fits, as in
    OFA's ``EvolutionFinder``; here all children are drawn, filtered and
    redrawn as batches, and each child is scored by one batched accuracy
    prediction per generation. By default a child identical to a parent is
    redrawn too (``redraw_copies``).

    Parameters
    ----------
    accuracy_predictor : fitted estimator
        Anything with ``predict(X)`` returning accuracy (higher is better),
        e.g. the pipeline of :func:`sklearn_ofa.make_accuracy_pipeline` or
        :func:`sklearn_ofa.load_ofa_predictor`. It receives the code matrix.
    efficiency_predictor : fitted estimator
        Anything with ``predict(X)`` returning a cost (lower is better), e.g.
        :class:`~sklearn_ofa.LatencyTable` (ms) or :class:`~sklearn_ofa.FLOPsModel`
        (MMACs). It receives the code matrix.
    constraint : float, optional
        Efficiency budget: every arch of the search has
        ``efficiency_predictor.predict <= constraint``. None searches without one.
    confidence : float, optional
        Judge the constraint on the upper end of the efficiency predictor's
        ``predict_interval(X, alpha=1 - confidence)`` instead of its point
        prediction (e.g. 0.95 with a calibrated
        :class:`~sklearn_ofa.LatencyTable`), so that a returned arch meets the
        budget with that confidence. A predictor without intervals (no
        ``predict_interval``, or an uncalibrated table) is judged on its point
        prediction, with a ``UserWarning`` saying so. The recorded efficiencies
        are then these upper bounds.
    space : str or SearchSpace, optional
        Search space; default: the space the efficiency (else the accuracy)
        predictor was fitted on (its ``space_``). Codes are translated to
        each predictor's own space when they differ (e.g. only in image sizes).
    population_size : int, default=100
        Archs per generation (and children bred per generation).
    parent_ratio : float, default=0.25
        Fraction of the population kept as parents each generation.
    mutation_ratio : float, default=0.5
        Fraction of the children made by mutation (the rest by crossover).
    mutate_prob : float, default=0.1
        Probability that a mutation redraws each gene.
    resolution_mutate_prob : float, optional
        Probability that a mutation redraws the image size (default: ``mutate_prob``).
    n_generations : int, default=500
        Generations after the random initial population (OFA's ``max_time_budget``).
    image_sizes : "auto", None or list of int, default="auto"
        Image sizes the search may use. ``"auto"`` keeps ``ofa_mbv3_*`` spaces
        within :data:`TRUSTED_IMAGE_SIZES` (160-224, where OFA's pretrained
        predictor was trained) and uses every size elsewhere; None uses every
        size of the space.
    max_rounds : int, default=50
        Redraw rounds per batch before a child that still violates the
        constraint is replaced by a copy of its parent (for the initial random
        population the search raises instead).
    redraw_copies : bool, default=True
        Redraw a child identical to one of its generation's parents, as if it
        exceeded the budget: a copy adds nothing to the population. With False
        copies are kept (OFA's behaviour); they still cost no extra prediction.
    random_state : int, numpy Generator or None, default=None
        Seed or Generator of every random draw of the search.
    verbose : bool, default=False
        Progress bar over generations.

    Attributes
    ----------
    space_ : SearchSpace
        The search space, restricted to the searched image sizes.
    best_arch_ : dict
    best_codes_ : ndarray of shape (n_genes,)
    best_accuracy_ : float
    best_efficiency_ : float
    history_ : Bunch
        Per generation (``n_generations + 1`` entries, generation 0 being the
        random population): ``generation``, ``best_accuracy`` (non-decreasing),
        ``best_efficiency``, ``mean_parent_accuracy``, ``n_candidates`` (archs
        whose efficiency was predicted) and ``seconds``.
    evaluated_ : Bunch
        Every arch scored by the accuracy predictor: ``codes`` (masked code
        matrix), ``accuracy``, ``efficiency``, ``generation``.
    n_accuracy_predictions_ : int
        Archs the accuracy predictor scored (a child identical to an arch
        scored earlier in the search reuses that prediction).
    n_fallback_ : int
        Children replaced by a copy of their parent after ``max_rounds``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_ofa import FLOPsModel
    >>> from sklearn_ofa.search import EvolutionFinder
    >>> flops = FLOPsModel("ofa_mbv3_w1.2").fit()
    >>> space = flops.space_
    >>> X = space.sample_codes(200, random_state=0)
    >>> acc = Ridge().fit(X, np.log(flops.predict(X)))  # toy accuracy: more MACs, higher
    >>> finder = EvolutionFinder(acc, flops, constraint=300, population_size=20,
    ...                          n_generations=5, random_state=0)
    >>> result = finder.search()
    >>> bool(result.efficiency <= 300), len(result.history.best_accuracy)
    (True, 6)
    """

    _parameter_constraints: ClassVar[dict] = {
        "accuracy_predictor": [object],
        "efficiency_predictor": [object],
        "constraint": [Interval(numbers.Real, None, None, closed="neither"), None],
        "confidence": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "space": [str, SearchSpace, None],
        "population_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "parent_ratio": [Interval(numbers.Real, 0, 1, closed="right")],
        "mutation_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "mutate_prob": [Interval(numbers.Real, 0, 1, closed="both")],
        "resolution_mutate_prob": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "n_generations": [Interval(numbers.Integral, 0, None, closed="left")],
        "image_sizes": [StrOptions({"auto"}), list, tuple, None],
        "max_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state", np.random.Generator],
        "redraw_copies": ["boolean"],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        accuracy_predictor: Any,
        efficiency_predictor: Any,
        constraint: float | None = None,
        *,
        confidence: float | None = None,
        space: Any = None,
        population_size: int = 100,
        parent_ratio: float = 0.25,
        mutation_ratio: float = 0.5,
        mutate_prob: float = 0.1,
        resolution_mutate_prob: float | None = None,
        n_generations: int = 500,
        image_sizes: Any = "auto",
        max_rounds: int = 50,
        redraw_copies: bool = True,
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.accuracy_predictor = accuracy_predictor
        self.efficiency_predictor = efficiency_predictor
        self.constraint = constraint
        self.confidence = confidence
        self.space = space
        self.population_size = population_size
        self.parent_ratio = parent_ratio
        self.mutation_ratio = mutation_ratio
        self.mutate_prob = mutate_prob
        self.resolution_mutate_prob = resolution_mutate_prob
        self.n_generations = n_generations
        self.image_sizes = image_sizes
        self.max_rounds = max_rounds
        self.redraw_copies = redraw_copies
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        for name in ("accuracy_predictor", "efficiency_predictor"):
            _check_predictor(getattr(self, name), name)
        acc_space = _predictor_space(self.accuracy_predictor)
        eff_space = _predictor_space(self.efficiency_predictor)
        if self.space is not None:
            base = get_space(self.space)
        elif eff_space is not None or acc_space is not None:
            base = eff_space if eff_space is not None else acc_space
        else:
            raise ValueError(
                "space = None cannot be inferred: neither predictor has a space_ attribute; "
                "pass space= (one of sklearn_ofa.spaces.list_spaces() or a SearchSpace)"
            )
        sizes = self._resolve_image_sizes(base, [s for s in (acc_space, eff_space) if s])
        space = base if tuple(sizes) == base.image_sizes else get_space(base, image_sizes=sizes)
        self.space_ = space
        self._r_col = int(space.key_columns["image_size"][0])
        allowed = {self._r_col: np.arange(len(sizes))}
        self._acc_codes = _codes_for(space, acc_space or base, allowed, "accuracy_predictor")
        self._eff_codes = _codes_for(space, eff_space or base, allowed, "efficiency_predictor")
        rprob = (
            self.mutate_prob if self.resolution_mutate_prob is None else self.resolution_mutate_prob
        )
        self._gene_prob = np.full(space.n_genes, float(self.mutate_prob))
        self._gene_prob[self._r_col] = rprob
        self._upper = None
        if self.confidence is not None:
            probe = self._eff_codes(space.sample_codes(1, random_state=0))
            self._upper = _upper_bound(self.efficiency_predictor, probe)
        self._predict_acc = _steps_predict(self.accuracy_predictor)
        self._predict_eff = _steps_predict(self.efficiency_predictor)
        self._n_par = max(1, round(self.parent_ratio * self.population_size))
        self._n_mut = round(self.mutation_ratio * self.population_size)

    def _resolve_image_sizes(self, base: SearchSpace, others: list[SearchSpace]) -> list[int]:
        allowed = list(base.image_sizes)
        if self.image_sizes is None:
            return allowed
        if isinstance(self.image_sizes, str):  # "auto"
            sizes = allowed
            for other in others:
                sizes = [r for r in sizes if r in other.image_sizes]
            if base.name.startswith("ofa_mbv3"):
                lo, hi = TRUSTED_IMAGE_SIZES
                sizes = [r for r in sizes if lo <= r <= hi] or sizes
            if not sizes:
                raise ValueError(
                    f"image_sizes = 'auto' found no image size shared by the predictors; "
                    f"allowed values: {allowed}"
                )
            return sizes
        sizes = sorted({int(r) for r in self.image_sizes})
        bad = [r for r in self.image_sizes if r not in allowed]
        if bad or not sizes:
            raise ValueError(
                f"image_sizes = {list(self.image_sizes)!r} is not allowed: "
                f"each must be one of the space's image sizes {allowed}"
            )
        return sizes

    # ------------------------------------------------------------ operators
    def _mask(self, full: np.ndarray) -> np.ndarray:
        """Masked code matrix (``-1`` in switched-off slots) of full codes."""
        return self.space_.mask_inactive(full.copy())

    def _random_candidates(self, rows: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` random full-code candidates per pending row (the initial population)."""
        return self.space_.sample_codes(len(rows) * k, rng, masked=False)

    def _breed(
        self,
        par: np.ndarray,
        ia: np.ndarray,
        ib: np.ndarray,
        rows: np.ndarray,
        k: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """``k`` candidate children per pending child index in ``rows`` (ascending): the
        first ``n_mut`` children mutate parent ``ia``, the others cross ``ia`` with ``ib``."""
        rows = np.repeat(rows, k)
        m = int(np.searchsorted(rows, self._n_mut))  # rows[:m] are mutations
        space = self.space_
        cross = space.crossover_full_codes(par[ia[rows[m:]]], par[ib[rows[m:]]], rng)
        mut = space.mutate_full_codes(par[ia[rows[:m]]], self._gene_prob, rng)
        return np.concatenate([mut, cross])

    def _efficiency(self, codes: np.ndarray) -> np.ndarray:
        X = self._eff_codes(codes)
        if getattr(self, "_upper", None) is not None:
            eff = self._upper(X, 1 - float(self.confidence))
        else:
            eff = self._predict_eff(X)
        return self._checked(eff, codes, "efficiency_predictor")

    def _accuracy(self, codes: np.ndarray) -> np.ndarray:
        acc = self._predict_acc(self._acc_codes(codes))
        return self._checked(acc, codes, "accuracy_predictor")

    def _checked(self, raw: Any, codes: np.ndarray, role: str) -> np.ndarray:
        """``raw`` as a float vector of one finite value per code row, or a ValueError.

        A NaN or inf prediction would silently decide the search (NaN is never
        feasible, never the best; inf always is, or never): refuse it instead.
        One vectorised test on the happy path.
        """
        n = len(codes)
        try:
            out = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            kind = getattr(getattr(raw, "dtype", None), "name", type(raw).__name__)
            raise ValueError(
                f"{role}.predict returned non-numeric output ({kind}) for {n} archs; "
                f"allowed: one finite number per arch"
            ) from None
        if out.shape != (n,):
            if out.shape != (n, 1):
                raise ValueError(
                    f"{role}.predict returned an array of shape {out.shape} for {n} archs; "
                    f"allowed: shape ({n},) (one finite number per arch)"
                )
            out = out.reshape(n)
        if not np.isfinite(out).all():
            bad = np.flatnonzero(~np.isfinite(out))
            i = int(bad[0])
            try:
                example = self.space_.from_codes(np.asarray(codes[i : i + 1]))[0]
            except (ValueError, TypeError):  # pragma: no cover - codes come from the space
                example = np.asarray(codes[i]).tolist()
            raise ValueError(
                f"{role}.predict returned {len(bad)} non-finite value(s) (NaN or inf) for {n} "
                f"archs; allowed: finite numbers; e.g. {out[i]} for arch {example}"
            )
        return out

    def _accuracy_new(self, kids: np.ndarray) -> np.ndarray:
        """Accuracy of the children; each distinct arch is predicted once per search."""
        keys = _row_keys(kids)
        memo = self._memo
        known = [memo.get(k) for k in keys.tolist()]
        todo = np.array([v is None for v in known])
        acc = np.array([np.nan if v is None else v for v in known], dtype=np.float64)
        if todo.any():
            new_keys, first, inverse = np.unique(keys[todo], return_index=True, return_inverse=True)
            pred = self._accuracy(kids[np.flatnonzero(todo)[first]])
            acc[todo] = pred[inverse.ravel()]
            memo.update(zip(new_keys.tolist(), pred.tolist()))
            self._n_predicted += len(first)
        return acc

    def _draw_feasible(
        self, n: int, make, rng: np.random.Generator, initial: bool, forbid: set | None = None
    ):
        """Draw ``n`` children under the constraint, redrawing rejected rows in rounds.

        ``make(rows, k, rng)`` returns ``k`` candidate full-code rows for each row
        index in ``rows`` (row-major). Each round predicts the efficiency of all
        candidates in one call and keeps the first feasible candidate of each row.
        Candidates whose row key (:func:`_row_keys`) is in the set ``forbid``
        (the parents) count as rejected. Returns the drawn population (without
        accuracy), the rows still pending after ``max_rounds`` and the number of
        candidates whose efficiency was predicted.
        """
        G = self.space_.n_genes
        full = np.empty((n, G), dtype=CODE_DTYPE)
        masked_out = np.empty((n, G), dtype=CODE_DTYPE)
        eff = np.empty(n, dtype=np.float64)
        pending = np.arange(n)
        limit = np.inf if self.constraint is None else float(self.constraint)
        rate = self._accept_rate
        n_candidates = 0
        for round_ in range(self.max_rounds):
            factor = _OVERSAMPLE if round_ == 0 else _OVERSAMPLE_RETRY
            k = int(np.clip(np.ceil(factor / max(rate, 1e-3)), 1, _MAX_COPIES))
            k = max(1, min(k, _MAX_BATCH // max(len(pending), 1)))
            cand = make(pending, k, rng)
            masked = self._mask(cand)
            if forbid is None or round_ >= _COPY_ROUNDS:
                cand_eff = self._efficiency(masked)
            else:  # copies of parents are rejected in the first round only, then accepted
                cand_eff = np.full(len(cand), np.inf)
                new = np.array(
                    [key not in forbid for key in _row_keys(masked).tolist()], dtype=bool
                )
                if new.any():
                    cand_eff[new] = self._efficiency(masked[new])
            n_candidates += int(np.isfinite(cand_eff).sum())
            ok = (cand_eff <= limit).reshape(len(pending), k)
            if round_ == 0:  # the first round is a fair sample of the acceptance rate
                rate = 0.5 * rate + 0.5 * max(ok.mean(), 1.0 / ok.size)
            found = ok.any(1)
            pick = np.arange(len(pending)) * k + ok.argmax(1)
            full[pending[found]] = cand[pick[found]]
            masked_out[pending[found]] = masked[pick[found]]
            eff[pending[found]] = cand_eff[pick[found]]
            pending = pending[~found]
            if not len(pending):
                break
        self._accept_rate = rate
        if len(pending) and initial:
            raise ValueError(
                f"constraint = {self.constraint!r} is too tight: after {self.max_rounds} rounds "
                f"{len(pending)} of {n} random archs still exceed it (smallest efficiency seen: "
                f"{cand_eff.min():.4g}); allowed: a larger constraint or max_rounds"
            )
        return _Population(full, masked_out, None, eff), pending, n_candidates

    # ----------------------------------------------------------------- search
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> EvolutionFinder:
        """Run the search with ``constraint``.

        Parameters
        ----------
        X, y : None
            Ignored (scikit-learn's ``fit`` signature).

        Returns
        -------
        EvolutionFinder
            This finder, fitted.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            A predictor is an estimator that is not fitted (checked before any work).
        """
        self._run()
        return self

    def search(
        self,
        constraint: float | None = None,
        *,
        verify: int | None = None,
        verify_rounds: int = 3,
        verify_tries: int = 3,
        retarget: bool = True,
    ) -> Bunch:
        """Run the search and return its result.

        Parameters
        ----------
        constraint : float, optional
            Overrides the ``constraint`` parameter for this run (it is stored
            with ``set_params``).
        verify : int, optional
            Then measure the best ``verify`` archs end to end (:meth:`verify`)
            and return the best one whose measured efficiency meets the constraint.
        verify_rounds, verify_tries : int, default=3
            ``rounds`` and ``tries`` of :meth:`verify`.
        retarget : bool, default=True
            With ``verify``: when the measured archs come out faster than their
            predictions (the median ratio of measured bound to prediction below
            0.98: a table calibrated while the device was slower, say), search
            once more with the constraint divided by that ratio, verify that
            search's archs against the real constraint, and keep the more
            accurate of the two verified results (``verification.searched_constraint``
            says which constraint the kept search ran under).

        Returns
        -------
        Bunch
            ``arch`` (dict), ``codes``, ``accuracy``, ``efficiency``,
            ``constraint``, ``history`` and ``evaluated`` (see the attributes);
            with ``verify`` also ``measured_efficiency`` and ``verification``.
        """
        if constraint is not None:
            self.set_params(constraint=constraint)
        self.fit()
        if verify is not None:
            check_bool("retarget", retarget)
            self.verify(verify, rounds=verify_rounds, tries=verify_tries)
            if retarget:
                self._retarget(verify, verify_rounds, verify_tries)
        return self.result()

    def _retarget(self, k: int, rounds: int, tries: int) -> None:
        """Search again under the constraint scaled by measured / predicted, if that is < 0.98."""
        ver, limit = self.verification_, self.constraint
        ratio = float(np.median(ver.measured_bound / ver.predicted_efficiency))
        if limit is None or not ratio < _RETARGET_BELOW:
            return
        first = {n: v for n, v in vars(self).items() if n.endswith("_") and not n.startswith("_")}
        self.set_params(constraint=float(limit) / ratio)
        try:
            self.fit()
        finally:
            self.set_params(constraint=limit)
        try:
            self.verify(k, rounds=rounds, tries=tries)
            self.verification_.searched_constraint = float(limit) / ratio
            kept = self.best_accuracy_ >= first["best_accuracy_"]
        except ValueError:
            kept = False
        if not kept:
            self.__dict__.update(first)

    def verify(self, k: int = 5, *, rounds: int = 3, tries: int = 3) -> Bunch:
        """Measure the ``k`` best distinct archs of the last search; keep the best that fits.

        The efficiency predictor's ``measure`` (e.g. :meth:`LatencyTable.measure
        <sklearn_ofa.efficiency.LatencyTable.measure>`, same backend and settings
        as its table) times the ``k`` most accurate distinct archs the search
        evaluated, end to end, in ``rounds`` passes (each in a new shuffled
        order); an arch's measured efficiency is its median over the passes. The
        result of the finder becomes the most accurate arch whose measured
        efficiency is within the constraint. When none is, up to ``tries - 1``
        more groups of ``k`` are measured: the most accurate evaluated archs
        whose prediction is lower by the factor the last group missed by
        (constraint over that group's median ratio of measured bound to prediction).

        With ``confidence`` set (and ``rounds >= 2``) the measurement is judged at
        that confidence too: an arch fits when ``median * (1 + z * s * sqrt(2 / rounds))``
        is within the constraint, where ``s`` is the relative spread of one pass
        (pooled over the measured archs) and ``z`` the normal quantile of
        ``confidence``: a second measurement of the same kind then stays within
        the constraint with about that probability, instead of one time in two
        for an arch measured right at it.

        Parameters
        ----------
        k : int, default=5
            Archs measured per try, the most accurate first.
        rounds : int, default=3
            Measuring passes over each group of archs.
        tries : int, default=3
            Groups measured at most before giving up.

        Returns
        -------
        Bunch
            Of every measured arch, most accurate first: ``codes`` (masked rows),
            ``accuracy``, ``predicted_efficiency``, ``measured_efficiency``
            (medians), ``measured_bound`` (judged against the constraint: the
            median itself without ``confidence``), ``passes`` (rounds x archs),
            ``feasible`` (bound within the constraint); ``chosen`` (index of the
            returned arch, or None) and ``tries`` (groups measured).

        Raises
        ------
        TypeError
            The efficiency predictor cannot measure (it has no ``measure``).
        ValueError
            ``k``, ``rounds`` or ``tries`` is not an int >= 1, or no measured
            arch meets the constraint (the finder keeps its unverified result).
        """
        check_is_fitted(self, "best_codes_")
        for name, value in (("verify", k), ("rounds", rounds), ("tries", tries)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} = {value!r} is not allowed; allowed values: an int >= 1")
        measure = getattr(self.efficiency_predictor, "measure", None)
        if measure is None:
            raise TypeError(
                f"verify needs an efficiency predictor that measures archs (a LatencyTable); "
                f"{type(self.efficiency_predictor).__name__} has no measure()"
            )
        ev = self.evaluated_
        _, first = np.unique(_row_keys(ev["codes"]), return_index=True)
        ranked = first[np.argsort(-ev["accuracy"][first], kind="stable")]
        limit = np.inf if self.constraint is None else float(self.constraint)
        cap, idx, passes, n_tries = np.inf, np.zeros(0, dtype=np.intp), np.zeros((rounds, 0)), 0
        measured = bound = np.zeros(0)
        while n_tries < tries:
            group = ranked[(ev["efficiency"][ranked] <= cap) & ~np.isin(ranked, idx)][: int(k)]
            if not len(group):
                break
            got = _measure_passes(measure, self._eff_codes(ev["codes"][group]), rounds, n_tries)
            idx, passes, n_tries = (
                np.concatenate([idx, group]),
                np.hstack([passes, got]),
                n_tries + 1,
            )
            measured = np.median(passes, axis=0)
            bound = measured * (1 + _pass_margin(passes, self.confidence))
            if (bound <= limit).any():
                break
            # the factor this group missed by (a cumulative ratio barely moves the cap
            # once a second group misses too)
            last = slice(-len(group), None)
            cap = min(cap, limit / float(np.median(bound[last] / ev["efficiency"][group])))
        order = np.argsort(-ev["accuracy"][idx], kind="stable")
        idx, passes, measured, bound = idx[order], passes[:, order], measured[order], bound[order]
        feasible = bound <= limit
        chosen = int(np.argmax(feasible)) if feasible.any() else None
        self.verification_ = Bunch(
            codes=ev["codes"][idx],
            accuracy=ev["accuracy"][idx],
            predicted_efficiency=ev["efficiency"][idx],
            measured_efficiency=measured,
            measured_bound=bound,
            passes=passes,
            feasible=feasible,
            chosen=chosen,
            tries=n_tries,
            searched_constraint=self.constraint,
        )
        if chosen is None:
            judged = "measured" if self.confidence is None else f"bounded at {self.confidence:g}"
            raise ValueError(
                f"none of the {len(idx)} measured archs ({n_tries} of at most {tries} tries) "
                f"meets constraint = {self.constraint!r} when {judged} (measured "
                f"{measured.min():.4g} to {measured.max():.4g}, bound from {bound.min():.4g}, "
                f"predicted {ev['efficiency'][idx].min():.4g} to "
                f"{ev['efficiency'][idx].max():.4g}); verify more archs, allow more tries, or "
                "recalibrate the table"
            )
        codes = self.verification_.codes
        self.best_codes_ = codes[chosen].copy()
        self.best_arch_ = self.space_.from_codes(codes[chosen : chosen + 1])[0]
        self.best_accuracy_ = float(self.verification_.accuracy[chosen])
        self.best_efficiency_ = float(self.verification_.predicted_efficiency[chosen])
        return self.verification_

    def result(self) -> Bunch:
        """The result of the last search.

        Returns
        -------
        Bunch
            As returned by :meth:`search`.
        """
        check_is_fitted(self, "best_codes_")
        extra = {}
        ver = getattr(self, "verification_", None)
        if ver is not None and ver.chosen is not None:
            extra = {
                "measured_efficiency": float(ver.measured_efficiency[ver.chosen]),
                "verification": ver,
            }
        return Bunch(
            **extra,
            arch=self.best_arch_,
            codes=self.best_codes_,
            accuracy=self.best_accuracy_,
            efficiency=self.best_efficiency_,
            constraint=self.constraint,
            history=self.history_,
            evaluated=self.evaluated_,
        )

    def _run(self) -> None:
        self.__dict__.pop("verification_", None)
        self._setup()
        rng = np.random.default_rng(self.random_state)
        self._start_history()
        bar = self._progress_bar()
        try:
            pop = self._initial_population(rng)
            for g in range(1, int(self.n_generations) + 1):
                pop = self._next_generation(g, pop, rng)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(acc=f"{pop.acc.max():.4f}")
            self._finish(pop)
        finally:  # the run's scratch state, also after an error
            for name in ("_memo", "_ev", "_hist", "_predict_acc", "_predict_eff", "_upper"):
                self.__dict__.pop(name, None)
            if bar is not None:
                bar.close()

    def _initial_population(self, rng: np.random.Generator) -> _Population:
        """Generation 0: ``population_size`` random archs under the constraint."""
        t0 = time.perf_counter()
        drawn, _, n_cand = self._draw_feasible(
            self.population_size, self._random_candidates, rng, initial=True
        )
        full, masked, _, eff = drawn
        acc = self._accuracy(masked)
        self._memo = dict(zip(_row_keys(masked).tolist(), acc.tolist()))
        pop = _Population(full, masked, acc, eff)
        self._log_generation(0, pop, pop, np.nan, n_cand, t0)
        return pop

    def _next_generation(self, g: int, pop: _Population, rng: np.random.Generator) -> _Population:
        """Generation ``g``: the parents of ``pop`` and their children."""
        t0 = time.perf_counter()
        par = pop.take(self._parents(pop))
        ia, ib = self._pair_parents(len(par.acc), rng)

        def make(rows, k, r):
            return self._breed(par.full, ia, ib, rows, k, r)

        forbid = set(_row_keys(par.masked).tolist()) if self.redraw_copies else None
        drawn, stuck, n_cand = self._draw_feasible(self.population_size, make, rng, False, forbid)
        full, masked, _, eff = drawn
        if len(stuck):  # keep the (feasible) first parent after max_rounds
            full[stuck], eff[stuck] = par.full[ia[stuck]], par.eff[ia[stuck]]
            masked[stuck] = par.masked[ia[stuck]]
            self.n_fallback_ += len(stuck)
        kids = _Population(full, masked, self._accuracy_new(masked), eff)
        pop = par.concat(kids)
        self._log_generation(g, kids, pop, par.acc.mean(), n_cand, t0)
        return pop

    def _parents(self, pop: _Population) -> np.ndarray:
        """Indices of the ``n_par`` most accurate archs (distinct ones with ``redraw_copies``)."""
        order = np.argsort(-pop.acc, kind="stable")
        if self.redraw_copies:  # parents are distinct archs
            _, first = np.unique(_row_keys(pop.masked[order]), return_index=True)
            order = order[np.sort(first)]
        return order[: self._n_par]

    def _pair_parents(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Parent indices ``ia``, ``ib`` of every child (``ib`` only used by crossovers)."""
        P = self.population_size
        ia = rng.integers(n, size=P)
        if self.redraw_copies and n > 1:  # a crossover of a parent with itself is a copy
            return ia, (ia + 1 + rng.integers(n - 1, size=P)) % n
        return ia, rng.integers(n, size=P)

    # ---------------------------------------------------------------- history
    def _start_history(self) -> None:
        """The run's counters and the preallocated ``evaluated_`` / ``history_`` arrays."""
        P, G = int(self.population_size), int(self.n_generations)
        self._accept_rate = 1.0
        self.n_fallback_ = 0
        self._n_predicted = P
        n_total = P * (G + 1)
        self._ev = Bunch(
            codes=np.empty((n_total, self.space_.n_genes), dtype=CODE_DTYPE),
            accuracy=np.empty(n_total),
            efficiency=np.empty(n_total),
            generation=np.repeat(np.arange(G + 1), P),
        )
        self._hist = {
            k: np.empty(G + 1)
            for k in ("best_accuracy", "best_efficiency", "mean_parent_accuracy", "seconds")
        }
        self._hist["n_candidates"] = np.zeros(G + 1, dtype=np.int64)

    def _log_generation(
        self, g: int, kids: _Population, pop: _Population, parent_acc: float, n_cand: int, t0: float
    ) -> None:
        """Record generation ``g``: its new archs and the population's best."""
        rows = slice(g * len(kids.acc), (g + 1) * len(kids.acc))
        self._ev.codes[rows], self._ev.accuracy[rows] = kids.masked, kids.acc
        self._ev.efficiency[rows] = kids.eff
        best = int(np.argmax(pop.acc))
        hist = self._hist
        hist["best_accuracy"][g], hist["best_efficiency"][g] = pop.acc[best], pop.eff[best]
        hist["mean_parent_accuracy"][g] = parent_acc
        hist["n_candidates"][g] = n_cand
        hist["seconds"][g] = time.perf_counter() - t0

    def _progress_bar(self):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=int(self.n_generations), desc=f"search (constraint {self.constraint})")

    def _finish(self, pop: _Population) -> None:
        """The fitted attributes, from the last population and the log."""
        best = int(np.argmax(pop.acc))
        self.best_codes_ = pop.masked[best].copy()
        self.best_arch_ = self.space_.from_codes(pop.masked[best : best + 1])[0]
        self.best_accuracy_ = float(pop.acc[best])
        self.best_efficiency_ = float(pop.eff[best])
        self.n_accuracy_predictions_ = self._n_predicted
        self.history_ = Bunch(generation=np.arange(int(self.n_generations) + 1), **self._hist)
        self.evaluated_ = self._ev
