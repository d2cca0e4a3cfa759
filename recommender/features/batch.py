"""The contract between CTR/rerank data and models: what a batch holds, and the feature vocabulary.

Data builders (``recommender.features.data``, ``recommender.rerank.lists``) produce these; models
(``recommender.ctr.models`` and ``recommender.rerank``) consume them and never build data themselves.
Every index tensor is 0-based and padded with 0; a boolean mask says which positions are real.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass(frozen=True)
class FeatureSpec:
    """Vocabulary sizes a model needs to size its embedding tables."""

    n_users: int
    n_items: int
    user_fields: tuple[tuple[str, int], ...] = ()   # categorical user fields in batch order: (name, vocab size)
    item_fields: tuple[tuple[str, int], ...] = ()   # categorical item fields (e.g. year bucket), index 0 = unknown
    n_genres: int = 0                                # multi-hot item genres
    text_dim: int = 0                                # width of the text vectors; 0 = the batch carries no text
    max_history: int = 50                            # longest history a batch may hold


def _to(batch, device: torch.device | str):
    moved = {f.name: getattr(batch, f.name) for f in fields(batch)}
    return replace(batch, **{k: v.to(device) for k, v in moved.items() if isinstance(v, torch.Tensor)})


@dataclass
class CTRBatch:
    """B (user, target item) samples. Shapes in comments; L = longest history in the batch, T = text_dim."""

    users: torch.Tensor             # (B,) long
    items: torch.Tensor             # (B,) long
    user_fields: torch.Tensor       # (B, n_user_fields) long
    item_fields: torch.Tensor       # (B, n_item_fields) long
    genres: torch.Tensor            # (B, n_genres) float multi-hot
    history_items: torch.Tensor     # (B, L) long, time order (oldest first), padded at the end with 0
    history_mask: torch.Tensor      # (B, L) bool, True = a real history item
    labels: torch.Tensor            # (B,) float in {0, 1}
    user_text: torch.Tensor | None = None     # (B, T)
    item_text: torch.Tensor | None = None     # (B, T)
    history_text: torch.Tensor | None = None  # (B, L, T)

    def __len__(self) -> int:
        return len(self.users)

    def to(self, device: torch.device | str) -> CTRBatch:
        return _to(self, device)


@dataclass
class RerankBatch:
    """B candidate lists of up to N items each (padded); labels say which candidates were liked."""

    users: torch.Tensor             # (B,) long
    user_fields: torch.Tensor       # (B, n_user_fields) long
    items: torch.Tensor             # (B, N) long, in the initial (first-stage) order
    item_fields: torch.Tensor       # (B, N, n_item_fields) long
    genres: torch.Tensor            # (B, N, n_genres) float
    mask: torch.Tensor              # (B, N) bool, True = a real candidate
    labels: torch.Tensor            # (B, N) float in {0, 1}
    initial_scores: torch.Tensor | None = None  # (B, N) first-stage scores, when a ranker produced the list
    user_text: torch.Tensor | None = None       # (B, T)
    item_text: torch.Tensor | None = None       # (B, N, T)

    def __len__(self) -> int:
        return len(self.users)

    def to(self, device: torch.device | str) -> RerankBatch:
        return _to(self, device)
