"""KELLMRec's knowledge-supervised adapter training (paper §3.4, Eq. 3-4).

Each user's positive is its SWING-most-similar user, each item's its SWING-most-similar item; the
data side supplies those partners as a batch of the same kind (``partners``: row k holds the partner
of row k's user and item, with their ids and text). The other rows of the batch are the negatives.

Eq. 3 as printed has the sum inside the exponent of its denominator; we implement the InfoNCE of the
references it cites ([10], [14]): the denominator sums exp(v_j . v_j'^p / tau) over j'. The paper
sums over the batch (Eq. 3), which ``reduction="sum"`` keeps; "mean" divides by the rows. Rows are
L2-normalised by default: tau = 0.03 on raw dot products would saturate the softmax at once.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from recommender.errors import ModelConfigError
from recommender.features.batch import CTRBatch, RerankBatch

Batch = CTRBatch | RerankBatch


class ContrastiveModel(Protocol):
    """What the helper needs from a backbone: the representations the adapter shapes."""

    def user_representation(self, batch: Batch) -> torch.Tensor: ...

    def item_representation(self, batch: Batch) -> torch.Tensor: ...

    def contrast_projection(self, vectors: torch.Tensor) -> torch.Tensor: ...


def info_nce(anchors: torch.Tensor, positives: torch.Tensor, temperature: float = 0.03,
             normalize: bool = True, reduction: str = "sum") -> torch.Tensor:
    """Eq. 3: row j of ``anchors`` should pick row j of ``positives`` among all rows.

    -sum_j log softmax_j'(v_j . v_j'^p / tau)[j]. Shapes: (B, D), (B, D) -> scalar.
    """
    if anchors.shape != positives.shape or anchors.dim() != 2:
        raise ValueError(f"anchors and positives must both be (B, D); got {tuple(anchors.shape)}, {tuple(positives.shape)}")
    if temperature <= 0 or reduction not in ("sum", "mean"):
        raise ModelConfigError(f"info_nce needs temperature > 0 and reduction sum|mean; got {temperature}, {reduction!r}")
    if normalize:
        anchors, positives = F.normalize(anchors, dim=-1), F.normalize(positives, dim=-1)
    logits = anchors @ positives.T / temperature
    return F.cross_entropy(logits, torch.arange(len(anchors), device=anchors.device), reduction=reduction)


def knowledge_contrast(model: ContrastiveModel, batch: Batch, partners: Batch, temperature: float = 0.03,
                       normalize: bool = True, reduction: str = "sum") -> dict[str, torch.Tensor]:
    """l_uu and l_ii of one batch; ``partners`` row k holds the SWING partners of row k.

    A user or item that appears in several rows is an anchor once (its first row), so no row is
    its own negative. For a rerank batch the items are the real candidates, row-major.
    """
    users, items = _first_rows(batch.users), _first_rows(_item_ids(batch))
    user_v, user_p = model.user_representation(batch), model.user_representation(partners)
    item_v, item_p = model.item_representation(batch), model.item_representation(partners)
    if user_v.shape != user_p.shape or item_v.shape != item_p.shape:
        raise ValueError("partners must have the batch's shape (the same rows and, for lists, the same mask)")
    project = model.contrast_projection
    return {"uu": info_nce(project(user_v[users]), project(user_p[users]), temperature, normalize, reduction),
            "ii": info_nce(project(item_v[items]), project(item_p[items]), temperature, normalize, reduction)}


def with_contrast(terms: dict[str, torch.Tensor], model: ContrastiveModel, batch: Batch, partners: Batch | None,
                  weight: float, temperature: float, reduction: str = "sum") -> dict[str, torch.Tensor]:
    """Eq. 4: total = task + w * (l_uu + l_ii); the contrast is skipped without partners or with w = 0."""
    terms = dict(terms)
    terms["total"] = terms["task"]
    if partners is not None and weight > 0:
        terms |= knowledge_contrast(model, batch, partners, temperature, reduction=reduction)
        terms["total"] = terms["task"] + weight * (terms["uu"] + terms["ii"])
    return terms


def _item_ids(batch: Batch) -> torch.Tensor:
    return batch.items[batch.mask] if isinstance(batch, RerankBatch) else batch.items


def _first_rows(ids: torch.Tensor) -> torch.Tensor:
    """Indices of the first occurrence of each distinct id, in row order. (R,) -> (U,)."""
    _, inverse = torch.unique(ids, return_inverse=True)
    rows = torch.arange(len(ids), device=ids.device)
    first = torch.full((int(inverse.max()) + 1 if len(ids) else 0,), len(ids), device=ids.device, dtype=torch.long)
    first = first.scatter_reduce(0, inverse, rows, reduce="amin")
    return first.sort().values
