"""The contract every ranking model keeps, and the registry that finds models by name.

A model owns its parameters and graphs; the trainer calls ``batch_loss`` for (user, positive,
negative) triples, ``epoch_end`` for extra per-epoch objectives (TransE), and ``final_embeddings``
to score all items for evaluation and recommendation.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from recommender.blas import scores
from recommender.config import ModelConfig
from recommender.data import RecData
from recommender.errors import UnknownModelError

MODELS: dict[str, type[RankingModel]] = {}


class RankingModel(nn.Module):
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            MODELS[cls.name] = cls

    def __init__(self, data: RecData, config: ModelConfig, device: torch.device):
        super().__init__()
        self.config = config
        self.device = device
        self.n_users, self.n_items = data.n_users, data.n_items
        self.notes: list[str] = []   # parts switched off and why, for the user

    def batch_loss(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                   epoch: int) -> dict[str, torch.Tensor]:
        """Loss terms for one batch; ``total`` is what the optimizer minimizes."""
        raise NotImplementedError

    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(users (U, D), items (I, D)) used for scoring."""
        raise NotImplementedError

    def final_interest_embeddings(self) -> torch.Tensor | None:
        """(interests (J, D)) final vectors of the interest nodes, in ``RecData`` interest order, for
        models that propagate over interest nodes; None for every other model (the default)."""
        return None

    def epoch_end(self, optimizer: torch.optim.Optimizer, epoch: int, generator: torch.Generator) -> dict[str, float]:
        """Extra work after each epoch (alternating objectives); returns logged losses."""
        return {}

    def training_state(self) -> dict[str, Any]:
        """What a checkpoint needs beyond the parameters and the trainer's optimizer (e.g. the
        state of a model's own optimizer), so that a resumed run trains as if never stopped."""
        return {}

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`training_state` from a checkpoint."""

    def score_users(self, users: torch.Tensor, embeddings: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        user_emb, item_emb = embeddings or self.final_embeddings()
        return scores(user_emb[users], item_emb)


def build_model(name: str, data: RecData, config: ModelConfig, device: torch.device) -> RankingModel:
    import recommender.models  # noqa: F401  (registers every model)

    if name not in MODELS:
        raise UnknownModelError(f"No model '{name}'; available: {', '.join(sorted(MODELS))}.")
    return MODELS[name](data, config, device).to(device)


def xavier_embedding(rows: int, dim: int) -> nn.Parameter:
    weight = torch.empty(rows, dim)
    nn.init.xavier_uniform_(weight)
    return nn.Parameter(weight)


def gather_rows(table: torch.Tensor, *indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``table[i]`` for each index tensor, in one lookup.

    Each lookup's backward pass zero-fills and scatters a gradient the size of ``table``; one lookup
    for several index sets does that once (on CPU, three lookups of a node table cost a third of a
    TransE step). Shapes: (N, D), (B1,), (B2,), ... -> (B1, D), (B2, D), ...
    """
    return table[torch.cat(indices)].split([len(index) for index in indices])
