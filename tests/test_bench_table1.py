"""The Table 1 bench's bookkeeping and report, on rows made here: smoke rows kept apart from results,
the 5 % check against the paper, resuming, the figure, each job's settings, and the Models page's table."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from bench.table1 import EMBEDDING_DIM, job_config, pending_jobs, table1_models
from bench.table1_report import PAPER, far_rows, markdown, read_rows, sparsity_svg
from recommender.config import resolve_config
from recommender.registry import model_names

HOOK = Path(__file__).resolve().parent.parent / "docs" / "hooks" / "models_table.py"


def _row(model: str, protocol: str, seed: int, recall50: float, smoke: bool = False) -> dict:
    groups = [{"users": 10 * (g + 1), "max_train_items": 5 * (g + 1), "value": 0.1 + 0.05 * g} for g in range(4)]
    test = {"recall@50": recall50, "recall@100": recall50 + 0.1, "ndcg@50": recall50 / 2, "ndcg@100": recall50 / 2 + 0.02}
    return {"model": model, "protocol": protocol, "seed": seed, "smoke": smoke, "max_epochs": 3 if smoke else 1000,
            "metrics": {"test": test, "epochs_run": 40, "best_epoch": 29, "seconds_per_epoch": 2.0,
                        "sparsity_ndcg@50": groups},
            "evaluation_s": 0.5, "peak_rss_mb": 900.0, "device": "cpu", "threads": 1, "commit": "abc+changes",
            "machine": {"cpu": "Test CPU", "cores": 2}}


def test_smoke_rows_never_share_a_table_with_full_rows() -> None:
    full = [_row("lightgcn", "test-selected", 2024, 0.42)]
    smoke = [_row("sgl", "test-selected", 2024, 0.10, smoke=True)]
    mixed = markdown(full + smoke, "t.jsonl", None)
    assert "| lightgcn |" in mixed and "| sgl |" not in mixed and "Smoke runs" not in mixed
    alone = markdown(smoke, "t.jsonl", None)
    assert "Smoke runs" in alone and "| sgl |" in alone


def test_rows_further_than_five_percent_from_the_paper_are_listed() -> None:
    close = PAPER["kgat"][0] * 1.03
    rows = [_row("kgat", "test-selected", s, close) for s in (2024, 2025)]
    rows += [_row("cke", "test-selected", 2024, PAPER["cke"][0] * 0.90), _row("cke", "refit", 2024, 0.0)]
    text = markdown(rows, "t.jsonl", None)
    kgat_line = next(line for line in text.splitlines() if line.startswith("| kgat | test-selected"))
    assert "yes (+3.0%)" in kgat_line and f"{close:.4f} ± 0.0000" in kgat_line
    assert [(m, round(g, 3)) for m, _, g in far_rows(rows)] == [("cke", -0.1)]   # refit rows are never judged
    assert "- `cke` on cpu: mean R@50 -10.0% from the paper's 0.3419" in text


def test_a_smoke_row_does_not_count_as_a_finished_full_job(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    out.write_text("\n".join(json.dumps(r) for r in [_row("sgl", "refit", 2024, 0.4),
                                                      _row("sgl", "test-selected", 2024, 0.1, smoke=True)]) + "\n")
    assert len(read_rows(out)) == 2
    assert pending_jobs(["sgl"], [2024], ["refit", "test-selected"], 1000, out) == [("sgl", "test-selected", 2024)]
    assert pending_jobs(["sgl"], [2024], ["refit", "test-selected"], 3, out) == [("sgl", "refit", 2024)]


def test_a_variant_run_is_named_by_its_settings_and_resumes_apart(tmp_path: Path) -> None:
    from bench.table1 import parse_settings, variant_label

    settings = parse_settings(["score_function=inner_product", "lr=0.0001"])
    assert settings == {"score_function": "inner_product", "lr": 0.0001}
    label = variant_label("cfkg", settings)
    assert label == "cfkg (lr=0.0001, score_function=inner_product)" and variant_label("cfkg", {}) == "cfkg"
    out = tmp_path / "variants.jsonl"
    out.write_text(json.dumps(_row(label, "test-selected", 2024, 0.3)) + "\n")
    assert pending_jobs(["cfkg"], [2024], ["test-selected"], 1000, out, settings) == []
    assert pending_jobs(["cfkg"], [2024], ["test-selected"], 1000, out) == [("cfkg", "test-selected", 2024)]
    assert job_config("cfkg", "test-selected", 2024, 1000, 1, settings=settings)[0].score_function == "inner_product"


def test_the_figure_has_a_line_per_model_and_protocol() -> None:
    rows = [_row(m, p, 2024, 0.4) for m in ("lightgcn", "cikgrec") for p in ("refit", "test-selected")]
    svg = ElementTree.fromstring(sparsity_svg(rows))
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 4 and all(len(line.get("points").split()) == 4 for line in lines)
    assert sparsity_svg([]) is None


@pytest.mark.parametrize("model", model_names())
def test_every_job_has_its_defaults_with_cikgrecs_stopping(model: str) -> None:
    model_config, train = job_config(model, "refit", 2025, 1000, 1)
    _, cikgrec = resolve_config("cikgrec", "dbbook2014")
    _, own = resolve_config(model, "dbbook2014")
    assert model_config.embedding_dim == EMBEDDING_DIM and train.seed == 2025 and train.epochs == 1000
    assert (train.patience, train.eval_every) == (cikgrec.patience, cikgrec.eval_every)
    assert train.min_epochs == max(cikgrec.min_epochs, own.min_epochs)   # CFKG's own 60 (chosen on validation)
    assert (train.lr, train.batch_size) == (own.lr, own.batch_size)


def test_table1_runs_every_registered_model_but_bprmf_in_the_papers_order() -> None:
    assert set(table1_models()) == set(model_names()) - {"bprmf"}
    assert table1_models()[:2] == ["lightgcn", "sgl"] and table1_models()[-1] == "cikgrec"


def test_models_page_lists_every_registered_model() -> None:
    spec = importlib.util.spec_from_file_location("models_table_hook", HOOK)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    table = hook.models_table([_row("lightgcn", "refit", 2024, 0.4), _row("sgl", "refit", 2024, 0.4, smoke=True)])
    lines = {line.split("|")[1].strip(" `"): line for line in table.splitlines()[2:]}
    assert set(lines) == set(model_names())
    assert "2.00 s (cpu, 1 thread)" in lines["lightgcn"] and "not measured" in lines["sgl"]   # smoke: not a timing
    assert "`n_layers=3`" in lines["cikgrec"] and "`lr=0.002`" in lines["cikgrec"]
    assert lines["cikgrec"].count("| yes ") == 3 and "| yes " not in lines["bprmf"]
