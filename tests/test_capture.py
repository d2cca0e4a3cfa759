"""The captured training step (``TrainConfig.capture``, ``recommender.capture``), on the CPU.

What is tested here:

* the static forms of LightGCN's and CIKGRec's steps give the loss terms and the gradients of the
  models' own ``batch_loss`` on the same random draws, for CIKGRec under every contrast mode, with
  and without its side views, the reference preset's options, and a mask rate high enough that
  ``replace_rate`` draws donors;
* ``capture="compile"`` with the ``aot_eager`` backend (dynamo's whole-graph capture and AOTAutograd,
  no generated C++ or Triton code, so the same on any x86-64 CPU) trains two epochs, partial last
  batch included, with the eager trainer's losses and weights, for LightGCN and for CIKGRec with
  the reference preset. ``fullgraph=True`` makes any graph break an error, so dynamo found no
  data-dependent shape, no host sync and no CPU-side kernel in those steps: what a CUDA graph needs;
* the refusals (CUDA graphs on a CPU, a model without a static form, an unknown value) and the
  default ``none``, which keeps the eager step and the run keys of earlier runs.

Not tested here (no GPU): the CUDA-graph capture and replay, and inductor's generated code.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_cikgrec_fidelity import tiny_data
from test_protocols import cli_main, offline_export  # noqa: F401  (a fixture)

import recommender.capture as capture
from recommender.config import TrainConfig, config_dict, resolve_config
from recommender.data import RecData
from recommender.errors import ModelConfigError, TrainingError
from recommender.schedules import MaskSchedule
from recommender.trainer import Trainer

SMALL = {"embedding_dim": 8, "n_layers": 2, "device": "cpu"}
HIGH_MASK = MaskSchedule("fixed", alpha=0.5, omega=0.7)    # 7 of 10 interests masked, 1 given a donor's row


def trainer(model: str, preset: str | None = None, capture_mode: str = "none", data: RecData | None = None,
            **overrides) -> Trainer:
    model_config, train_config = resolve_config(model, "tiny", preset=preset, **{**SMALL, **overrides})
    return Trainer(data or tiny_data(), model, model_config, replace(train_config, capture=capture_mode),
                   progress=False)


STATIC_CASES = {
    "lightgcn": ("lightgcn", None, {}),
    "cikgrec": ("cikgrec", None, {}),
    "cikgrec reference": ("cikgrec", "reference", {}),
    "cikgrec reference, donors": ("cikgrec", "reference", {"mask": HIGH_MASK}),
    "cikgrec paper contrast": ("cikgrec", None, {"contrast_mode": "paper", "reconstruction_edge_dropout": 0.3}),
    "cikgrec no side views": ("cikgrec", None, {"use_interests": False, "use_kg": False}),
}


@pytest.mark.parametrize("case", STATIC_CASES)
def test_static_forms_give_the_eager_loss_terms_and_gradients(case: str) -> None:
    model_name, preset, overrides = STATIC_CASES[case]
    model = trainer(model_name, preset, **overrides).model
    form = capture.static_step(model, model_name, "compile")
    users, positives, negatives = torch.tensor([0, 1, 1, 3, 5, 0]), torch.tensor([0, 2, 4, 1, 3, 0]), \
        torch.tensor([4, 3, 0, 0, 1, 2])
    results = []
    for run in ("eager", "static"):
        torch.manual_seed(7)     # the same random draws: masks, donors, edge dropout, view noise
        model.zero_grad(set_to_none=True)
        if run == "eager":
            losses = model.batch_loss(users, positives, negatives, 3)
        else:
            counts, flag = form.epoch_inputs(3)
            losses = form(users, positives, negatives, torch.tensor(counts), flag)
        losses["total"].backward()
        results.append(({k: v.item() for k, v in losses.items()},
                        {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}))
    (eager, eager_grads), (static, static_grads) = results
    assert static.keys() == eager.keys() and eager_grads.keys() == static_grads.keys()
    assert static == pytest.approx(eager, rel=1e-5, abs=1e-7)
    for name, grad in eager_grads.items():
        torch.testing.assert_close(static_grads[name], grad, rtol=1e-4, atol=1e-7, msg=name)
    if case == "cikgrec reference, donors":
        assert form.epoch_inputs(3) == ((7, 1), True)


COMPILE_CASES = {"lightgcn": ("lightgcn", None, {}), "cikgrec reference": ("cikgrec", "reference", {"mask": HIGH_MASK})}


@pytest.mark.parametrize("case", COMPILE_CASES)
def test_compiled_steps_train_with_the_eager_losses(case: str, monkeypatch) -> None:
    """Two epochs of 8, 8 and 2 pairs (the last batch partial: a second compiled graph), the
    optimizer's steps and CIKGRec's TransE between epochs included."""
    monkeypatch.setattr(capture, "COMPILE_BACKEND", "aot_eager")
    model_name, preset, overrides = COMPILE_CASES[case]
    runs = {}
    for mode in ("none", "compile"):
        run = trainer(model_name, preset, mode, batch_size=8, **overrides)
        assert len(run.data.train) == 18
        runs[mode] = (run, [run.train_epoch(epoch) for epoch in range(2)])
    (eager, eager_logs), (compiled, compiled_logs) = runs["none"], runs["compile"]
    assert isinstance(compiled.captured, capture.CompiledStep) and eager.captured is None
    for eager_log, compiled_log in zip(eager_logs, compiled_logs, strict=True):
        assert compiled_log.keys() == eager_log.keys()
        assert compiled_log == pytest.approx(eager_log, rel=1e-5)
    for (name, weights), (_, eager_weights) in zip(compiled.model.state_dict().items(),
                                                   eager.model.state_dict().items(), strict=True):
        torch.testing.assert_close(weights, eager_weights, rtol=1e-4, atol=1e-6, msg=name)


def test_cuda_graphs_on_a_cpu_are_a_clear_error() -> None:
    with pytest.raises(TrainingError, match="needs a CUDA device; this run is on cpu"):
        trainer("lightgcn", capture_mode="cuda-graph")


def test_a_model_without_a_static_form_is_refused_by_name() -> None:
    with pytest.raises(TrainingError, match="written for cikgrec, lightgcn only; simgcl has none"):
        trainer("simgcl", capture_mode="compile")


def test_an_unknown_capture_value_names_the_allowed_values() -> None:
    with pytest.raises(ModelConfigError, match="capture must be one of none, compile, cuda-graph; got 'graph'"):
        resolve_config("lightgcn", "tiny", capture="graph")
    _, train_config = resolve_config("lightgcn", "tiny", **SMALL)
    with pytest.raises(ModelConfigError, match="capture must be one of none, compile, cuda-graph"):
        Trainer(tiny_data(), "lightgcn", resolve_config("lightgcn", "tiny")[0], replace(train_config, capture="graph"))


def test_the_default_keeps_the_eager_step_and_the_run_keys() -> None:
    run = trainer("lightgcn")
    assert run.config.capture == "none" and run.captured is None
    losses = run._step(*(np.array(column) for column in ([0, 1], [0, 2], [4, 3])), 0)
    assert set(losses) == {"total", "bpr"} and all(isinstance(v, float) for v in losses.values())
    model_config = run.model_config
    assert "capture" not in config_dict(model_config, TrainConfig())["train"]   # keys of runs made before stay
    assert config_dict(model_config, TrainConfig(capture="compile"))["train"]["capture"] == "compile"


def test_cli_capture_option_reaches_the_config(offline_export, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(capture, "COMPILE_BACKEND", "aot_eager")
    result = CliRunner().invoke(cli_main(), [
        "train", "lightgcn", "--dataset", "synthetic", "--capture", "compile", "--epochs", "1", "--layers", "1",
        "--device", "cpu", "--no-write", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    saved = torch.load(tmp_path / "models" / f"{json.loads(result.stdout)['run_id']}.pt", weights_only=False)
    assert saved["config"]["train"]["capture"] == "compile"
    refused = CliRunner().invoke(cli_main(), ["train", "lightgcn", "--dataset", "synthetic", "--capture", "graphs"])
    assert refused.exit_code != 0 and "none" in refused.output and "cuda-graph" in refused.output
