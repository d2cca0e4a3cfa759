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


def _refit_row(variant: str, seed: int, device: str, valid: float, test: float) -> dict:
    scores = {"recall@50": test, "ndcg@50": test / 2, "recall@100": test + 0.1, "ndcg@100": test / 2 + 0.01}
    return {"variant": variant, "protocol": "refit", "seed": seed, "device": device,
            "metrics": {"valid": {"recall@50": valid}, "test": scores, "refit_epochs": 50, "seconds_per_epoch": 1.0}}


def _last_row_cells(*args) -> list[str]:
    """The cells of the secondary table's last row."""
    from bench.reproduce_cikgrec import secondary_markdown

    return [c.strip() for c in secondary_markdown(*args).splitlines()[-1].strip("|").split("|")]


def test_secondary_table_pairs_each_seed_with_its_base_on_the_same_device() -> None:
    rows = [_refit_row("cikgrec", 1, "cpu", 0.40, 0.45), _refit_row("cikgrec", 2, "cpu", 0.42, 0.47),
            _refit_row("cikgrec w/o CL", 1, "cpu", 0.41, 0.44),      # paired: valid +0.01, test -0.01
            _refit_row("cikgrec w/o CL", 2, "gpu", 0.50, 0.50)]      # no base on the gpu: not paired
    cells = _last_row_cells(rows, ["cikgrec w/o CL"])
    assert cells[0] == "cikgrec w/o CL" and cells[1] == "2 seeds"
    assert cells[3] == "+0.0100"                       # Δ valid R@50, seed 1 only
    assert cells[6] == "-0.0100" and cells[7] == "-0.0050"
    assert cells[8] == "-0.0100 / -0.0050"
    assert cells[9] == "-0.0024 / -0.0080"             # the paper's Table 3 gap for w/o CL
    assert cells[10] == "1 seed"


def test_mask_overrides_reach_the_schedule_and_nothing_else() -> None:
    from bench.reproduce_cikgrec import _resolve

    base, _ = _resolve("cikgrec", {})
    model_config, _ = _resolve(*variants("cikgrec")["cikgrec tuned mask_horizon=80"])
    assert model_config.mask.horizon == 80 and base.mask.horizon != 80
    assert model_config.mask.kind == base.mask.kind and model_config.mask.omega == base.mask.omega
    fixed, _ = _resolve(*variants("cikgrec")["cikgrec w/o DMR"])
    assert fixed.mask.kind == "fixed" and fixed.mask.horizon == base.mask.horizon


def test_a_base_from_the_same_load_is_preferred_to_one_of_the_same_seed_only() -> None:
    other_load = _refit_row("cikgrec", 1, "cpu", 0.40, 0.45)
    same_load = {**_refit_row("cikgrec", 1, "cpu", 0.43, 0.46), "export": "abc"}
    variant = {**_refit_row("cikgrec w/o DMR", 1, "cpu", 0.44, 0.47), "export": "abc"}
    cells = _last_row_cells([other_load, variant], ["cikgrec w/o DMR"], [same_load])
    assert cells[3] == "+0.0100" and cells[6] == "+0.0100"       # against the same load, not +0.04 / +0.02
    assert cells[10] == "1 seed (1 on the same load)"
    # without it, the seed's other base is used and the column says nothing of a load
    cells = _last_row_cells([other_load, variant], ["cikgrec w/o DMR"])
    assert cells[3] == "+0.0400" and cells[10] == "1 seed"
