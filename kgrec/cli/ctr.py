"""``kgrec train ctr`` and ``kgrec train rerank``: thin wrappers over :func:`kgrec.train`.

:mod:`kgrec.cli.train` puts ``ctr`` and ``rerank`` in the ``train`` group; ``kgrec train-ctr`` and
``kgrec train-rerank`` (the first names) stay as hidden aliases. ``kgrec evaluate`` lists these runs
with the metrics stored on their ``TrainingRun`` nodes. ``--nproc N`` runs the command again under
torchrun, as ``kgrec train <model>`` does (``kgrec.cli.train``); in a process group rank 0 alone reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import click

from kgrec.cli.common import KgrecCommand, open_store, with_options
from knowledge.text_recipes import TEXT_RECIPES
from recommender.ctr import registry as ctr_registry
from recommender.rerank import registry as rerank_registry

_options = with_options([
    click.option("--dataset", required=True),
    click.option("--text", default=None, metavar="NAME",
                 help=f"Item text: a recipe ({', '.join(TEXT_RECIPES)}: encoded on demand) or the NAME of "
                      "vectors text_vec_NAME written by 'kgrec text encode'. kellmrec = the LLM descriptions "
                      "grounded in Wikipedia; ungrounded = title-only LLM descriptions; facts = no LLM."),
    click.option("--contrast", is_flag=True, help="Add the SWING knowledge contrast (Eq. 4)."),
    click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Runs with seeds 2024, 2025, ..."),
    click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs (early stopping on valid)."),
    click.option("--patience", type=click.IntRange(1), default=None),
    click.option("--lr", type=click.FloatRange(0, min_open=True), default=None, help="Adam learning rate (1e-4)."),
    click.option("--batch-size", type=click.IntRange(1), default=None, help="Training batch size (256)."),
    click.option("--embedding-dim", type=click.IntRange(1), default=None),
    click.option("--max-history", type=click.IntRange(1), default=30, show_default=True),
    click.option("--device", default=None, help="cpu (default), cuda, cuda:1 ..."),
    click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch."),
    click.option("--k", "top_k", type=click.IntRange(1), default=10, show_default=True,
                 help="Recommendations written per test user (among its own candidates)."),
    click.option("--no-write", is_flag=True, help="Write neither the TrainingRun nor recommendations."),
    click.option("--json", "as_json", is_flag=True),
    click.option("--nproc", type=click.IntRange(1), default=1, show_default=True,
                 help="Processes training the model data-parallel on this machine (each a part of every batch; "
                      "runs itself under torchrun). For several machines, start torchrun yourself."),
    click.option("--dist-backend", type=click.Choice(["auto", "gloo", "nccl"]), default="auto", show_default=True,
                 help="Process-group backend under torchrun: auto = nccl on GPUs, gloo on CPU."),
    click.option("--dist-timeout", type=click.FloatRange(1), default=None, metavar="SECONDS",
                 help="Seconds a process waits for the others (rank 0's reading of the graph and evaluations "
                      "included) before it stops (600 by default)."),
])


def _echo(outcome: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"run_id": outcome.run_id, **outcome.metrics()}, indent=2, default=str))
        return
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    first = outcome.results[0]
    click.echo(f"{outcome.model} ({outcome.kind}) on {outcome.dataset}: {len(outcome.seeds)} seed(s), "
               f"epoch chosen on valid {first.select_metric} (seed {first.config.seed}: epoch {first.best_epoch}), "
               f"{outcome.metrics()['seconds_per_epoch']:.2f} s/epoch")
    click.echo("test  " + "  ".join(f"{m} {v['mean']:.4f}±{v['std']:.4f}" for m, v in outcome.summary.items()))
    if outcome.recommendations_written:
        click.echo(f"Wrote {outcome.recommendations_written:,} recommendations (run {outcome.run_id}).")


def _overrides(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _processes(ctx: click.Context, options: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The process-group options taken out of ``options``, and whether this process reports (rank 0, or
    alone). With ``--nproc`` above 1 outside torchrun, runs this command again under torchrun and exits."""
    from kgrec.cli.train import launched, torchrun_command

    nproc = options.pop("nproc")
    group = {"dist_backend": options.pop("dist_backend"), "dist_timeout": options.pop("dist_timeout")}
    if nproc > 1 and not launched():
        args = sys.argv[1:]
        if ctx.info_name not in args:   # invoked from Python, not from a command line this can repeat
            raise click.UsageError("--nproc needs the kgrec command line; from Python, start torchrun yourself.")
        ctx.exit(subprocess.call(torchrun_command(nproc, args)))
    return group, not launched() or os.environ["RANK"] == "0"


def _alias(command: click.Command, name: str) -> click.Command:
    """``command`` under its first, hidden name (same options, same callback)."""
    return KgrecCommand(name, params=command.params, callback=command.callback, help=command.help, hidden=True)


@click.command("ctr", cls=KgrecCommand)
@click.option("--model", type=click.Choice(ctr_registry.names()), required=True)
@_options
@click.pass_context
def ctr(ctx: click.Context, model: str, dataset: str, text: str | None, contrast: bool, seeds: int,
        max_history: int, threads: int | None, top_k: int, no_write: bool, as_json: bool, **options: Any) -> None:
    """Train a CTR MODEL on DATASET's CTR split; print test AUC and LogLoss; write the run back."""
    from kgrec.models_api import set_threads, train

    group, main = _processes(ctx, options)
    set_threads(threads)
    outcome = train(model, dataset, kind="ctr", store=open_store(ctx), text=text, contrast=contrast,
                    seeds=[2024 + n for n in range(seeds)], k=top_k, write_back=not no_write,
                    max_history=max_history, **group, **_overrides(options)).outcome
    if main:
        _echo(outcome, as_json)


@click.command("rerank", cls=KgrecCommand)
@click.option("--model", type=click.Choice(rerank_registry.names()), required=True)
@click.option("--list", "list_name", default="sampled", show_default=True,
              help="Candidate list; 'sampled' (positives + 9 unseen items) is written when missing.")
@_options
@click.pass_context
def rerank(ctx: click.Context, model: str, list_name: str, dataset: str, text: str | None, contrast: bool,
           seeds: int, max_history: int, threads: int | None, top_k: int, no_write: bool, as_json: bool,
           **options: Any) -> None:
    """Train a reranker MODEL on DATASET's candidate lists; print test NDCG@K and MAP@K; write the run back."""
    from kgrec.models_api import set_threads, train

    group, main = _processes(ctx, options)
    set_threads(threads)
    outcome = train(model, dataset, kind="rerank", store=open_store(ctx), list_name=list_name, text=text,
                    contrast=contrast, seeds=[2024 + n for n in range(seeds)], k=top_k, write_back=not no_write,
                    max_history=max_history, **group, **_overrides(options)).outcome
    if main:
        _echo(outcome, as_json)


train_ctr = _alias(ctr, "train-ctr")
train_rerank = _alias(rerank, "train-rerank")
