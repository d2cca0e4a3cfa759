"""The contract every ranking model keeps, and how a model is built from a name or a class.

A model owns its parameters and graphs; the trainer calls ``batch_loss`` for (user, positive,
negative) triples, ``epoch_end`` for extra per-epoch objectives (TransE), and ``final_embeddings``
to score all items for evaluation and recommendation. Its settings are its own ``config_class``
(``recommender.models.configs``). Names live in :mod:`recommender.registry`; ``MODELS`` is a
read-only view of that table (name -> class, each class imported when looked up).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from recommender import registry
from recommender.blas import scores
from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.models.configs import RankingConfig


class _RegisteredModels(Mapping[str, "type[RankingModel]"]):
    """The registry's models as a mapping, always current (a plugin registered later is in it)."""

    def __getitem__(self, name: str) -> type[RankingModel]:
        if name not in registry.model_names():
            raise KeyError(name)
        return registry.model_class(name)

    def __iter__(self) -> Iterator[str]:
        return iter(registry.model_names())

    def __len__(self) -> int:
        return len(registry.model_names())


MODELS: Mapping[str, type[RankingModel]] = _RegisteredModels()


class RankingModel(nn.Module):
    name: ClassVar[str] = ""
    config_class: ClassVar[type[RankingConfig]] = RankingConfig
    #: the trainer's Adam takes torch's fused step (one kernel per step, several times faster on CPU:
    #: the same update, equal to float rounding); off unless a model asks, so that every other model
    #: keeps the per-tensor step its figures were measured with
    fused_adam: ClassVar[bool] = False

    def __init__(self, data: RecData, config: RankingConfig, device: torch.device):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ModelConfigError(f"{type(self).__name__} needs a {self.config_class.__name__}, "
                                   f"got a {type(config).__name__}.")
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

    def make_optimizer(self, lr: float) -> torch.optim.Optimizer:
        """The trainer's optimizer: Adam over every parameter at ``lr`` (fused where ``fused_adam``)."""
        if self.fused_adam and self.device.type in ("cpu", "cuda"):
            return torch.optim.Adam(self.parameters(), lr=lr, fused=True)
        return torch.optim.Adam(self.parameters(), lr=lr)


class OwnOptimizer:
    """Mixin for a :class:`RankingModel` whose alternating objective (TransE, TransR) steps an Adam of
    its own rather than the trainer's optimizer: ``class Model(OwnOptimizer, RankingModel)``.

    The Adam is made on first use over :meth:`own_parameters` (by default all the model's) at
    ``config.kg_lr``, with the fused step where the device has one (one kernel per step: 8x faster
    on CPU, the same numbers); :meth:`training_state` carries its moments and step counts through a
    checkpoint, so that a resumed run trains as if never stopped.
    """

    kg_optimizer: torch.optim.Optimizer | None = None

    def own_parameters(self) -> Iterable[nn.Parameter]:
        return self.parameters()

    def own_optimizer(self) -> torch.optim.Optimizer:
        if self.kg_optimizer is None:
            fused = self.device.type in ("cpu", "cuda")
            self.kg_optimizer = torch.optim.Adam(self.own_parameters(), lr=self.config.kg_lr, fused=fused)
        return self.kg_optimizer

    def own_step(self, loss: torch.Tensor) -> float:
        """One step of the model's own Adam down ``loss``'s gradient; returns the loss."""
        optimizer = self.own_optimizer()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    def training_state(self) -> dict[str, Any]:
        """The own Adam's state, once the first alternating phase has made it."""
        return {"kg_optimizer": self.kg_optimizer.state_dict()} if self.kg_optimizer is not None else {}

    def load_training_state(self, state: dict[str, Any]) -> None:
        if "kg_optimizer" in state:
            self.own_optimizer().load_state_dict(state["kg_optimizer"])


def ranking_class(model: str | type[RankingModel]) -> type[RankingModel]:
    """The class of a model given by registered name or as a ``RankingModel`` subclass.

    An instance is refused: a model is built from the data's sizes, and the trainer builds a fresh
    one per seed and protocol phase (refit retrains from scratch), so one instance cannot serve.
    """
    if isinstance(model, str):
        return registry.model_class(model)
    if isinstance(model, type) and issubclass(model, RankingModel):
        return model
    if isinstance(model, RankingModel):
        raise TypeError(f"Give {type(model).__name__} as a class or a name, not an instance: the trainer builds "
                        "the model from the data's sizes, afresh for each seed and protocol phase.")
    raise TypeError(f"A ranking model is a registered name or a RankingModel subclass, not {model!r}.")


def build_model(model: str | type[RankingModel], data: RecData, config: RankingConfig,
                device: torch.device) -> RankingModel:
    """``model`` (a registered name or a ``RankingModel`` subclass) built on ``data`` with ``config``."""
    return ranking_class(model)(data, config, device).to(device)


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


def distinct_rows(rows: torch.Tensor, n_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.unique(rows, return_inverse=True)`` for indices below ``n_nodes``, by marking them in an
    (n_nodes,) table: no sort. Shapes: (R,) -> (K,) ascending, (R,) with distinct[inverse] = rows."""
    marked = torch.zeros(n_nodes, dtype=torch.bool, device=rows.device)
    marked[rows] = True
    distinct = marked.nonzero().squeeze(1)
    position = torch.empty(n_nodes, dtype=torch.long, device=rows.device)
    position[distinct] = torch.arange(len(distinct), device=rows.device)
    return distinct, position[rows]
