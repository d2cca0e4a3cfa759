"""A captured training step (``TrainConfig.capture``), for GPUs where a step is bound by kernel launches.

A LightGCN or CIKGRec step on dbbook2014 is hundreds of small kernels; on a large GPU the Python
and launch overhead of such a step can outweigh its arithmetic. Two ways to cut it:

* ``compile``: ``torch.compile`` (``fullgraph=True``, ``dynamic=False``, backend ``COMPILE_BACKEND``)
  of the loss (forward and, through AOTAutograd, backward); the optimizer steps eagerly.
* ``cuda-graph``: the whole step (forward, backward and Adam's update, ``capturable=True``) recorded
  once as a ``torch.cuda.CUDAGraph`` and replayed per batch from static input tensors.

Both run a *static form* of the model's ``batch_loss`` (:class:`LightGCNStep`, :class:`CIKGRecStep`):
the same loss terms, the same random draws in the same order, but no data-dependent shape and no
host sync, which capture needs. Sparse products become a gather, a multiply and an ``index_add``
over a fixed edge list (:class:`EdgeList`); dropped edges keep their entry with value 0; the batch's
distinct nodes are a mask over the batch, not ``torch.unique``; the masked interests are a mask
over all interests, their count a tensor input. The numbers equal the eager step's to float
rounding (tests/test_capture.py). A model without a static form is refused by name.

Every batch shape gets its own compiled graph or CUDA graph (the partial last batch one more,
captured once: the train set's size is the same every epoch), so no batch is padded or dropped.
CUDA graphs: the first ``WARMUP_STEPS`` steps of each shape run eagerly on a side stream (real
steps, as captured), then one capture, then replays. The loss values come back once per step,
after the replay, and a non-finite loss stops training there (that step's update is applied).
Random numbers come from torch's CUDA generator, which a graph replays safely: the capture
registers it and each replay advances its Philox offset.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from recommender.config import CHOICES
from recommender.errors import ModelConfigError, TrainingError
from recommender.losses import bpr_loss, l2_regularizer
from recommender.models.base import RankingModel, gather_rows
from recommender.models.cikgrec import CIKGRec
from recommender.models.lightgcn import LightGCN

if TYPE_CHECKING:
    from recommender.trainer import Trainer

CAPTURE_MODES = CHOICES["capture"]    # none, compile, cuda-graph
#: torch.compile's backend for ``capture="compile"``; tests use ``aot_eager`` (no C++ or Triton compiler)
COMPILE_BACKEND = "inductor"
WARMUP_STEPS = 3     # eager steps of each batch shape before its CUDA graph is captured


@dataclass(frozen=True)
class EdgeList:
    """A sparse (N, N) matrix as fixed (row, column) entries sorted by row, with their values:
    ``A @ X`` is a gather, a multiply and an ``index_add``, shapes fixed by the entry count."""

    rows: torch.Tensor       # (M,) int64
    cols: torch.Tensor       # (M,) int64
    values: torch.Tensor     # (M,)
    n_rows: int

    @classmethod
    def from_csr(cls, csr: torch.Tensor) -> EdgeList:
        crow = csr.crow_indices().long()
        rows = torch.repeat_interleave(torch.arange(csr.shape[0], device=crow.device), crow.diff())
        return cls(rows, csr.col_indices().long(), csr.values().clone(), csr.shape[0])   # no view of the CSR

    def mm(self, dense: torch.Tensor, values: torch.Tensor | None = None, first_row: int = 0,
           start: int = 0) -> torch.Tensor:
        """``(A @ dense)[first_row:]`` with ``values`` (M,) instead of the stored ones where given;
        ``start`` is the first entry of row ``first_row``. Shapes: (N, D) -> (N - first_row, D)."""
        values = self.values if values is None else values
        rows, cols = self.rows, self.cols
        if first_row:
            rows, cols, values = rows[start:] - first_row, cols[start:], values[start:]
        out = dense.new_zeros(self.n_rows - first_row, dense.shape[1])
        return out.index_add(0, rows, dense.index_select(0, cols) * values[:, None])


def static_propagate(graph: EdgeList, embeddings: torch.Tensor, n_layers: int, perturb: float = 0.0,
                     include_input: bool = True, values: torch.Tensor | None = None) -> torch.Tensor:
    """``recommender.graphs.propagate`` over an :class:`EdgeList`: the same layers, noise draws and
    order of additions. Shapes: (N, D) -> (N, D)."""
    total, current = (embeddings if include_input else None), embeddings
    for _ in range(n_layers):
        current = graph.mm(current, values)
        if perturb > 0:
            with torch.no_grad():
                noise = torch.rand_like(current)
                noise = noise / noise.norm(dim=-1, keepdim=True).clamp_min(1e-12) * torch.sign(current) * perturb
            current = noise + current
        total = current if total is None else total + current
    return total / (n_layers + int(include_input))


def distinct_info_nce(view_a: torch.Tensor, view_b: torch.Tensor, nodes: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """``info_nce(view_a[u], view_b[u])`` for ``u`` the distinct ``nodes``, with static shapes: each
    node's first place in the batch stands for it, the other places are masked out of the logits
    and of the mean. Shapes: (N, D), (N, D), (B,) -> ()."""
    order = torch.argsort(nodes, stable=True)
    ordered = nodes.index_select(0, order)
    first_sorted = torch.cat([ordered.new_ones(1, dtype=torch.bool), ordered[1:] != ordered[:-1]])
    first = torch.empty_like(first_sorted).scatter(0, order, first_sorted)
    a, b = F.normalize(view_a[nodes], dim=-1), F.normalize(view_b[nodes], dim=-1)
    logits = a @ b.T / temperature
    per_row = torch.logsumexp(logits.masked_fill(~first, float("-inf")), 1) - logits.diagonal()
    return (per_row * first).sum() / first.sum()


def candidate_nce(anchors: torch.Tensor, candidates: torch.Tensor, temperature: float,
                  targets: torch.Tensor) -> torch.Tensor:
    """``losses.candidate_info_nce`` with equal weights, through autograd (no workspace, no host-side
    BLAS). Shapes: (A, D), (C, D), (A,) -> ()."""
    a, b = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    logits = (a * (1 / temperature)) @ b.T
    return (torch.logsumexp(logits, 1) - logits.gather(1, targets[:, None]).squeeze(1)).mean()


class StaticStep(Protocol):
    def epoch_inputs(self, epoch: int) -> tuple[tuple[int, ...], bool]:
        """(integer inputs of this epoch's steps, a flag that changes the captured code)."""

    def __call__(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                 counts: torch.Tensor, flag: bool) -> dict[str, torch.Tensor]:
        """The loss terms of ``batch_loss``; ``counts`` holds ``epoch_inputs``'s integers."""


class LightGCNStep:
    """LightGCN's ``batch_loss`` (BPR of the propagated rows + ``l2`` times layer 0's L2) through
    autograd over a full propagation, instead of its hand-written, batch-rows-only backward
    (``torch.unique``-like ``distinct_rows``: a data-dependent shape)."""

    def __init__(self, model: LightGCN):
        self.model, self.graph = model, EdgeList.from_csr(model.adjacency)

    def epoch_inputs(self, epoch: int) -> tuple[tuple[int, ...], bool]:
        return (), False

    def __call__(self, users, positives, negatives, counts, flag):
        model = self.model
        nodes = static_propagate(self.graph, model.embedding, model.config.n_layers)
        rows = (users, positives + model.n_users, negatives + model.n_users)
        bpr = bpr_loss(*gather_rows(nodes, *rows))
        return {"total": bpr + model.config.l2 * l2_regularizer(*gather_rows(model.embedding, *rows)), "bpr": bpr}


class CIKGRecStep:
    """CIKGRec's ``batch_loss``, every option of its config, with static shapes: the reconstruction
    masks ``rank < n_masked`` over a permutation of all interests (the eager step's ``randperm``);
    its edge dropout zeroes the dropped entries' values; the decoder multiplies the interest rows
    of the graph; ``reference`` contrast takes every anchor of the batch once (the eager step's
    distinct anchors weighted by their counts: the same mean)."""

    def __init__(self, model: CIKGRec):
        self.model, cfg = model, model.config
        if cfg.eta < 1:
            raise ModelConfigError(f"eta must be >= 1, got {cfg.eta}")
        self.cikg = EdgeList.from_csr(model.cikg)
        views = ("view_perturbed", "view_interests", "view_kg") if model.use_contrastive else ()
        self.views = {name: EdgeList.from_csr(getattr(model, name)) if getattr(model, name) is not None else None
                      for name in views}
        self.first = model.layout.interest_offset       # the interests are the node rows first: ...
        dropout = model.reconstruction_graphs
        if dropout is not None:
            # its values are drawn per step (dropout_values)
            self.dropout_graph = EdgeList(dropout.rows, dropout.cols, torch.zeros(0), dropout.n_nodes)
            self.edge, self.n_edges = dropout.edge, dropout.n_edges
        self.graph = self.dropout_graph if dropout is not None else self.cikg
        self.decoder_start = int(torch.searchsorted(self.graph.rows, self.first))   # the interests' first entry

    def epoch_inputs(self, epoch: int) -> tuple[tuple[int, ...], bool]:
        """(masked interests, those given a donor's embedding), and whether any is (as ``_masked_rows``)."""
        model = self.model
        if not model.use_reconstruction:
            return (0, 0), False
        n_masked = max(1, int(round(model.config.mask.rate(epoch) * len(model.interest_nodes))))
        n_noise = int(model.config.replace_rate * n_masked)
        return (n_masked, n_noise), n_noise > 0

    def __call__(self, users, positives, negatives, counts, flag):
        model, cfg = self.model, self.model.config
        nodes = static_propagate(self.cikg, model.embedding, cfg.n_layers)
        pos, neg = positives + model.n_users, negatives + model.n_users
        bpr = bpr_loss(*gather_rows(nodes, users, pos, neg))
        reg = cfg.l2 * l2_regularizer(*gather_rows(model.embedding, users, pos, neg))
        losses = {"bpr": bpr}
        total = cfg.bpr_weight * bpr + reg
        if model.use_reconstruction:
            losses["reconstruction"] = self.reconstruction(counts, flag)
            total = total + cfg.reconstruction_weight * losses["reconstruction"]
        if model.use_contrastive:
            losses["cl"] = self.contrastive(users, positives)
            total = total + cfg.cl_weight * losses["cl"]
        losses["total"] = total
        return losses

    def reconstruction(self, counts: torch.Tensor, has_noise: bool) -> torch.Tensor:
        """Eq. 5-7: interest ``j`` is masked when its place in a random permutation is below
        ``counts[0]``, and takes a donor's row when below ``counts[1]`` (``CIKGRec._masked_rows``)."""
        model, cfg, first = self.model, self.model.config, self.first
        n_interests = model.layout.n_nodes - first
        permutation = torch.randperm(n_interests, device=model.device)
        rank = torch.empty_like(permutation).scatter(0, permutation, torch.arange(n_interests, device=model.device))
        masked = rank < counts[0]
        interests = model.embedding[first:]
        rows = model.mask_token.expand(n_interests, -1)
        if has_noise:
            donors = torch.randperm(n_interests, device=model.device)
            rows = torch.where((rank < counts[1])[:, None], interests[donors[rank]], rows)
        masked_input = torch.cat([model.embedding[:first], torch.where(masked[:, None], rows, interests)])
        values = None if model.reconstruction_graphs is None else self.dropout_values(cfg.reconstruction_edge_dropout)
        encoded = static_propagate(self.graph, masked_input, cfg.n_layers - 1, values=values)
        node_masked = torch.cat([masked.new_zeros(first), masked])
        projected = model.projection(encoded).masked_fill(node_masked[:, None], 0.0)
        decoded = self.graph.mm(projected, values, first, self.decoder_start)
        error = (1 - F.cosine_similarity(interests, decoded, dim=-1)).pow(cfg.eta)
        return (error * masked).sum() / masked.sum()

    def dropout_values(self, p: float) -> torch.Tensor:
        """``EdgeDropout.sample(p)``'s draw and normalisation, on every entry (dropped ones 0)."""
        graph = self.dropout_graph
        keep_edge = torch.rand(self.n_edges + 1, device=graph.rows.device) >= p
        keep_edge[-1] = True                                             # the self-loops always stay
        kept = keep_edge.index_select(0, self.edge).float()
        degree = torch.zeros(graph.n_rows, device=kept.device).index_add(0, graph.rows, kept)
        inv_sqrt = degree.clamp_min(1).pow(-0.5)                         # every node keeps its self-loop
        return inv_sqrt.index_select(0, graph.rows) * inv_sqrt.index_select(0, graph.cols) * kept

    def contrastive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``CIKGRec.contrastive_loss``: view 1 against the side views (or SimGCL's two views)."""
        model, cfg, views = self.model, self.model.config, self.views

        def view1_of(include_input: bool) -> torch.Tensor:
            return static_propagate(views["view_perturbed"], model.embedding, cfg.n_layers, perturb=cfg.noise_eps,
                                    include_input=include_input)

        if views["view_interests"] is None and views["view_kg"] is None:
            view1, view2 = view1_of(False), view1_of(False)
            return (distinct_info_nce(view1, view2, users, cfg.temperature)
                    + distinct_info_nce(view1, view2, items + model.n_users, cfg.temperature))
        reference = cfg.contrast_mode == "reference"
        view1 = view1_of(reference)
        loss = torch.zeros((), device=model.device)
        if views["view_interests"] is not None:
            view2 = static_propagate(views["view_interests"], model.embedding, cfg.n_layers)
            loss = loss + self.side_loss(view1, view2, users, 0, model.n_users)
        if views["view_kg"] is not None:
            view3 = static_propagate(views["view_kg"], model.embedding, cfg.n_layers)
            last = model.layout.n_nodes if reference else model.n_users + model.n_items
            loss = loss + self.side_loss(view1, view3, items + model.n_users, model.n_users, last)
        return loss

    def side_loss(self, view1: torch.Tensor, side: torch.Tensor, anchors: torch.Tensor,
                  first: int, last: int) -> torch.Tensor:
        """``CIKGRec._side_loss`` for each ``contrast_mode``."""
        tau, mode = self.model.config.temperature, self.model.config.contrast_mode
        if mode == "batch":
            return distinct_info_nce(view1, side, anchors, tau)
        if mode == "paper":
            return candidate_nce(view1[first:last], side[first:last], tau, torch.arange(last - first, device=side.device))
        return candidate_nce(view1[anchors], side[first:last], tau, anchors - first)


#: the models with a static form of their step (exactly these classes: a subclass such as SimGCL
#: has a batch_loss of its own)
STATIC_STEPS: dict[type[RankingModel], Callable[[RankingModel], StaticStep]] = {
    LightGCN: LightGCNStep, CIKGRec: CIKGRecStep}  # type: ignore[dict-item]


def static_step(model: RankingModel, name: str, mode: str) -> StaticStep:
    """The static form of ``model``'s step, or a clear refusal."""
    make = STATIC_STEPS.get(type(model))
    if make is None:
        supported = ", ".join(sorted(cls.name for cls in STATIC_STEPS))
        raise TrainingError(f"capture={mode!r} runs a static-shape form of the training step, written for {supported} "
                            f"only; {name} has none: train it with capture='none'.")
    return make(model)


def _read(trainer: Trainer, names: tuple[str, ...], losses: torch.Tensor, epoch: int) -> dict[str, float]:
    """The step's loss terms, read in one copy after the step; a non-finite total stops training."""
    result = dict(zip(names, losses.tolist(), strict=True))
    if not math.isfinite(result["total"]):
        raise TrainingError(f"The {trainer.model_name} loss became {result['total']} at epoch {epoch}; lower the "
                            f"learning rate (now {trainer.config.lr}) or the loss weights.")
    return result


class _EpochInputs:
    """``StaticStep.epoch_inputs`` of the current epoch, as a device tensor made once per epoch."""

    def __init__(self, form: StaticStep, device: torch.device):
        self.form, self.device, self.epoch = form, device, -1
        self.values: tuple[int, ...] = ()
        self.flag = False

    def get(self, epoch: int) -> tuple[tuple[int, ...], bool]:
        if epoch != self.epoch:
            self.epoch = epoch
            self.values, self.flag = self.form.epoch_inputs(epoch)
            self.tensor = torch.tensor(self.values, dtype=torch.long, device=self.device)
        return self.values, self.flag


class CompiledStep:
    """``capture="compile"``: the static form compiled whole (a graph break is an error, never a
    silent eager fallback); backward through the compiled graph, then the trainer's optimizer."""

    def __init__(self, trainer: Trainer, form: StaticStep):
        torch.compiler.reset()   # each trainer compiles its own step: no stale graphs, no recompile limit reached
        self.trainer, self.inputs = trainer, _EpochInputs(form, trainer.device)
        self.loss = torch.compile(form.__call__, fullgraph=True, dynamic=False, backend=COMPILE_BACKEND)

    def __call__(self, users: np.ndarray, pos: np.ndarray, neg: np.ndarray, epoch: int) -> dict[str, float]:
        trainer = self.trainer
        _, flag = self.inputs.get(epoch)
        tensors = (torch.from_numpy(a).to(trainer.device) for a in (users, pos, neg))
        losses = self.loss(*tensors, self.inputs.tensor, flag)
        trainer.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        trainer.optimizer.step()
        return _read(trainer, tuple(losses), torch.stack([value.detach() for value in losses.values()]), epoch)


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    inputs: torch.Tensor          # (3B + k,) int64: users | positives | negatives | the epoch's integers
    staging: torch.Tensor         # the same on the host, pinned: the copy in is asynchronous
    losses: torch.Tensor          # (terms,): the loss terms of the last replay
    names: tuple[str, ...]


class GraphedStep:
    """``capture="cuda-graph"``: forward, backward and Adam's update (``capturable=True``) recorded
    once per batch shape and replayed; one host-to-device copy in and one device-to-host copy out
    per step."""

    def __init__(self, trainer: Trainer, form: StaticStep):
        self.trainer, self.form, self.inputs = trainer, form, _EpochInputs(form, trainer.device)
        optimizer = trainer.optimizer
        if type(optimizer) is not torch.optim.Adam:
            raise TrainingError(f"capture='cuda-graph' steps a capturable Adam; {trainer.model_name}'s optimizer "
                                f"is a {type(optimizer).__name__}.")
        # Adam's step counts live on the GPU and no step reads them on the host: a graph replays it
        trainer.optimizer = torch.optim.Adam(trainer.model.parameters(), **{**optimizer.defaults, "capturable": True})
        self.graphs: dict[tuple[int, bool], _Captured] = {}
        self.eager_steps: Counter[tuple[int, bool]] = Counter()
        self.stream = torch.cuda.Stream(trainer.device)

    def __call__(self, users: np.ndarray, pos: np.ndarray, neg: np.ndarray, epoch: int) -> dict[str, float]:
        values, flag = self.inputs.get(epoch)
        key = (len(users), flag)
        host = np.concatenate([users, pos, neg, np.asarray(values, dtype=np.int64)]).astype(np.int64)
        captured = self.graphs.get(key)
        if captured is None and self.eager_steps[key] < WARMUP_STEPS:
            self.eager_steps[key] += 1
            names, losses = self._on_side_stream(lambda: self._step(self._device(host), len(users), flag))
            return _read(self.trainer, names, losses, epoch)
        if captured is None:
            captured = self.graphs[key] = self._capture(self._device(host), len(users), flag)
        # the last step's losses were read after its replay: the staging buffer is free again
        captured.staging.numpy()[:] = host
        captured.inputs.copy_(captured.staging, non_blocking=True)
        captured.graph.replay()
        return _read(self.trainer, captured.names, captured.losses, epoch)

    def _step(self, inputs: torch.Tensor, size: int, flag: bool) -> tuple[tuple[str, ...], torch.Tensor]:
        """One step from ``inputs`` (as ``_Captured.inputs``), with no host sync: eager or being captured."""
        losses = self.form(inputs[:size], inputs[size:2 * size], inputs[2 * size:3 * size], inputs[3 * size:], flag)
        packed = torch.stack([value.detach() for value in losses.values()])
        losses["total"].backward()
        self.trainer.optimizer.step()
        return tuple(losses), packed

    def _on_side_stream(self, run: Callable[[], tuple[tuple[str, ...], torch.Tensor]]) -> tuple[tuple[str, ...], torch.Tensor]:
        """An eager step as CUDA graphs want their warm-up: on a side stream, joined both ways."""
        self.stream.wait_stream(torch.cuda.current_stream(self.trainer.device))
        with torch.cuda.stream(self.stream):
            self.trainer.optimizer.zero_grad(set_to_none=True)
            result = run()
        torch.cuda.current_stream(self.trainer.device).wait_stream(self.stream)
        return result

    def _capture(self, inputs: torch.Tensor, size: int, flag: bool) -> _Captured:
        """Record one step on ``inputs`` (now static); gradients are made inside the graph's memory pool."""
        graph = torch.cuda.CUDAGraph()
        self.trainer.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            names, packed = self._step(inputs, size, flag)
        return _Captured(graph, inputs, torch.empty_like(inputs, device="cpu").pin_memory(), packed, names)

    def _device(self, host: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(host).to(self.trainer.device)



def captured_step(trainer: Trainer) -> CompiledStep | GraphedStep | None:
    """The trainer's step for ``trainer.config.capture``: None for ``none`` (the eager step)."""
    mode = trainer.config.capture
    if mode not in CAPTURE_MODES:
        raise ModelConfigError(f"capture must be one of {', '.join(CAPTURE_MODES)}; got {mode!r}")
    if mode == "none":
        return None
    if mode == "cuda-graph" and trainer.device.type != "cuda":
        raise TrainingError(f"capture='cuda-graph' records the step as a CUDA graph and needs a CUDA device; this run "
                            f"is on {trainer.device}. Use --device cuda, or --capture compile or none.")
    form = static_step(trainer.model, trainer.model_name, mode)
    return CompiledStep(trainer, form) if mode == "compile" else GraphedStep(trainer, form)
