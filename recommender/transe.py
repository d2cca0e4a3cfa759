"""Standalone TransE (Bordes et al. 2013) on a dataset's KG, through PyKEEN's pipeline.

PyKEEN brings the model, negative sampling, training loop and filtered link-prediction metrics;
kgrec only maps the exported triples into a ``TriplesFactory`` and returns entity vectors in
the export's entity order (so they can be written back to the ``:Entity`` nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recommender.errors import DataError


@dataclass
class TransEResult:
    entity_embeddings: np.ndarray   # (n_entities, D), row k = entity index k of the export
    relation_embeddings: np.ndarray
    metrics: dict[str, float]       # filtered link prediction on held-out triples
    epochs: int


def train_transe(triples: np.ndarray, n_entities: int, relation_names: list[str], embedding_dim: int = 64,
                 epochs: int = 50, batch_size: int = 4096, lr: float = 1e-3, test_share: float = 0.05,
                 seed: int = 2024, device: str = "cpu") -> TransEResult:
    """Train TransE on (head, relation, tail) index triples; hold out ``test_share`` for metrics."""
    from pykeen.pipeline import pipeline
    from pykeen.triples import TriplesFactory

    if triples is None or len(triples) == 0:
        raise DataError("This dataset has no KG triples to train TransE on.")
    factory = TriplesFactory(
        mapped_triples=torch.as_tensor(triples, dtype=torch.long),
        entity_to_id={str(k): k for k in range(n_entities)},
        relation_to_id={name: k for k, name in enumerate(relation_names)},
    )
    training, testing = factory.split([1 - test_share, test_share], random_state=seed)
    result = pipeline(
        training=training, testing=testing, model="TransE", model_kwargs={"embedding_dim": embedding_dim},
        optimizer="Adam", optimizer_kwargs={"lr": lr},
        training_kwargs={"num_epochs": epochs, "batch_size": batch_size, "use_tqdm_batch": False},
        evaluation_kwargs={"batch_size": 256}, random_seed=seed, device=device,
    )
    model = result.model
    entities = model.entity_representations[0](indices=None).detach().cpu().numpy()
    relations = model.relation_representations[0](indices=None).detach().cpu().numpy()
    flat = result.metric_results.to_flat_dict()
    metrics = {name: float(flat[key]) for name, key in (
        ("mrr", "both.realistic.inverse_harmonic_mean_rank"), ("hits@1", "both.realistic.hits_at_1"),
        ("hits@10", "both.realistic.hits_at_10")) if key in flat}
    return TransEResult(entities, relations, metrics, epochs)
