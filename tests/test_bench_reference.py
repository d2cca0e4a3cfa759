"""The reference comparison's ratio file: the ratio it quotes, and the runs it refuses to compare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.reference.side_by_side import check_same_settings, ratios

REPO = Path(__file__).resolve().parent.parent


def _reference(epochs: list[float], threads: int = 1, max_steps: int = 0) -> dict:
    return {"settings": {"threads": threads, "device": "cpu", "max_steps": max_steps}, "train_pairs": 50745,
            "batch_size": 1024, "reference_epoch_s": epochs, "machine": {"cpu": "test"}}


def _kgrec(model: str, epochs: list[float], threads: int = 1, all_train: bool = True, pairs: int = 50745) -> dict:
    row = {"model": model, "batch_size": 1024, "threads": threads, "device": "cpu", "train_pairs": pairs,
           "epochs_s": epochs, "median_epoch_s": sorted(epochs)[len(epochs) // 2]}
    return {"settings": {"all_train": all_train}, "runs": [row]}


def test_the_ratio_is_the_reference_mean_over_kgrec_median_pooled_over_files() -> None:
    rows = ratios(_reference([200.0, 220.0]), [_kgrec("cikgrec:reference", [10.0, 11.0, 30.0]),
                                               _kgrec("cikgrec:reference", [9.0, 12.0, 10.5])])
    assert len(rows) == 1
    row = rows[0]
    assert row["kgrec_epochs_s"] == [9.0, 10.0, 10.5, 11.0, 12.0, 30.0]
    assert row["kgrec_median_epoch_s"] == 10.75
    assert row["ratio_mean_over_median"] == round(210.0 / 10.75, 2)
    # the range pairs the slowest and fastest epochs of either side
    assert row["ratio_range"] == [round(200.0 / 30.0, 2), round(220.0 / 9.0, 2)]


@pytest.mark.parametrize(("reference", "kgrec", "reason"), [
    (_reference([200.0], threads=2), _kgrec("cikgrec", [10.0]), "threads"),
    (_reference([200.0], max_steps=3), _kgrec("cikgrec", [10.0]), "stopped each pass"),
    (_reference([200.0]), _kgrec("cikgrec", [10.0], all_train=False), "all of train.txt"),
    (_reference([200.0]), _kgrec("cikgrec", [10.0], pairs=43384), "training pairs"),
])
def test_runs_with_different_settings_are_refused(reference: dict, kgrec: dict, reason: str) -> None:
    with pytest.raises(SystemExit, match=reason):
        check_same_settings(reference, kgrec, Path("kgrec.json"))


def test_the_script_writes_the_ratio_file_with_both_sides_raw(tmp_path: Path) -> None:
    reference, before, after = tmp_path / "reference.json", tmp_path / "before.json", tmp_path / "after.json"
    reference.write_text(json.dumps(_reference([100.0, 120.0])))
    before.write_text(json.dumps(_kgrec("cikgrec:reference", [10.0, 11.0])))
    after.write_text(json.dumps(_kgrec("cikgrec:reference", [12.0, 9.0])))
    out = tmp_path / "side_by_side.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "reference" / "side_by_side.py"), "--kgrec", str(before),
                    str(after), "--reference", str(reference), "--out", str(out)], check=True, capture_output=True)
    written = json.loads(out.read_text())
    assert written["ratios"][0]["ratio_mean_over_median"] == round(110.0 / 10.5, 2)
    assert written["reference_code"]["reference_epoch_s"] == [100.0, 120.0]
    assert written["kgrec_before_reference"]["runs"][0]["epochs_s"] == [10.0, 11.0]
    assert written["kgrec_after_reference"]["runs"][0]["epochs_s"] == [12.0, 9.0]
