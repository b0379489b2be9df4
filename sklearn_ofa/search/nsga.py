"""A whole accuracy/efficiency Pareto front in one run: NSGA-II (pymoo) on the space's operators."""

from __future__ import annotations

import contextlib
import numbers
import sys
import time
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions

from .._constraints import StrictInterval as Interval
from .._versioning import VersionStampMixin
from ..spaces import CODE_DTYPE, SearchSpace
from .evolution import EvolutionFinder, _row_keys
from .pareto import pareto_front

__all__ = ["ParetoFinder"]


def _pymoo():
    try:
        import pymoo  # noqa: F401
    except ImportError:
        raise ImportError(
            "ParetoFinder needs pymoo: pip install 'sklearn-ofa[pareto]' (or pymoo>=0.6.1)"
        ) from None
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.crossover import Crossover
    from pymoo.core.duplicate import DuplicateElimination
    from pymoo.core.mutation import Mutation
    from pymoo.core.problem import Problem
    from pymoo.core.sampling import Sampling
    from pymoo.optimize import minimize

    return Bunch(
        NSGA2=NSGA2,
        Crossover=Crossover,
        DuplicateElimination=DuplicateElimination,
        Mutation=Mutation,
        Problem=Problem,
        Sampling=Sampling,
        minimize=minimize,
    )


def _operators(pm: Bunch, search: EvolutionFinder, log: Any) -> Bunch:
    """pymoo's problem and operators, each a thin call of the space's own code operators."""
    space = search.space_

    class CodesProblem(pm.Problem):
        def __init__(self):
            super().__init__(n_var=space.n_genes, n_obj=2, xl=0, xu=space.n_choices - 1, vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = log(np.asarray(X, dtype=CODE_DTYPE))

    class SpaceSampling(pm.Sampling):
        def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
            return np.asarray(space.sample_codes(n_samples, random_state, masked=False))

    class SpaceCrossover(pm.Crossover):
        def __init__(self):
            super().__init__(n_parents=2, n_offsprings=1, prob=1.0)

        def _do(self, problem, X, *args, random_state=None, **kwargs):
            a, b = np.asarray(X, dtype=CODE_DTYPE)
            return space.crossover_full_codes(a, b, random_state)[None]

    class SpaceMutation(pm.Mutation):
        def _do(self, problem, X, *args, random_state=None, **kwargs):
            full = np.asarray(X, dtype=CODE_DTYPE)
            return space.mutate_full_codes(full, search._gene_prob, random_state)

    class SameNetwork(pm.DuplicateElimination):
        """Rows that build the same network (equal masked codes) are duplicates."""

        def _do(self, pop, other, is_duplicate):
            def keys(p):
                return _row_keys(search._mask(np.asarray(p.get("X"), dtype=CODE_DTYPE))).tolist()

            seen = set() if other is None else set(keys(other))
            for i, key in enumerate(keys(pop)):
                is_duplicate[i] = key in seen
                seen.add(key)
            return is_duplicate

    return Bunch(
        problem=CodesProblem(),
        sampling=SpaceSampling(),
        crossover=SpaceCrossover(),
        mutation=SpaceMutation(),
        duplicates=SameNetwork(),
    )


class ParetoFinder(VersionStampMixin, BaseEstimator):
    """Multi-objective search: the accuracy/efficiency Pareto front in one run (NSGA-II).

    pymoo's NSGA-II evolves full code matrices with the space's own operators
    (``sample_codes``, ``crossover_full_codes``, ``mutate_full_codes``; two
    rows that build the same network count as duplicates) and maximises
    accuracy while minimising efficiency cost. Every arch scored is kept, and
    ``front_`` is the Pareto front of all of them, so one run replaces a sweep
    of constrained searches (:func:`~sklearn_ofa.search.pareto_sweep`). Needs
    ``pymoo`` (``pip install 'sklearn-ofa[pareto]'``).

    Parameters
    ----------
    accuracy_predictor : fitted estimator
        ``predict(X)`` of accuracy (higher is better) on code matrices, as for
        :class:`EvolutionFinder`.
    efficiency_predictor : fitted estimator
        ``predict(X)`` of a cost (lower is better), e.g. a
        :class:`~sklearn_ofa.LatencyTable` or :class:`~sklearn_ofa.FLOPsModel`.
    confidence : float, optional
        Use the upper end of the efficiency predictor's interval as the cost,
        as :class:`EvolutionFinder` does for its constraint.
    space : str or SearchSpace, optional
        As for :class:`EvolutionFinder` (default: the predictors' space).
    population_size : int, default=100
        NSGA-II population (and offspring per generation).
    n_generations : int, default=100
        Generations, the random initial population included.
    mutate_prob : float, default=0.1
        Probability that a mutation redraws each gene (every offspring is a
        crossover of two parents, then mutated).
    image_sizes : "auto", None or list of int, default="auto"
        As for :class:`EvolutionFinder`.
    random_state : int, numpy Generator or None, default=None
        Seed of the run (pymoo's ``seed``; a Generator gives one draw).
    verbose : bool, default=False
        pymoo's per-generation log, on stderr.

    Attributes
    ----------
    space_ : SearchSpace
        The search space, restricted to the searched image sizes.
    front_ : Bunch
        The Pareto front of every arch scored, cheapest first: ``codes``
        (masked), ``arch`` (dicts), ``accuracy`` and ``efficiency``.
    evaluated_ : Bunch
        Every distinct arch scored: ``codes``, ``accuracy``, ``efficiency``,
        ``generation``.
    n_accuracy_predictions_ : int
        Distinct archs the accuracy predictor scored (the number of calls a
        sweep is compared at).
    seconds_ : float
        Wall time of the search.

    See Also
    --------
    EvolutionFinder : one constraint at a time.
    pareto_sweep : a constrained search per budget.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_ofa import FLOPsModel
    >>> from sklearn_ofa.search import ParetoFinder
    >>> flops = FLOPsModel("ofa_mbv3_w1.2").fit()
    >>> X = flops.space_.sample_codes(200, random_state=0)
    >>> acc = Ridge().fit(X, np.log(flops.predict(X)))
    >>> pf = ParetoFinder(acc, flops, population_size=20, n_generations=5, random_state=0).fit()
    >>> bool((np.diff(pf.front_.efficiency) >= 0).all() and (np.diff(pf.front_.accuracy) >= 0).all())
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "accuracy_predictor": [object],
        "efficiency_predictor": [object],
        "confidence": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "space": [str, SearchSpace, None],
        "population_size": [Interval(numbers.Integral, 4, None, closed="left")],
        "n_generations": [Interval(numbers.Integral, 1, None, closed="left")],
        "mutate_prob": [Interval(numbers.Real, 0, 1, closed="both")],
        "image_sizes": [StrOptions({"auto"}), list, tuple, None],
        "random_state": ["random_state", np.random.Generator],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        accuracy_predictor: Any,
        efficiency_predictor: Any,
        *,
        confidence: float | None = None,
        space: str | SearchSpace | None = None,
        population_size: int = 100,
        n_generations: int = 100,
        mutate_prob: float = 0.1,
        image_sizes: Any = "auto",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.accuracy_predictor = accuracy_predictor
        self.efficiency_predictor = efficiency_predictor
        self.confidence = confidence
        self.space = space
        self.population_size = population_size
        self.n_generations = n_generations
        self.mutate_prob = mutate_prob
        self.image_sizes = image_sizes
        self.random_state = random_state
        self.verbose = verbose

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None or isinstance(rs, numbers.Integral):
            return None if rs is None else int(rs)
        return int(np.random.default_rng(rs).integers(2**31 - 1))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any = None, y: Any = None) -> ParetoFinder:
        """Run NSGA-II and collect the front.

        Parameters
        ----------
        X, y : None
            Ignored (scikit-learn's ``fit`` signature).

        Returns
        -------
        self : ParetoFinder
        """
        pm = _pymoo()
        # the constrained search's setup: space, image sizes, code translation, checks
        search = EvolutionFinder(
            self.accuracy_predictor,
            self.efficiency_predictor,
            confidence=self.confidence,
            space=self.space,
            mutate_prob=self.mutate_prob,
            image_sizes=self.image_sizes,
        )
        search._setup()
        memo: dict = {}
        log: dict[str, list] = {"codes": [], "accuracy": [], "efficiency": [], "generation": []}
        generation = [0]

        def evaluate(full: np.ndarray) -> np.ndarray:
            masked = search._mask(full)
            keys = _row_keys(masked).tolist()
            new = [i for i, k in enumerate(keys) if k not in memo]
            if new:
                acc = search._accuracy(masked[new])
                eff = search._efficiency(masked[new])
                for i, a, e in zip(new, acc.tolist(), eff.tolist()):
                    memo[keys[i]] = (a, e)
                log["codes"].append(masked[new])
                log["accuracy"].append(acc)
                log["efficiency"].append(eff)
                log["generation"].append(np.full(len(new), generation[0]))
            generation[0] += 1
            pairs = np.array([memo[k] for k in keys], dtype=np.float64)
            return np.column_stack([-pairs[:, 0], pairs[:, 1]])

        ops = _operators(pm, search, evaluate)
        algorithm = pm.NSGA2(
            pop_size=int(self.population_size),
            sampling=ops.sampling,
            crossover=ops.crossover,
            mutation=ops.mutation,
            eliminate_duplicates=ops.duplicates,
        )
        t0 = time.perf_counter()
        # pymoo prints its log on stdout; progress goes to stderr (stdout may be --json output)
        with contextlib.redirect_stdout(sys.stderr) if self.verbose else contextlib.nullcontext():
            pm.minimize(
                ops.problem,
                algorithm,
                ("n_gen", int(self.n_generations)),
                seed=self._seed(),
                verbose=bool(self.verbose),
            )
        self.seconds_ = time.perf_counter() - t0
        self.space_ = search.space_
        ev = Bunch(
            codes=np.concatenate(log["codes"]),
            accuracy=np.concatenate(log["accuracy"]),
            efficiency=np.concatenate(log["efficiency"]),
            generation=np.concatenate(log["generation"]),
        )
        self.evaluated_ = ev
        self.n_accuracy_predictions_ = len(ev.accuracy)
        idx = pareto_front(ev.accuracy, ev.efficiency)
        self.front_ = Bunch(
            codes=ev.codes[idx],
            arch=self.space_.from_codes(ev.codes[idx]),
            accuracy=ev.accuracy[idx],
            efficiency=ev.efficiency[idx],
        )
        return self
