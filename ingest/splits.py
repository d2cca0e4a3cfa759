"""Per-user train/test splits for sources that ship without one (MovieLens).

Deterministic, so a re-run of the same ingest writes the same split: chronological when
timestamps exist (each user's latest interactions go to test), otherwise a seeded shuffle.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from ingest.protocol import SourceConfig, SourceOption
from ingest.records import InteractionRow
from kg_store.errors import ConfigError


@dataclass(frozen=True)
class SplitConfig:
    test_ratio: float = 0.2
    seed: int = 2024

    def __post_init__(self) -> None:
        if not 0.0 <= self.test_ratio < 1.0:
            raise ConfigError(f"test_ratio must be in [0, 1), got {self.test_ratio}")


@dataclass(frozen=True)
class SplitSourceConfig(SourceConfig):
    """Config of a source whose files may carry no split: each user's share ``test_ratio`` goes to
    test, the latest interactions when timestamped, else a shuffle seeded by ``split_seed``."""

    test_ratio: float = 0.2
    split_seed: int = 2024

    @property
    def split(self) -> SplitConfig:
        return SplitConfig(test_ratio=self.test_ratio, seed=self.split_seed)


#: the ``cli_options`` of a source with a ``SplitSourceConfig``: ``--split-seed`` and ``--test-ratio``
SPLIT_OPTIONS = (
    SourceOption("split_seed", int, SplitSourceConfig.split_seed,
                 "Seed of the per-user split (used when there are no timestamps)."),
    SourceOption("test_ratio", float, SplitSourceConfig.test_ratio,
                 "Share of each user's interactions in the test split (sources without a split).", bounds=(0.0, 1.0)),
)


def assign_splits(rows: list[InteractionRow], config: SplitConfig) -> list[InteractionRow]:
    """Rows with their split set to 'train' or 'test'; every user keeps at least one train row."""
    by_user: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_user[row[0]].append(index)
    is_test = [False] * len(rows)
    for user, indices in by_user.items():
        n_test = min(int(round(len(indices) * config.test_ratio)), len(indices) - 1)
        if n_test <= 0:
            continue
        if all(rows[i][4] is not None for i in indices):
            ordered = sorted(indices, key=lambda i: (rows[i][4], rows[i][1]))
        else:
            ordered = sorted(indices, key=lambda i: rows[i][1])
            random.Random(config.seed * 1_000_003 + user).shuffle(ordered)
        for i in ordered[len(ordered) - n_test:]:
            is_test[i] = True
    return [(u, i, "test" if is_test[k] else "train", r, t) for k, (u, i, _, r, t) in enumerate(rows)]
