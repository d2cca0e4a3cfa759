"""The objectives of CIKGRec and its baselines, each a small pure function (paper equations noted)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

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
    logits = a @ b.T / temperature
    return F.cross_entropy(logits, torch.arange(len(a), device=a.device))


def scaled_cosine_error(target: torch.Tensor, reconstruction: torch.Tensor, eta: float) -> torch.Tensor:
    """Eq. 7: mean over masked nodes of (1 - cos(z, z'''))^eta, eta >= 1. Shapes: (M, D) x2 -> scalar."""
    if eta < 1:
        raise ModelConfigError(f"eta must be >= 1, got {eta}")
    cosine = F.cosine_similarity(target, reconstruction, dim=-1)
    return (1 - cosine).pow(eta).mean()


def transe_loss(head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                negative_tail: torch.Tensor) -> torch.Tensor:
    """Eq. 12: mean of -ln sigma(||h + r - t'|| - ||h + r - t||). Shapes: (B, D) x4 -> scalar."""
    positive = torch.linalg.vector_norm(head + relation - tail, dim=-1)
    negative = torch.linalg.vector_norm(head + relation - negative_tail, dim=-1)
    return F.softplus(positive - negative).mean()


def l2_regularizer(*tensors: torch.Tensor) -> torch.Tensor:
    """Half the squared L2 norm per row, averaged over the batch (LightGCN's weight decay)."""
    batch = len(tensors[0])
    return sum(t.pow(2).sum() for t in tensors) / (2 * batch)
