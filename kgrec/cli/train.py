"""``kgrec train <model>``: train a ranking model (or TransE) from the graph and write its run back.

One subcommand per ranking model in ``recommender.registry`` (made when the group is asked for it,
so a model registered by a plugin has its command too), plus ``transe``; each offers the shared
options and those of its own config (``--layers`` where the model has layers, CIKGRec's switches for
CIKGRec). :class:`TrainRequest` gathers what they ask for, so each step (TransE, estimate, train)
reads one typed object. ``kgrec train ctr|rerank`` come from :mod:`kgrec.cli.ctr`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import partial
from typing import Any

import click

from kgrec.cli.common import PROGRESS_HELP, KgrecCommand, KgrecGroup, open_store
from kgrec.cli.ctr import ctr, rerank
from kgrec.cli.evaluate import format_metrics, format_summary
from kgrec.models_api import EDGE_MODES, EDGES_AUTO_MAX_ROWS
from recommender import registry
from recommender.config import CHOICES, PRESETS, TRAIN_FIELDS, model_config_class

KG_COMMANDS = ("transe",)      # trained on the KG alone, not a ranking model of the registry
PRESET_NAMES = tuple(sorted({name for presets in PRESETS.values() for name in presets}))
PROTOCOL_HELP = ("valid: epoch chosen on a validation split carved from train, test scored once (default); "
                 "refit: then retrain on all of train for that many epochs; test-selected: the paper's protocol, "
                 "epoch chosen on test (for comparison only).")
TRAIN_HELP = """Train a model on DATASET from the graph and write its run (and top-K) back.

\b
kgrec train MODEL --dataset D ...            a ranking model (the commands below; or transe)
kgrec train ctr --model din --text kellmrec  a CTR model (deepfm, din, dien) on the CTR split
kgrec train rerank --model prm ...           a reranker (dlcm, prm, setrank) on stored candidate lists
"""
TRANSE_HELP = """Train transe on DATASET from the graph; print test metrics; write top-K back.

``transe`` trains TransE with PyKEEN on the KG alone and writes each entity's vector to
``Entity.transe_embedding``."""
#: the CIKGRec parts a ``--no-<part>`` flag leaves out (config field ``use_<part>``)
ABLATIONS = ("interests", "reconstruction", "contrastive", "kg")
#: options about the run itself (data, seeds, write-back, report), not settings of a config
REQUEST_OPTIONS = ("dataset", "seeds", "top_k", "no_write", "edges", "interest_set", "preset", "progress",
                   "estimate", "as_json", "settings")


def _choice(name: str) -> click.Choice:
    return click.Choice(CHOICES[name])


_RUN_PARAMS = (
    click.Option(["--dataset"], required=True),
    click.Option(["--epochs"], type=click.IntRange(1), default=None,
                 help="Maximum epochs (early stopping as --protocol says)."),
    click.Option(["--seeds"], type=click.IntRange(1), default=1, show_default=True, help="Runs with seeds 2024, 2025, ..."),
    click.Option(["--protocol"], type=_choice("protocol"), default=None, help=PROTOCOL_HELP),
    click.Option(["--preset"], type=click.Choice(PRESET_NAMES), default=None,
                 help="Named settings applied over the defaults, before explicit options (e.g. the reference "
                      "code's: 'reference')."),
    click.Option(["--valid-ratio"], type=click.FloatRange(0, 1, max_open=True), default=None,
                 help="Share of each user's train pairs carved for validation (1/8 by default)."),
    click.Option(["--lr"], type=float, default=None),
    click.Option(["--batch-size"], type=click.IntRange(1), default=None),
    click.Option(["--eval-batch-size"], type=click.IntRange(1), default=None,
                 help="Users scored at once in the full-ranking evaluation (1,024 by default)."),
    click.Option(["--layers", "n_layers"], type=click.IntRange(1), default=None),
    click.Option(["--patience"], type=click.IntRange(1), default=None),
    click.Option(["--min-epochs"], type=click.IntRange(0), default=None,
                 help="Early stopping may not end a run before this many epochs (CIKGRec: 30)."),
    click.Option(["--device"], default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ..."),
    click.Option(["--threads"], type=click.IntRange(1), default=None, help="CPU threads for torch."),
    click.Option(["--capture"], type=_choice("capture"), default=None,
                 help="Run the training step compiled (torch.compile) or as a CUDA graph (cuda-graph, CUDA only), for "
                      "GPUs where kernel launches bound a step; LightGCN and CIKGRec (default: none, the eager step)."),
)
_WRITE_PARAMS = (
    click.Option(["--k", "top_k"], type=click.IntRange(1), default=20, show_default=True,
                 help="Recommendations written per user."),
    click.Option(["--no-write"], is_flag=True, help="Do not write recommendations back."),
    click.Option(["--edges"], type=click.Choice(EDGE_MODES), default="auto", show_default=True,
                 help="Also write RECOMMENDED edges (the Browser view; readers use the TOP_K lists): auto = "
                      f"only up to {EDGES_AUTO_MAX_ROWS:,} rows (users x k)."),
)
_MODEL_PARAMS = (
    click.Option(["--interests", "interest_set"], default=None, metavar="SET",
                 help="Interest set to train on (default: authors; 'kgrec interests list' shows the sets)."),
    click.Option(["--no-interests"], is_flag=True, help="CIKGRec ablation 'w/o UIK'."),
    click.Option(["--no-reconstruction"], is_flag=True, help="CIKGRec ablation 'w/o UIR'."),
    click.Option(["--no-contrastive"], is_flag=True, help="CIKGRec ablation 'w/o CL'."),
    click.Option(["--no-kg"], is_flag=True, help="Leave the item KG out."),
    click.Option(["--mask-schedule"], type=click.Choice(["exponential", "linear", "fixed"]), default=None,
                 help="'fixed' is the 'w/o DMR' ablation."),
    click.Option(["--contrast-mode"], type=_choice("contrast_mode"), default=None,
                 help="CIKGRec contrastive loss over the batch, all users and items (paper), or as coded (reference)."),
    click.Option(["--replace-rate"], type=click.FloatRange(0, 1, max_open=True), default=None,
                 help="Share of masked interests given another interest's embedding instead of the mask token."),
    click.Option(["--reconstruction-edge-dropout"], type=click.FloatRange(0, 1, max_open=True), default=None),
    click.Option(["--projection-init"], type=_choice("projection_init"), default=None),
    click.Option(["--transe-triples"], type=_choice("transe_triples"), default=None),
    click.Option(["--transe-distance"], type=_choice("transe_distance"), default=None),
    click.Option(["--transe-steps"], type=_choice("transe_steps"), default=None),
)
_REPORT_PARAMS = (
    click.Option(["--set", "settings"], multiple=True, metavar="NAME=VALUE",
                 help="Any setting of the model's config or of training, by its Python name (repeatable): "
                      "e.g. --set n_factors=4 --set sim_regularity=1e-4; a tuple as 64,32,16."),
    click.Option(["--progress/--no-progress"], default=None, help=PROGRESS_HELP),
    click.Option(["--estimate"], is_flag=True,
                 help="Print the expected time per epoch, evaluation time and peak memory (from the graph's "
                      "counts and a few calibration steps), then stop without training."),
    click.Option(["--json", "as_json"], is_flag=True),
)
_LAUNCH_PARAMS = (
    click.Option(["--nproc"], type=click.IntRange(1), default=1, show_default=True,
                 help="Processes training the model data-parallel on this machine (each a share of every batch; "
                      "runs itself under torchrun). For several machines, start torchrun yourself."),
    click.Option(["--dist-backend"], type=click.Choice(["auto", "gloo", "nccl"]), default="auto", show_default=True,
                 help="Process-group backend under torchrun: auto = nccl on GPUs, gloo on CPU."),
    click.Option(["--dist-timeout"], type=click.FloatRange(1), default=None, metavar="SECONDS",
                 help="Seconds a process waits for the others (rank 0's evaluations included) before it stops "
                      "(600 by default)."),
)
#: options about how many processes train, not settings of a config
LAUNCH_OPTIONS = ("nproc", "dist_backend", "dist_timeout")
#: what torchrun sets in every process it starts (recommender.distributed.TORCHRUN_ENV)
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
TRAIN_PARAMS: tuple[click.Parameter, ...] = (*_RUN_PARAMS, *_WRITE_PARAMS, *_MODEL_PARAMS, *_REPORT_PARAMS,
                                             *_LAUNCH_PARAMS)


@dataclass(frozen=True)
class TrainRequest:
    """One ``kgrec train MODEL`` call: what to train, what to write back, how to report.

    ``overrides`` holds the config fields given on the command line (an option left out keeps the
    preset's or the default value), with the ablation switches and the mask schedule.
    """

    model: str
    dataset: str
    seeds: int
    top_k: int
    write_back: bool
    edges: str
    interest_set: str | None
    preset: str | None
    progress: bool | None
    estimate: bool
    as_json: bool
    overrides: dict[str, Any]

    @classmethod
    def from_options(cls, model: str, options: dict[str, Any]) -> TrainRequest:
        rest = dict(options)
        named = {name: rest.pop(name, None) for name in REQUEST_OPTIONS if name != "no_write"}
        write_back = not rest.pop("no_write")
        # a part is switched off only when asked: models without that part have no such setting
        switches = {f"use_{part}": False for part in ABLATIONS if rest.pop(f"no_{part}", False)}
        mask_schedule = rest.pop("mask_schedule", None)
        overrides = {k: v for k, v in rest.items() if v is not None} | switches
        overrides |= parse_settings(model, named.pop("settings") or ())
        if mask_schedule:
            from dataclasses import replace

            from recommender.schedules import MaskSchedule

            overrides["mask"] = replace(MaskSchedule(), kind=mask_schedule)
        return cls(model=model, write_back=write_back, overrides=overrides, **named)

    @property
    def seed_list(self) -> list[int]:
        return [2024 + n for n in range(self.seeds)]


def _convert(text: str, default: Any, name: str) -> Any:
    """``text`` as the type of the setting's default (bool, int, float, str or a tuple of them)."""
    if isinstance(default, bool):
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise click.BadParameter(f"{name} takes true or false, not {text!r}.", param_hint="--set")
        return text.lower() in ("true", "1", "yes")
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str
        return tuple(_convert(part.strip(), kind(), name) for part in text.split(",") if part.strip())
    if not isinstance(default, int | float | str):
        raise click.BadParameter(f"{name} is not a plain value; set it from Python (kgrec.train).", param_hint="--set")
    try:
        return type(default)(text)
    except ValueError as error:
        raise click.BadParameter(f"{name} takes a {type(default).__name__}, not {text!r}.",
                                 param_hint="--set") from error


def parse_settings(model: str, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--set NAME=VALUE`` pairs as typed overrides of the model's config or of ``TrainConfig``."""
    from recommender.config import TrainConfig

    if model in KG_COMMANDS and pairs:
        raise click.BadParameter("transe takes no --set settings.", param_hint="--set")
    defaults = {} if model in KG_COMMANDS else vars(model_config_class(model)()) | vars(TrainConfig())
    parsed: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name not in defaults:
            known = ", ".join(sorted(model_config_class(model).field_names()))
            raise click.BadParameter(f"{pair!r}: give NAME=VALUE with a setting of {model} ({known}) or of "
                                     "training.", param_hint="--set")
        parsed[name] = _convert(text, defaults[name], name)
    return parsed


def _train_transe(ctx: click.Context, request: TrainRequest) -> None:
    from kgrec.models_api import train as train_model

    report = train_model("transe", request.dataset, kind="kg", store=open_store(ctx),
                         epochs=request.overrides.get("epochs") or 50, device=request.overrides["device"],
                         write_back=request.write_back).outcome
    click.echo(json.dumps(report, indent=2) if request.as_json else
               f"TransE on {request.dataset}: " + "  ".join(f"{k} {v:.4f}" for k, v in report["metrics"].items())
               + f"; wrote {report['entities_written']:,} entity vectors.")


def _estimate(ctx: click.Context, request: TrainRequest) -> None:
    from kgrec.models_api import estimate_training

    found = estimate_training(request.model, request.dataset, store=open_store(ctx),
                              interest_set=request.interest_set, preset=request.preset, **request.overrides)
    click.echo(json.dumps(found.figures, indent=2) if request.as_json else found.text)


def _echo_outcome(outcome: Any, request: TrainRequest) -> None:
    if request.as_json:
        click.echo(json.dumps({"run_id": outcome.run_id, **outcome.metrics()}, indent=2, default=str))
        return
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    first = outcome.results[0]
    click.echo(f"{request.model} on {request.dataset} ({outcome.protocol} protocol): {len(outcome.seeds)} seed(s), "
               f"best epoch {first.best_epoch}, {first.seconds_per_epoch:.2f} s/epoch")
    if outcome.protocol == "refit":
        click.echo(f"refit on all of train for {first.refit_epochs} epoch(s); "
                   f"test of the valid-phase model {format_metrics(first.valid_protocol_test or {})}")
    if outcome.protocol == "test-selected":
        click.echo(f"epoch chosen on test, for comparison only; the saved model is the first seed's "
                   f"({outcome.selected_seed}): test never chooses among seeds")
    click.echo(f"test  {format_summary(outcome.summary)}")
    if first.sparsity:
        groups = ", ".join(f"≤{g['max_train_items']}: {g['value']:.4f}" for g in first.sparsity)
        click.echo(f"NDCG@50 by train-interaction group: {groups}")
    if outcome.recommendations_written:
        click.echo(f"Wrote {outcome.recommendations_written:,} recommendations (run {outcome.run_id}).")


@click.pass_context
def _train_model(ctx: click.Context, model: str, **options: Any) -> None:
    """The callback of every ``kgrec train <model>``: TransE, an estimate, or a ranking run written back."""
    processes = {name: options.pop(name) for name in LAUNCH_OPTIONS if name in options}
    request = TrainRequest.from_options(model, options)
    if processes.get("nproc", 1) > 1 and (model == "transe" or request.estimate):
        raise click.UsageError("--nproc trains ranking models; leave it out for transe and --estimate.")
    if model == "transe":
        _train_transe(ctx, request)
        return
    if request.estimate:
        _estimate(ctx, request)
        return
    if processes.get("nproc", 1) > 1 and not launched():
        _relaunch(ctx, processes["nproc"])
    from kgrec.models_api import train as train_model

    main = not launched() or os.environ["RANK"] == "0"     # in a process group, rank 0 alone reports
    run = train_model(model, request.dataset, kind="ranking", store=open_store(ctx), seeds=request.seed_list,
                      k=request.top_k, write_back=request.write_back, progress=request.progress if main else False,
                      interest_set=request.interest_set, preset=request.preset, edges=request.edges,
                      dist_backend=processes.get("dist_backend", "auto"), dist_timeout=processes.get("dist_timeout"),
                      **request.overrides)
    if main:
        _echo_outcome(run.outcome, request)


def launched() -> bool:
    """Whether torchrun started this process (then ``kgrec.training`` joins its process group)."""
    return all(name in os.environ for name in TORCHRUN_ENV)


def without_option(args: list[str], option: str) -> list[str]:
    """``args`` less ``option`` and its value (``--nproc 2`` or ``--nproc=2``)."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            kept.append(arg)
    return kept


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """The command that runs ``kgrec <args>`` (``--nproc`` left out) in ``nproc`` processes on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "kgrec.cli", *without_option(args, "--nproc")]


def _relaunch(ctx: click.Context, nproc: int) -> None:
    """This command again, in ``nproc`` processes under torchrun; exits with torchrun's status."""
    import subprocess

    args = sys.argv[1:]
    if "train" not in args:   # invoked from Python, not from a command line this can repeat
        raise click.UsageError("--nproc needs the kgrec command line; from Python, start torchrun yourself.")
    ctx.exit(subprocess.call(torchrun_command(nproc, args)))


def _config_field(param: click.Parameter) -> str | None:
    """The config field an option sets (``--no-kg``: ``use_kg``; ``--mask-schedule``: ``mask``), or None."""
    name = param.name or ""
    if name.startswith("no_") and name[3:] in ABLATIONS:
        return f"use_{name[3:]}"
    return "mask" if name == "mask_schedule" else name


def model_params(model: str) -> list[click.Parameter]:
    """The options of ``kgrec train <model>``: what the run and the training take, and the model
    settings its own config has (``kgrec train bprmf`` has no ``--layers``)."""
    own = model_config_class(model).field_names()

    def offered(param: click.Parameter) -> bool:
        field = _config_field(param)
        return param.name in REQUEST_OPTIONS + LAUNCH_OPTIONS or field in TRAIN_FIELDS or field in own

    return [p for p in TRAIN_PARAMS if offered(p)]


def _model_command(model: str) -> click.Command:
    """``kgrec train <model>``: the shared options and the model's own, with the model fixed."""
    if model in KG_COMMANDS:
        return KgrecCommand(model, params=list(TRAIN_PARAMS), callback=partial(_train_model, model=model),
                            help=TRANSE_HELP, short_help="TransE on the KG alone (PyKEEN): entity vectors.")
    spec = registry.model_spec(model)
    own = ", ".join(sorted(model_config_class(model).field_names()))
    return KgrecCommand(model, params=model_params(model), callback=partial(_train_model, model=model),
                        help=f"Train {model} ({spec.summary}; {spec.paper}) on DATASET from the graph; print test "
                             f"metrics; write top-K back.\n\nIts settings (--set NAME=VALUE): {own}.",
                        short_help=f"Train {model}: {spec.summary}.")


def command_names() -> list[str]:
    """``kgrec train``'s model commands: every registered ranking model, then transe."""
    return [*registry.model_names(), *KG_COMMANDS]


class TrainGroup(KgrecGroup):
    """``kgrec train``: a command per registered ranking model, made from the registry when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*command_names(), *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        return _model_command(cmd_name) if cmd_name in command_names() else None


@click.group("train", cls=TrainGroup, help=TRAIN_HELP)
def train() -> None:
    pass


train.add_command(ctr)
train.add_command(rerank)


def __getattr__(name: str) -> Any:
    if name == "MODEL_NAMES":    # the model commands as the registry has them now
        return tuple(command_names())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
