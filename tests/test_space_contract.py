"""The space contract: a new space is one subclass, everything else follows from its genes.

The toy space is the one of docs/user_guide/adding_a_space.rst, so running that page
also tests that the page works as written.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_ofa import ArchEncoder
from sklearn_ofa import spaces as spaces_module
from sklearn_ofa.efficiency import FLOPsModel, LatencyTable
from sklearn_ofa.efficiency.flops_model import block_macs
from sklearn_ofa.exceptions import NetConfigError
from sklearn_ofa.nets import build_subnet
from sklearn_ofa.spaces import Gene, SearchSpace, get_space, list_spaces, register_space

PAGE = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "adding_a_space.rst"


@pytest.fixture(scope="module")
def page_globals():
    """Run the docs page as a doctest; return its namespace (the toy space class)."""
    test = doctest.DocTestParser().get_doctest(
        PAGE.read_text(), {"__name__": "adding_a_space"}, PAGE.name, str(PAGE), 0
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    try:
        result = runner.run(test, clear_globs=False)
    finally:
        spaces_module._REGISTRY.pop("tiny_conv", None)  # the page registers it
    assert result.attempted >= 15
    assert result.failed == 0, f"{result.failed} examples of {PAGE.name} failed (see output)"
    return test.globs


@pytest.fixture
def toy(page_globals):
    return page_globals["TinyConvSpace"]()


def test_docs_page_runs(page_globals):
    assert issubclass(page_globals["TinyConvSpace"], SearchSpace)


def test_extra_global_gene_is_encoded(toy):
    enc = ArchEncoder(space=toy).fit()
    wm_col = int(toy.key_columns["wm"][0])
    assert wm_col in enc.gene_columns_.tolist()
    # one one-hot column per choice of every feature gene, nothing more
    assert enc.n_features_out_ == int(toy.n_choices[enc.gene_columns_].sum())
    archs = toy.sample(64, random_state=0)
    wider = [dict(a, wm=1.0) for a in archs]
    narrower = [dict(a, wm=0.5) for a in archs]
    X_w, X_n = enc.transform(wider), enc.transform(narrower)
    names = enc.get_feature_names_out()
    changed = np.nonzero((X_w != X_n).any(axis=0))[0]
    assert sorted(names[changed]) == ["wm_0.5", "wm_1"]
    # the features decode back to the same archs
    assert enc.inverse_transform(enc.transform(archs)) == [toy.validate(a) for a in archs]


def test_toy_operators_stay_in_the_space(toy):
    codes = toy.sample_codes(200, random_state=1)
    kids = toy.mutate_codes(codes, mutate_prob=0.5, random_state=2)
    mixed = toy.crossover_codes(codes, kids, random_state=3)
    for c in (codes, kids, mixed):
        np.testing.assert_array_equal(toy.check_codes(c), c)
    assert len({tuple(r) for r in mixed.tolist()}) > 20


def test_toy_clone_and_image_size_override(toy):
    enc = clone(ArchEncoder(space=toy, image_sizes=[32, 64]))
    enc.fit()
    assert enc.space_.image_sizes == (32, 64)
    assert type(enc.space_) is type(toy)
    assert enc.get_feature_names_out()[:2].tolist() == ["image_size_32", "image_size_64"]


def test_toy_flops_follow_the_block_walk(toy):
    archs = toy.sample(20, random_state=4)
    got = FLOPsModel(space=toy).fit().predict(archs)
    want = [sum(block_macs(b) for b in toy.blocks(a)) / 1e6 for a in archs]
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.slow
def test_toy_latency_table_profiles_its_blocks(toy):
    lut = LatencyTable(space=toy, warmup=1, repeats=3).fit()
    pred = lut.predict(toy.sample(5, random_state=5))
    assert np.isfinite(pred).all() and (pred > 0).all()
    with pytest.raises(NetConfigError, match="tiny_conv"):
        lut.measure(toy.sample(1, random_state=6))


def test_no_net_config_is_said(toy):
    arch = toy.sample(1, random_state=0)[0]
    with pytest.raises(NetConfigError, match="'tiny_conv'.*no net.config"):
        build_subnet(toy, arch)
    with pytest.raises(NetConfigError, match="no net.config"):
        toy.build(arch)


def test_build_subnet_matches_net_config():
    space = get_space("ofa_mbv3_w1.0")
    arch = space.sample(1, random_state=0)[0]
    net = build_subnet("ofa_mbv3_w1.0", arch)
    assert not net.training
    assert sum(p.numel() for p in net.parameters()) == sum(
        p.numel() for p in space.build(arch).parameters()
    )


def test_search_space_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        SearchSpace()

    class NoWalk(SearchSpace):
        def get_config(self):
            return {}

    with pytest.raises(TypeError, match="build_units"):
        NoWalk()


def test_inconsistent_declaration_is_named(page_globals):
    cls = page_globals["TinyConvSpace"]

    class MissingKey(cls):
        def finish_setup(self):
            self.arch_keys = ("ks", "d", "image_size")  # forgets "wm"
            super().finish_setup()

    with pytest.raises(ValueError, match="arch_keys.*'wm'"):
        MissingKey()

    class TooFewSlots(cls):
        def finish_setup(self):
            self.genes = [g for g in self.genes if g != Gene("ks", 3, (3, 5))]
            super().finish_setup()

    with pytest.raises(ValueError, match="slot key 'ks' has 3 genes"):
        TooFewSlots()


def test_register_space_contract(page_globals):
    cls = page_globals["TinyConvSpace"]
    try:
        register_space("tiny_conv", cls)
        assert "tiny_conv" in list_spaces()
        assert get_space("tiny_conv", image_sizes=[48]).image_sizes == (48,)
        assert ArchEncoder(space="tiny_conv").fit().space_ == cls()
        with pytest.raises(ValueError, match="already registered"):
            register_space("tiny_conv", cls)
        register_space("tiny_conv", cls, overwrite=True)
    finally:
        spaces_module._REGISTRY.pop("tiny_conv", None)
    with pytest.raises(ValueError, match="built-in"):
        register_space("ofa_mbv3_w1.2", cls, overwrite=True)
    with pytest.raises(ValueError, match="expected name = 'other'"):
        register_space("other", cls)
    with pytest.raises(TypeError, match="callable"):
        register_space("x", 3)
    with pytest.raises(TypeError, match="must return a SearchSpace"):
        register_space("x", dict)
    assert "other" not in list_spaces() and "x" not in list_spaces()


@pytest.mark.parametrize("name", ["ofa_mbv3_w1.0", "ofa_proxyless_w1.3", "ofa_resnet50"])
def test_builtin_layout_is_ofa_arch2feature(name):
    """OFA's arch2feature order, written out from its definition, not from the code under test."""
    space = get_space(name)
    kc = space.key_columns
    if name == "ofa_resnet50":
        want = [kc["image_size"], kc["d"][:1], kc["w"], kc["e"]]
    else:
        want = [kc["image_size"], kc["ks"], kc["e"]]
    np.testing.assert_array_equal(space.feature_columns(), np.concatenate(want))
