"""The reproduction bench's job naming: ``--only`` prefixes and the kind (hence seed count) of each variant."""

from __future__ import annotations

import pytest

from bench.reproduce_cikgrec import expand_names, kind_of, seeds_of, variants

NAMES = list(variants("cikgrec"))


def test_only_prefix_stops_at_a_word_or_an_equals_sign() -> None:
    assert expand_names(["cikgrec tuned cl_weight"], NAMES) == [
        "cikgrec tuned cl_weight=0.005", "cikgrec tuned cl_weight=0.02", "cikgrec tuned cl_weight=0.05"]
    assert expand_names(["cikgrec w/o"], NAMES) == [
        "cikgrec w/o UIK", "cikgrec w/o UIR", "cikgrec w/o CL", "cikgrec w/o DMR"]
    # a prefix never matches in the middle of a word: "cikgrec" alone is a name, not the start of "cikgrec-reference"
    assert expand_names(["cikgrec"], NAMES) == ["cikgrec"]


def test_only_keeps_order_and_drops_repeats() -> None:
    assert expand_names(["cikgrec linear", "cikgrec w/o CL", "cikgrec linear"], NAMES) == [
        "cikgrec linear", "cikgrec w/o CL"]


def test_only_rejects_an_unknown_name() -> None:
    with pytest.raises(SystemExit, match="cikgrec tuned cl_weigh"):
        expand_names(["cikgrec tuned cl_weigh"], NAMES)


@pytest.mark.parametrize(("variant", "kind", "seeds"), [
    ("lightgcn", "main", 3), ("cikgrec-reference", "main", 3), ("cikgrec w/o UIK", "ablation", 5),
    ("cikgrec linear", "ablation", 5), ("cikgrec tuned lr=0.001", "tuned", 1),
    ("cikgrec with reference optimiser", "fidelity", 2)])
def test_each_kind_runs_its_own_seed_count(variant: str, kind: str, seeds: int) -> None:
    assert kind_of(variant) == kind
    assert seeds_of(variant, 3, 5, 2, 1) == seeds
