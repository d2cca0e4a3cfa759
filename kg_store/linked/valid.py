"""A stored validation split of a linked dataset: split codes rewritten in its ``KgrecSplits`` chunks.

Interest prompts must see train items only, and training must then validate on the very pairs the
prompts did not see, so the split is drawn once and stored, as ``split: 'valid'`` is on a loaded
dataset's edges (:mod:`kg_store.splits`): here the chosen pairs' codes go from 0 (train) to 1
(valid) in the chunks that hold them. The draw (:func:`~kg_store.splits.draw_valid_pairs`), the
rewrite and the version bump run in one transaction. A re-sync keeps every stored code and gives
new interactions train or test only.
"""

from __future__ import annotations

import neo4j

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.graph_export import SPLIT_CODES

TRAIN, VALID = SPLIT_CODES["train"], SPLIT_CODES["valid"]


def linked_valid_count(store: GraphStore, dataset: str) -> int:
    """Interactions of the dataset stored as valid."""
    return sum(code == VALID for row in store.read("linked/splits", dataset=dataset) for code in row["splits"])


def store_linked_valid_split(store: GraphStore, dataset: str, ratio: float, seed: int) -> tuple[int, int, int]:
    """Return every valid pair to train, draw ``ratio`` of each user's train pairs as valid, bump the
    version: (pairs marked valid, users giving one, the new version), in one transaction."""
    from kg_store.splits import draw_valid_pairs

    params = {"dataset": dataset}

    def work(tx: neo4j.ManagedTransaction) -> tuple[int, int, int]:
        chunks = [record.data() for record in tx.run(load_query("linked/split_chunks"), params)]
        for chunk in chunks:
            chunk["splits"] = [TRAIN if code == VALID else code for code in chunk["splits"]]
        train = [(user, item) for chunk in chunks
                 for user, item, code in zip(chunk["users"], chunk["items"], chunk["splits"], strict=True)
                 if code == TRAIN]
        chosen = set(draw_valid_pairs(train, ratio, seed))
        rows = [{"start": chunk["start"],
                 "splits": [VALID if (user, item) in chosen else code
                            for user, item, code in zip(chunk["users"], chunk["items"], chunk["splits"], strict=True)]}
                for chunk in chunks]
        tx.run(load_query("linked/set_split_codes"), {**params, "rows": rows}).consume()
        version = tx.run(load_query("splits/record_valid"), {**params, "ratio": ratio, "seed": seed}).single()
        return len(chosen), len({user for user, _ in chosen}), version["version"]

    return store.write_with(work)
