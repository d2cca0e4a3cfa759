"""KELLMRec's knowledge adaptation (paper §3.3): text vectors enter a backbone beside its ID features.

The sentence encoder and the recommender were not trained together, so a text vector is first mapped
into the backbone's embedding space by a two-layer MLP (``TextAdapter``). ``FeatureEmbedding`` then
turns every input of a batch into D-wide *fields* — ids, categorical fields, genres and the adapted
text — which the backbones concatenate (or pool, or attend over) before their DNN. With text off the
adapters do not exist, so the ID-only variant has no text parameters at all.
"""

from __future__ import annotations

import torch
from torch import nn

from recommender.errors import DataError
from recommender.features.batch import FeatureSpec


class TextAdapter(nn.Module):
    """Two-layer MLP: text space (T) -> embedding space (D). Shapes: (*, T) -> (*, D)."""

    def __init__(self, text_dim: int, out_dim: int, hidden_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(text_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.net(text)


class FeatureEmbedding(nn.Module):
    """The embedding tables and text adapters one backbone needs, sized from a ``FeatureSpec``.

    Field order, user: id, categorical fields, adapted user text (when on). Item: id, categorical
    fields, genres (mean of the genre embeddings; zero when an item has none), adapted item text.
    Sequence items (history, DIN/DIEN targets) carry no fields in the batch: id, adapted text.
    Index 0 is a real id (the batch contract pads with 0 and says so in a mask), so no
    ``padding_idx``: masking is the caller's job.
    """

    def __init__(self, spec: FeatureSpec, dim: int, text_on: bool, adapter_hidden: int):
        super().__init__()
        self.dim, self.text_on = dim, text_on
        self.user_id = _table(spec.n_users, dim)
        self.item_id = _table(spec.n_items, dim)
        self.user_fields = nn.ModuleList(_table(size, dim) for _, size in spec.user_fields)
        self.item_fields = nn.ModuleList(_table(size, dim) for _, size in spec.item_fields)
        self.genres = nn.Linear(spec.n_genres, dim, bias=False) if spec.n_genres else None
        self.user_adapter = TextAdapter(spec.text_dim, dim, adapter_hidden) if text_on else None
        self.item_adapter = TextAdapter(spec.text_dim, dim, adapter_hidden) if text_on else None

    @property
    def n_user_fields(self) -> int:
        return 1 + len(self.user_fields) + self.text_on

    @property
    def n_item_fields(self) -> int:
        return 1 + len(self.item_fields) + (self.genres is not None) + self.text_on

    @property
    def n_sequence_fields(self) -> int:
        return 1 + self.text_on

    def user(self, users: torch.Tensor, fields: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        """(*,) ids, (*, n_cat) fields, (*, T) text -> (*, n_user_fields, D)."""
        parts = [self.user_id(users)] + [table(fields[..., k]) for k, table in enumerate(self.user_fields)]
        if self.user_adapter is not None:
            parts.append(self.user_adapter(_require(text, "user_text")))
        return torch.stack(parts, dim=-2)

    def item(self, items: torch.Tensor, fields: torch.Tensor, genres: torch.Tensor,
             text: torch.Tensor | None) -> torch.Tensor:
        """(*,) ids, (*, n_cat) fields, (*, G) multi-hot, (*, T) text -> (*, n_item_fields, D)."""
        parts = [self.item_id(items)] + [table(fields[..., k]) for k, table in enumerate(self.item_fields)]
        if self.genres is not None:
            parts.append(self.genres(genres / genres.sum(-1, keepdim=True).clamp(min=1)))
        if self.item_adapter is not None:
            parts.append(self.item_adapter(_require(text, "item_text")))
        return torch.stack(parts, dim=-2)

    def sequence(self, items: torch.Tensor, text: torch.Tensor | None, what: str = "history_text") -> torch.Tensor:
        """Items of a behaviour sequence: (*,) ids, (*, T) text -> (*, n_sequence_fields, D)."""
        parts = [self.item_id(items)]
        if self.item_adapter is not None:
            parts.append(self.item_adapter(_require(text, what)))
        return torch.stack(parts, dim=-2)

    def user_representation(self, users: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        """The paper's v for contrast: the adapted user text, or the ID embedding when text is off. (*, D)."""
        return self.user_adapter(_require(text, "user_text")) if self.user_adapter else self.user_id(users)

    def item_representation(self, items: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        """The adapted item text, or the ID embedding when text is off. (*, D)."""
        return self.item_adapter(_require(text, "item_text")) if self.item_adapter else self.item_id(items)


def _table(rows: int, dim: int) -> nn.Embedding:
    table = nn.Embedding(rows, dim)
    nn.init.normal_(table.weight, std=0.05)
    return table


def _require(text: torch.Tensor | None, what: str) -> torch.Tensor:
    if text is None:
        raise DataError(f"This model reads text but the batch has no {what}; encode the descriptions first, "
                        "or build the model with use_text=False.")
    return text
