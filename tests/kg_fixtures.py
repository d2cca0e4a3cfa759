"""A tiny item KG the KG models' own tests share, and a model built on it with random parameters."""

from __future__ import annotations

import numpy as np
import torch

from recommender.data import RecData
from recommender.models import RankingModel, build_model
from recommender.models.configs import RankingConfig


def tiny_kg_data(with_kg: bool = True) -> RecData:
    """2 users, 3 items (entities 0-2), one more entity (3); relations 0 and 1: the triples (0, 0, 3),
    (1, 0, 3) and (1, 1, 2). Without ``with_kg``, the items are linked but there are no triples."""
    train = np.array([[0, 0], [0, 1], [1, 2]])
    data = RecData("tiny", 2, 3, train, np.zeros((0, 2), np.int64), np.array([[1, 0]]))
    data.item_entity = np.arange(3)
    if with_kg:
        data.n_entities, data.n_relations = 4, 2
        data.triples = np.array([[0, 0, 3], [1, 0, 3], [1, 1, 2]])
    return data


def tiny_kg_model(name: str, config: RankingConfig, data: RecData | None = None) -> RankingModel:
    """Model ``name`` on ``data`` (by default :func:`tiny_kg_data`) with every parameter drawn from
    N(0, 1) (seed 0), so that hand computations see values of both signs, not the initialisers'."""
    model = build_model(name, data or tiny_kg_data(), config, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return model
