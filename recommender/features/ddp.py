"""Data-parallel training of CTR models and rerankers (``kgrec train ctr|rerank --nproc N``, torchrun):
:class:`DataParallelLoop` is what :func:`recommender.features.trainer.fit` runs with when this process
is one of several in a process group (``recommender.distributed``).

Split and replicated. Every process draws the one-process run's batches (the shuffle is seeded by the
epoch; SWING partners are looked up, not drawn); of each batch of B rows, process r takes the r-th of
W contiguous parts (``np.array_split``'s sizes; :func:`shard`). The model is wrapped in
``torch.nn.parallel.DistributedDataParallel``, which averages the W gradients during the backward
pass. Each process scales its part's loss so that the average is the one-process gradient:

* the task loss is a mean over n_r terms of the part (rows for CTR BCE, lists with a positive for the
  listwise loss, real candidates for the pointwise one: :func:`task_terms`); it is scaled by
  n_r * W / n, n the whole batch's count, so (1/W) sum_r (n_r W / n) mean_r is the batch's mean;
* the knowledge contrast (``contrast``, Eq. 3-4) is computed within each part: a part's anchors are
  its own distinct users and items and its negatives the part's other rows (about B/W of them, not
  B). Summed over anchors (``contrast_reduction="sum"``, the default) it is scaled by W, so the step
  sums every part's anchors as one process sums the batch's; a mean is scaled by rows_r * W / B.
  DIEN's auxiliary loss draws its negative steps within the part likewise.

A batch smaller than the group leaves a process without rows: it computes the whole batch with
weight 0, so every process still takes part in the gradient average.

DistributedDataParallel fits here (unlike the ranking models, ``recommender.ddp_loop``): every backward
pass of a step starts from the loss the wrapped forward returns; no phase trains outside it. Where the
loss leaves parameters unused (a contrast head without contrast: :func:`unused_parameters`), it is told
to look for them at every step; their gradients stay None, as in one process.

Dropout draws its masks from each process's own torch stream (seeded by the run's seed and the rank,
after the model is built alike everywhere): the masks of a part are not those one process draws for
its rows, so with dropout > 0 a run matches the one-process run in distribution, not in numbers.

Rank 0 alone evaluates (valid after each epoch, test once); the others receive its metrics, so every
process keeps the same best epoch and stops at the same one. ``fit`` holds the best weights in memory:
there is no checkpoint to write or resume from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, fields, is_dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from recommender import distributed
from recommender.ddp_loop import shard_bounds
from recommender.features.batch import CTRBatch, RerankBatch

Batch = CTRBatch | RerankBatch
Pairs = Iterable[tuple[Batch, Batch | None]]
#: loss terms of the knowledge contrast (``recommender.features.contrast``): scaled as the contrast is
CONTRAST_TERMS = ("uu", "ii")
#: what a process whose peer stopped says to do: the loop keeps no checkpoint
RESTART = "Start the job again with the same command: CTR and rerank training keeps no checkpoint, so it starts over."


def shard(batch: Batch, start: int, end: int) -> Batch:
    """Rows [start, end) of every tensor of ``batch``; history and list widths stay the batch's."""
    return replace(batch, **{f.name: value[start:end] for f in fields(batch)
                             if isinstance(value := getattr(batch, f.name), torch.Tensor)})


def task_terms(model: nn.Module, batch: Batch) -> int:
    """How many terms the model's task loss averages over in ``batch``: the model's own
    ``task_terms(batch)`` where it defines one; else the real candidates for a pointwise (``bce``)
    reranker, the lists with a positive for a listwise one, the rows for a CTR model."""
    own = getattr(model, "task_terms", None)
    if own is not None:
        return int(own(batch))
    if isinstance(batch, RerankBatch):
        if getattr(model.config, "loss_kind", "listwise") == "bce":
            return int(batch.mask.sum())
        return int(((batch.labels * batch.mask).sum(-1) > 0).sum())
    return len(batch)


def part_of(model: nn.Module, batch: Batch, partners: Batch | None, world: int,
            rank: int) -> tuple[Batch, Batch | None, float, float]:
    """This process's part of a batch (and of its partners) with the scales of its task loss and of
    its contrast (see the module docstring)."""
    rows = len(batch)
    start, end = shard_bounds(rows, world, rank)
    if start == end:
        return batch, partners, 0.0, 0.0
    part = shard(batch, start, end)
    whole = task_terms(model, batch)
    task_scale = task_terms(model, part) * world / whole if whole else 0.0
    summed = getattr(getattr(model, "config", None), "contrast_reduction", "sum") == "sum"
    contrast_scale = float(world) if summed else (end - start) * world / rows
    return part, None if partners is None else shard(partners, start, end), task_scale, contrast_scale


def scaled_total(terms: dict[str, torch.Tensor], task_scale: float, contrast_scale: float) -> torch.Tensor:
    """What a process's backward pass starts from: its task loss and the rest of its total (the
    contrast) each times its scale (:func:`part_of`)."""
    return terms["task"] * task_scale + (terms["total"] - terms["task"]) * contrast_scale


class _Loss(nn.Module):
    """The model's loss terms as a forward, so DistributedDataParallel sees every backward pass."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Batch, partners: Batch | None) -> dict[str, torch.Tensor]:
        return self.model.loss(batch, partners)


def batch_digest(batch: Batch) -> str:
    """A digest of a batch's samples (users, items, labels): the processes compare their first batches."""
    digest = hashlib.sha256()
    for tensor in (batch.users, batch.items, batch.labels):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def unused_parameters(model: nn.Module, batch: Batch, partners: Batch | None) -> list[str]:
    """The trained parameters the loss of ``batch`` does not reach (a contrast head without contrast), from
    its autograd graph, without a backward pass; random states (torch's, a module's own generators) are
    left as they were. DistributedDataParallel looks for unused parameters at every step only when
    there are any (that search costs a walk of the graph per step)."""
    generators = [v for m in model.modules() for v in vars(m).values() if isinstance(v, torch.Generator)]
    states = [g.get_state() for g in generators]
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device.index] if device.type == "cuda" else []):
        total = model.loss(batch.to(device), None if partners is None else partners.to(device))["total"]
    for generator, state in zip(generators, states, strict=True):
        generator.set_state(state)
    reached: set[int] = set()
    pending, seen = [total.grad_fn], set()
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            reached.add(id(node.variable))
        pending += [next_node for next_node, _ in node.next_functions]
    return [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in reached]


class DataParallelLoop:
    """The epoch over this process's parts and rank 0's evaluation, for ``fit`` in a process group."""

    def __init__(self, model: nn.Module, config: Any, train_pairs: Callable[[int], Iterator[tuple[Batch, Batch | None]]],
                 evaluate: Callable[[nn.Module, str], dict[str, float]]):
        self.rank, self.world = distributed.rank(), distributed.world_size()
        self.model, self._evaluate, self.epochs = model, evaluate, 0
        settings = asdict(model.config) if is_dataclass(getattr(model, "config", None)) else {}
        first = next(train_pairs(1), None)
        unused = [] if first is None else unused_parameters(model, *first)
        distributed.agree("the model and its training", world_size=self.world, model=type(model).__name__,
                          model_config=settings, train=asdict(config),
                          parameters=sum(p.numel() for p in model.parameters()),
                          first_batch=None if first is None else batch_digest(first[0]), unused=unused)
        device = next(model.parameters()).device
        with distributed.peer_errors(f"setting up {type(model).__name__}", RESTART):
            self.wrapped = DistributedDataParallel(_Loss(model), device_ids=[device.index] if device.type == "cuda"
                                                   else None, find_unused_parameters=bool(unused))
        # dropout: a stream of this process's own (the model was built alike everywhere before this)
        torch.manual_seed(int(np.random.SeedSequence([config.seed, self.rank]).generate_state(1)[0]))

    def epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, pairs: Pairs, device: str) -> dict[str, float]:
        """One epoch; the logged losses are the whole batches' (each process's scaled terms, averaged)."""
        self.epochs += 1
        with distributed.peer_errors(f"training epoch {self.epochs}", RESTART):
            return distributed.mean_over_ranks(self._epoch(optimizer, pairs, device))

    def _epoch(self, optimizer: torch.optim.Optimizer, pairs: Pairs, device: str) -> dict[str, float]:
        self.wrapped.train()
        sums: dict[str, float] = {}
        steps = 0
        for batch, partners in pairs:
            part, mates, task_scale, contrast_scale = part_of(self.model, batch, partners, self.world, self.rank)
            terms = self.wrapped(part.to(device), None if mates is None else mates.to(device))
            total = scaled_total(terms, task_scale, contrast_scale)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            for name, value in terms.items():
                scale = contrast_scale if name in CONTRAST_TERMS else task_scale
                logged = total if name == "total" else value * scale
                sums[name] = sums.get(name, 0.0) + float(logged.detach())
            steps += 1
        return {name: value / max(steps, 1) for name, value in sums.items()}

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        """Rank 0's metrics on ``split``, on every process (the others wait for them)."""
        with distributed.peer_errors(f"evaluating on {split}", RESTART):
            return distributed.share_from_main(self._evaluate(model, split) if self.rank == 0 else None)
