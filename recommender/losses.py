"""The objectives of CIKGRec and its baselines, each a small pure function (paper equations noted)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from recommender.blas import scores, scores_into, transposed_product
from recommender.errors import ModelConfigError


def bpr_loss(user: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Eq. 10: mean of -ln sigma(u.i - u.i'). Shapes: (B, D) x3 -> scalar."""
    margin = (user * positive).sum(-1) - (user * negative).sum(-1)
    return F.softplus(-margin).mean()


def info_nce(view_a: torch.Tensor, view_b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Eq. 9 (one side): row k of ``view_a`` should match row k of ``view_b`` among all rows.

    Cosine similarity over temperature; mean over rows. Shapes: (B, D), (B, D) -> scalar.
    """
    a, b = F.normalize(view_a, dim=-1), F.normalize(view_b, dim=-1)
    logits = scores(a, b) / temperature
    return F.cross_entropy(logits, torch.arange(len(a), device=a.device))


def candidate_info_nce(anchors: torch.Tensor, candidates: torch.Tensor, temperature: float,
                       targets: torch.Tensor, weights: torch.Tensor | None = None,
                       workspace: ScoreWorkspace | None = None) -> torch.Tensor:
    """Eq. 9 (one side) against one fixed set of candidates (e.g. every user): row k of ``anchors``
    should match row ``targets[k]`` of ``candidates`` among all of them.

    Cosine similarity over temperature; mean over anchors, each counted ``weights[k]`` times (an
    anchor repeated in a batch is scored once and weighted). Shapes: (A, D), (B, D), (A,), (A,) -> scalar.
    ``workspace`` (kept by the caller, grown here as needed) holds the (A, B) scores
    until the backward pass, so a training loop reuses one block instead of allocating tens of MB
    of fresh pages per step. Use one per call site: a loss must be backpropagated before its
    workspace is used again (autograd raises an error otherwise).
    """
    a, b = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    weights = torch.ones(len(a), device=a.device) if weights is None else weights
    weights = weights.to(a.dtype)
    return _CandidateInfoNCE.apply(a, b, targets, weights / weights.sum(), temperature, workspace)


# exp(1/tau) times up to 10^7 candidates stays below float32's maximum (3.4e38) while 1/tau <= 70,
# and exp(-1/tau) above its smallest normal (1.2e-38): no shift by the row maximum is needed
_UNSHIFTED_EXP_LIMIT = 70.0


class _CandidateInfoNCE(torch.autograd.Function):
    """``candidate_info_nce`` on unit rows, with a hand-written backward.

    The (A, B) logits are nearly all of its cost on a CPU, so they are made once, exponentiated in
    place, and used by the backward pass only inside two matrix products (the softmax's row scaling
    and the positives' one-hot are applied to the small factors): 1.5-2x faster than autograd
    through ``cross_entropy``, which copies the logits several times.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, anchors: torch.Tensor,  # type: ignore[override]
                candidates: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
                temperature: float, workspace: ScoreWorkspace | None = None) -> torch.Tensor:
        block = workspace.scores(anchors, candidates) if workspace is not None else None
        logits = scores_into(anchors * (1 / temperature), candidates, out=block)
        positive = logits.gather(1, targets[:, None]).squeeze(1)
        if 1 / temperature <= _UNSHIFTED_EXP_LIMIT:
            exps, shift = logits.exp_(), 0.0     # unit rows: |logit| <= 1 / tau, far from float32's limits
        else:                                    # shift by the row maximum (two more passes over the block)
            top = logits.amax(1, keepdim=True)
            exps, shift = logits.sub_(top).exp_(), top.squeeze(1)
        totals = exps.sum(1)
        ctx.save_for_backward(anchors, candidates, targets, weights, exps, totals)
        ctx.temperature = temperature
        return ((shift + totals.log() - positive) * weights).sum()

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        anchors, candidates, targets, weights, exps, totals = ctx.saved_tensors
        scale = (weights * grad / ctx.temperature)[:, None]       # d loss / d logit, per anchor row
        softmax_scale = scale / totals[:, None]
        grad_anchors = softmax_scale * (exps @ candidates) - scale * candidates[targets]
        grad_candidates = transposed_product(exps, softmax_scale * anchors).index_add_(0, targets, -scale * anchors)
        return grad_anchors, grad_candidates, None, None, None, None


class ScoreWorkspace:
    """One reusable block for a call site's (A, B) score matrices.

    It grows by reallocating, never in place: a block that numpy has written into (see
    ``recommender.blas``) cannot be resized, and a pending backward pass keeps the old block alive.
    """

    def __init__(self) -> None:
        self.block: torch.Tensor | None = None

    def scores(self, anchors: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor | None:
        """An (A, B) view of the block, grown to fit (None, so that the product allocates, where
        the block's dtype or device differs from the anchors')."""
        if self.block is not None and (self.block.dtype, self.block.device) != (anchors.dtype, anchors.device):
            return None
        size = len(anchors) * len(candidates)
        if self.block is None or self.block.numel() < size:
            self.block = torch.empty(size, dtype=anchors.dtype, device=anchors.device)
        return self.block[:size].view(len(anchors), len(candidates))


def scaled_cosine_error(target: torch.Tensor, reconstruction: torch.Tensor, eta: float) -> torch.Tensor:
    """Eq. 7: mean over masked nodes of (1 - cos(z, z'''))^eta, eta >= 1. Shapes: (M, D) x2 -> scalar."""
    if eta < 1:
        raise ModelConfigError(f"eta must be >= 1, got {eta}")
    cosine = F.cosine_similarity(target, reconstruction, dim=-1)
    return (1 - cosine).pow(eta).mean()


def transe_loss(head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                negative_tail: torch.Tensor, squared: bool = False) -> torch.Tensor:
    """Eq. 12: mean of -ln sigma(d(h + r - t') - d(h + r - t)), d the L2 norm, or its square with
    ``squared`` (what the reference code trains with). Shapes: (B, D) x4 -> scalar."""
    def distance(difference: torch.Tensor) -> torch.Tensor:
        return difference.pow(2).sum(-1) if squared else torch.linalg.vector_norm(difference, dim=-1)

    positive = distance(head + relation - tail)
    negative = distance(head + relation - negative_tail)
    return F.softplus(positive - negative).mean()


def l2_regularizer(*tensors: torch.Tensor) -> torch.Tensor:
    """Half the squared L2 norm per row, averaged over the batch (LightGCN's weight decay)."""
    batch = len(tensors[0])
    return sum(t.pow(2).sum() for t in tensors) / (2 * batch)
