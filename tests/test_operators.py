"""The space's code operators: sampling, masking, mutation and crossover of full and checked codes.

Expected rates come from the definitions (uniform per gene; a gene redrawn with
probability p keeps its value with probability 1/n_choices), not from the code.
"""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_ofa.exceptions import ArchValueError
from sklearn_ofa.spaces import Codes, get_space, list_spaces

SPACES = [get_space(name) for name in list_spaces()]
MBV3 = get_space("ofa_mbv3_w1.2")


def _close(observed, expected, n, sigmas=5.0):
    """Binomial frequencies within ``sigmas`` standard deviations of the expected ones."""
    expected = np.asarray(expected, dtype=float)
    sd = np.sqrt(np.maximum(expected * (1 - expected), 1e-12) / n)
    return np.abs(np.asarray(observed) - expected) <= sigmas * sd + 1e-12


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_full_samples_mask_to_the_masked_samples(space):
    full = space.sample_codes(50, random_state=3, masked=False)
    assert type(full) is np.ndarray and full.dtype == np.int16
    assert ((full >= 0) & (full < space.n_choices)).all()
    codes = space.sample_codes(50, random_state=3)
    assert isinstance(codes, Codes) and codes.space is space
    assert np.array_equal(space.mask_codes(full), codes)
    work = full.copy()
    assert space.mask_inactive(work) is work  # in place
    assert np.array_equal(work, codes)
    assert (codes == -1).any() and not np.array_equal(work, full)


def test_a_generator_is_advanced_as_one_stream():
    rng = np.random.default_rng(5)
    first = MBV3.sample_codes(7, rng, masked=False)
    second = MBV3.sample_codes(4, rng, masked=False)
    both = MBV3.sample_codes(11, random_state=5, masked=False)
    assert np.array_equal(np.vstack([first, second]), both)


def test_every_gene_is_uniform_over_its_choices():
    n = 20_000
    full = MBV3.sample_codes(n, random_state=0, masked=False)
    for g, k in enumerate(MBV3.n_choices):
        freq = np.bincount(full[:, g], minlength=k) / n
        assert len(freq) == k and _close(freq, np.full(k, 1 / k), n).all(), g


def test_mutation_redraws_each_gene_at_its_own_rate():
    n = 20_000
    full = MBV3.sample_codes(n, random_state=0, masked=False)
    before = full.copy()
    prob = np.random.default_rng(1).uniform(0, 1, MBV3.n_genes)
    prob[:5], prob[5:8] = 0.0, 1.0
    child = MBV3.mutate_full_codes(full, prob, np.random.default_rng(2))
    assert np.array_equal(full, before)  # a copy, the input is left alone
    assert child.dtype == np.int16 and ((child >= 0) & (child < MBV3.n_choices)).all()
    changed = (child != full).mean(axis=0)
    assert (changed[:5] == 0).all()
    assert _close(changed, prob * (1 - 1 / MBV3.n_choices), n).all()
    # a redrawn gene is uniform: where p = 1, the child is independent of the parent
    for g in (5, 6, 7):
        k = MBV3.n_choices[g]
        assert _close(np.bincount(child[:, g], minlength=k) / n, np.full(k, 1 / k), n).all()


def test_a_scalar_rate_applies_to_every_gene():
    n = 5_000
    full = MBV3.sample_codes(n, random_state=0, masked=False)
    changed = (MBV3.mutate_full_codes(full, 0.3, 4) != full).mean(axis=0)
    assert _close(changed, 0.3 * (1 - 1 / MBV3.n_choices), n).all()
    assert np.array_equal(MBV3.mutate_full_codes(full, 0.0, 4), full)


def test_crossover_takes_each_gene_from_either_parent_equally():
    n = 20_000
    a = MBV3.sample_codes(n, random_state=0, masked=False)
    b = MBV3.sample_codes(n, random_state=1, masked=False)
    a0 = a.copy()
    child = MBV3.crossover_full_codes(a, b, np.random.default_rng(2))
    assert np.array_equal(a, a0) and child.dtype == np.int16
    assert ((child == a) | (child == b)).all()
    differ = a != b
    from_b = ((child == b) & differ).sum(axis=0) / differ.sum(axis=0)
    assert _close(from_b, np.full(MBV3.n_genes, 0.5), differ.sum(axis=0).min()).all()


def test_mutate_codes_turns_switched_on_slots_into_random_values():
    """All depths at their minimum; mutating only the depth genes to their maximum switches
    slots on, which must get values (not -1) spread over every choice."""
    n = 20_000
    codes = MBV3.mask_codes(np.zeros((n, MBV3.n_genes), dtype=np.int16))
    assert (codes == -1).any()
    depth = MBV3.stage_depth_cols
    out = np.asarray(MBV3.mutate_codes(codes, mutate_prob=1.0, random_state=0))
    MBV3.check_codes(out)
    deep = (out[:, depth] == MBV3.n_choices[depth] - 1).all(axis=1)  # every stage at depth 4
    assert deep.sum() > 0.5 * n * (1 / 3) ** len(depth)
    newly_on = codes[deep] == -1
    assert newly_on.any() and (out[deep][newly_on] >= 0).all()
    ks = MBV3.key_columns["ks"]
    assert set(np.unique(out[deep][:, ks][newly_on[:, ks]])) == {0, 1, 2}


def test_mutate_and_crossover_of_checked_codes():
    codes = MBV3.sample_codes(30, random_state=0)
    same = MBV3.mutate_codes(codes, mutate_prob=0.0, random_state=1)
    assert isinstance(same, Codes) and np.array_equal(same, codes)
    assert np.array_equal(MBV3.crossover_codes(codes, codes, random_state=1), codes)
    mixed = MBV3.crossover_codes(codes, codes[::-1], random_state=2)
    MBV3.check_codes(mixed)
    bad = np.asarray(codes).copy()
    bad[0, 0] = 9
    with pytest.raises(ArchValueError, match=r"codes\[0, 0\].*= 9 is out of range"):
        MBV3.mutate_codes(bad)
    with pytest.raises(ArchValueError, match="same shape"):
        MBV3.crossover_codes(codes, codes[:3])
    with pytest.raises(ValueError, match="mutate_prob"):
        MBV3.mutate_codes(codes, mutate_prob=1.5)
    with pytest.raises(TypeError, match="masked must be True or False, got 'yes'"):
        MBV3.sample_codes(3, masked="yes")


def test_fill_inactive_keeps_active_genes_and_fills_the_rest():
    codes = MBV3.sample_codes(200, random_state=0)
    full = MBV3.fill_inactive(codes, random_state=1)
    arr = np.asarray(codes)
    assert type(full) is np.ndarray and ((full >= 0) & (full < MBV3.n_choices)).all()
    assert np.array_equal(full[arr >= 0], arr[arr >= 0])
    assert np.array_equal(MBV3.mask_codes(full), codes)
    assert len(np.unique(full[arr < 0])) == 3  # hidden ks/e values drawn over all choices
