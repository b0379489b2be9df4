"""Regularised evolution over code matrices, driven by accuracy and efficiency predictors.

One generation is a handful of numpy operations on the whole population:
parent selection, mutation and crossover of every child at once, constraint
filtering in vectorised rounds, one batched accuracy prediction.

The search keeps *full* codes internally: block slots that the depth switches
off keep a hidden gene value (as an arch dict does), so a depth mutation that
switches a slot back on restores it. Predictors always receive the masked code
matrix of the space (``-1`` for switched-off slots).
"""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._constraints import StrictInterval as Interval
from ..exceptions import SpaceMismatchError
from ..spaces import CODE_DTYPE, Codes, SearchSpace, get_space

__all__ = ["EvolutionFinder", "TRUSTED_IMAGE_SIZES"]

#: Image sizes at which OFA's pretrained MobileNetV3 accuracy predictor was trained;
#: ``image_sizes="auto"`` keeps an ``ofa_mbv3_*`` search inside them.
TRUSTED_IMAGE_SIZES = (160, 224)

_MAX_COPIES = 64  # at most this many candidates per pending child in one round
_MAX_BATCH = 50_000  # and at most this many candidates per efficiency call
_OVERSAMPLE = 2.0  # first round: candidates per child = this / expected acceptance rate
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

    def convert(codes: np.ndarray) -> Codes:
        return Codes(translate(codes, checked=True), dst)

    return convert


class EvolutionFinder(BaseEstimator):
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
    space : str or SearchSpace, optional
        Search space; default: the space the efficiency (else the accuracy)
        predictor was fitted on (its ``space_``). Codes are translated to
        each predictor's own space when they differ (e.g. only in image sizes).
    population_size : int, default=100
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

    _parameter_constraints: dict = {
        "accuracy_predictor": [object],
        "efficiency_predictor": [object],
        "constraint": [Interval(numbers.Real, None, None, closed="neither"), None],
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
            if not callable(getattr(getattr(self, name), "predict", None)):
                raise TypeError(
                    f"{name} must be a fitted estimator with a predict(X) method, "
                    f"got {type(getattr(self, name)).__name__}"
                )
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
        rprob = self.mutate_prob if self.resolution_mutate_prob is None else self.resolution_mutate_prob
        self._gene_prob = np.full(space.n_genes, float(self.mutate_prob))
        self._gene_prob[self._r_col] = rprob

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
        codes = full.copy()
        self.space_._mask_inactive(codes)
        return codes

    def _random_full(self, n: int, rng: np.random.Generator) -> np.ndarray:
        n_choices = self.space_.n_choices
        return (rng.random((n, self.space_.n_genes)) * n_choices[None, :]).astype(CODE_DTYPE)

    def _breed(
        self, pa: np.ndarray, pb: np.ndarray, is_mut: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Children of parent rows: mutation of ``pa`` where ``is_mut``, else uniform
        crossover of ``pa`` and ``pb``."""
        child = pa.copy()
        cross = np.flatnonzero(~is_mut)
        if len(cross):
            take_b = rng.integers(0, 2, size=(len(cross), pa.shape[1]), dtype=np.uint8) == 1
            child[cross] = np.where(take_b, pb[cross], pa[cross])
        mut = np.flatnonzero(is_mut)
        if len(mut):
            flip = rng.random((len(mut), pa.shape[1])) < self._gene_prob[None, :]
            rows, cols = np.nonzero(flip)
            new = rng.random(len(rows)) * self.space_.n_choices[cols]
            child[mut[rows], cols] = new.astype(CODE_DTYPE)
        return child

    def _efficiency(self, codes: np.ndarray) -> np.ndarray:
        eff = self.efficiency_predictor.predict(self._eff_codes(codes))
        return self._checked(eff, codes, "efficiency_predictor")

    def _accuracy(self, codes: np.ndarray) -> np.ndarray:
        acc = self.accuracy_predictor.predict(self._acc_codes(codes))
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

    def _draw_feasible(self, n: int, make, rng: np.random.Generator, initial: bool,
                       forbid: set | None = None):
        """Draw ``n`` children under the constraint, redrawing rejected rows in rounds.

        ``make(rows, k, rng)`` returns ``k`` candidate full-code rows for each row
        index in ``rows`` (row-major). Each round predicts the efficiency of all
        candidates in one call and keeps the first feasible candidate of each row.
        Candidates whose row key (:func:`_row_keys`) is in the set ``forbid``
        (the parents) count as rejected.
        """
        G = self.space_.n_genes
        full = np.empty((n, G), dtype=CODE_DTYPE)
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
                new = np.array([key not in forbid for key in _row_keys(masked).tolist()], dtype=bool)
                if new.any():
                    cand_eff[new] = self._efficiency(masked[new])
            n_candidates += int(np.isfinite(cand_eff).sum())
            ok = (cand_eff <= limit).reshape(len(pending), k)
            if round_ == 0:  # the first round is a fair sample of the acceptance rate
                rate = 0.5 * rate + 0.5 * max(ok.mean(), 1.0 / ok.size)
            found = ok.any(1)
            pick = np.arange(len(pending)) * k + ok.argmax(1)
            full[pending[found]] = cand[pick[found]]
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
        return full, eff, pending, n_candidates

    # ----------------------------------------------------------------- search
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> "EvolutionFinder":
        """Run the search with ``constraint`` (``X`` and ``y`` are ignored)."""
        self._run()
        return self

    def search(self, constraint: float | None = None) -> Bunch:
        """Run the search and return its result.

        Parameters
        ----------
        constraint : float, optional
            Overrides the ``constraint`` parameter for this run (it is stored
            with ``set_params``).

        Returns
        -------
        Bunch
            ``arch`` (dict), ``codes``, ``accuracy``, ``efficiency``,
            ``constraint``, ``history`` and ``evaluated`` (see the attributes).
        """
        if constraint is not None:
            self.set_params(constraint=constraint)
        self.fit()
        return self.result()

    def result(self) -> Bunch:
        """The result of the last search as a Bunch (see :meth:`search`)."""
        check_is_fitted(self, "best_codes_")
        return Bunch(
            arch=self.best_arch_,
            codes=self.best_codes_,
            accuracy=self.best_accuracy_,
            efficiency=self.best_efficiency_,
            constraint=self.constraint,
            history=self.history_,
            evaluated=self.evaluated_,
        )

    def _run(self) -> None:
        self._setup()
        rng = np.random.default_rng(self.random_state)
        P = int(self.population_size)
        n_par = max(1, int(round(self.parent_ratio * P)))
        n_mut = int(round(self.mutation_ratio * P))
        G = int(self.n_generations)
        self._accept_rate = 1.0
        self.n_fallback_ = 0
        self._n_predicted = P

        n_total = P * (G + 1)
        ev_codes = np.empty((n_total, self.space_.n_genes), dtype=CODE_DTYPE)
        ev_acc = np.empty(n_total)
        ev_eff = np.empty(n_total)
        ev_gen = np.repeat(np.arange(G + 1), P)
        hist = {k: np.empty(G + 1) for k in ("best_accuracy", "best_efficiency",
                                               "mean_parent_accuracy", "seconds")}
        hist["n_candidates"] = np.zeros(G + 1, dtype=np.int64)

        t0 = time.perf_counter()
        pop, pop_eff, _, n_cand = self._draw_feasible(
            P, lambda rows, k, r: self._random_full(len(rows) * k, r), rng, initial=True
        )
        masked = pop_masked = self._mask(pop)
        pop_acc = self._accuracy(masked)
        self._memo = dict(zip(_row_keys(masked).tolist(), pop_acc.tolist()))
        self._record(0, masked, pop_acc, pop_eff, ev_codes, ev_acc, ev_eff, P)
        best = int(np.argmax(pop_acc))
        hist["best_accuracy"][0], hist["best_efficiency"][0] = pop_acc[best], pop_eff[best]
        hist["mean_parent_accuracy"][0] = np.nan
        hist["n_candidates"][0] = n_cand
        hist["seconds"][0] = time.perf_counter() - t0

        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=G, desc=f"search (constraint {self.constraint})")
        is_mut = np.arange(P) < n_mut
        for g in range(1, G + 1):
            t0 = time.perf_counter()
            order = np.argsort(-pop_acc, kind="stable")
            if self.redraw_copies:  # parents are distinct archs
                _, first = np.unique(_row_keys(pop_masked[order]), return_index=True)
                order = order[np.sort(first)]
            order = order[:n_par]
            par, par_acc, par_eff = pop[order], pop_acc[order], pop_eff[order]
            par_masked = pop_masked[order]
            n = len(par)
            ia = rng.integers(n, size=P)
            if self.redraw_copies and n > 1:  # a crossover of a parent with itself is a copy
                ib = (ia + 1 + rng.integers(n - 1, size=P)) % n
            else:
                ib = rng.integers(n, size=P)

            def make(rows, k, r, ia=ia, ib=ib, par=par):
                rows = np.repeat(rows, k)
                return self._breed(par[ia[rows]], par[ib[rows]], is_mut[rows], r)

            forbid = set(_row_keys(par_masked).tolist()) if self.redraw_copies else None
            kids, kid_eff, stuck, n_cand = self._draw_feasible(P, make, rng, False, forbid)
            if len(stuck):  # keep the (feasible) first parent after max_rounds
                kids[stuck], kid_eff[stuck] = par[ia[stuck]], par_eff[ia[stuck]]
                self.n_fallback_ += len(stuck)
            masked = self._mask(kids)
            kid_acc = self._accuracy_new(masked)
            self._record(g, masked, kid_acc, kid_eff, ev_codes, ev_acc, ev_eff, P)
            pop = np.concatenate([par, kids])
            pop_masked = np.concatenate([par_masked, masked])
            pop_acc = np.concatenate([par_acc, kid_acc])
            pop_eff = np.concatenate([par_eff, kid_eff])
            best = int(np.argmax(pop_acc))
            hist["best_accuracy"][g], hist["best_efficiency"][g] = pop_acc[best], pop_eff[best]
            hist["mean_parent_accuracy"][g] = par_acc.mean()
            hist["n_candidates"][g] = n_cand
            hist["seconds"][g] = time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(acc=f"{pop_acc[best]:.4f}")
        if bar is not None:
            bar.close()

        best_codes = self._mask(pop[best : best + 1])
        self.best_codes_ = best_codes[0]
        self.best_arch_ = self.space_.from_codes(best_codes)[0]
        self.best_accuracy_ = float(pop_acc[best])
        self.best_efficiency_ = float(pop_eff[best])
        self.n_accuracy_predictions_ = self._n_predicted
        del self._memo
        self.history_ = Bunch(generation=np.arange(G + 1), **hist)
        self.evaluated_ = Bunch(codes=ev_codes, accuracy=ev_acc, efficiency=ev_eff,
                                generation=ev_gen)

    @staticmethod
    def _record(g, codes, acc, eff, ev_codes, ev_acc, ev_eff, P) -> None:
        ev_codes[g * P : (g + 1) * P] = codes
        ev_acc[g * P : (g + 1) * P] = acc
        ev_eff[g * P : (g + 1) * P] = eff
