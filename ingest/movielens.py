"""GroupLens MovieLens raw files: 100K (``u.data``, ``u.item``, ``u.user``) and 1M
(``movies.dat``, ``users.dat``, ``ratings.dat`` or ``ratings_without_timestamps.dat``).

Item and user files are ISO-8859-1. MovieLens has no split, so one is assigned per user
(:mod:`ingest.splits`). Ratings and timestamps are kept on the ``INTERACTED`` edges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.protocol import Source, SourceOutput
from ingest.reader import BadLinePolicy, Line, LineReader, read_rows
from ingest.records import DatasetRecords, InteractionRow, NodeRow, RecordBatch, RecordKind
from ingest.splits import SPLIT_OPTIONS, SplitConfig, SplitSourceConfig, assign_splits
from kg_store.errors import BadInputError

LATIN1 = "latin-1"
ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                 "Romance", "Sci-Fi", "Thriller", "War", "Western"]
_YEAR = re.compile(r"\((\d{4})\)\s*$")
ML1M_RATING_FILES = ("ratings.dat", "ratings_without_timestamps.dat")


def _year(title: str) -> int | None:
    match = _YEAR.search(title)
    return int(match.group(1)) if match else None


def _rating(line: Line, index: int) -> int:
    value = line.integer(index, "rating")
    if not 1 <= value <= 5:
        raise line.error(f"rating {value} is outside 1..5", "rating")
    return value


def _check_known(line: Line, value: int, known: set[int], what: str, list_file: str) -> int:
    if value not in known:
        raise line.error(f"{what} {value} is not in {list_file}", what)
    return value


def detect_variant(folder: Path) -> str:
    """'100k' or '1m' from the files present."""
    if (folder / "u.data").exists():
        return "100k"
    if (folder / "movies.dat").exists():
        return "1m"
    raise BadInputError(folder, None, "no MovieLens files found (expected u.data or movies.dat)")


# -- MovieLens 100K ------------------------------------------------------------------------------
def _ml100k_genres(folder: Path, policy: BadLinePolicy) -> list[str]:
    path = folder / "u.genre"
    if not path.exists():
        return ML100K_GENRES
    pairs = read_rows(LineReader(path, "|", LATIN1), lambda line: (line.integer(1, "index"), line.fields[0]), policy)
    return [name for _, name in sorted(pairs)]


def _ml100k_items(folder: Path, policy: BadLinePolicy) -> list[NodeRow]:
    genres = _ml100k_genres(folder, policy)

    def parse(line: Line) -> NodeRow:
        line.expect_columns(5 + len(genres))
        flags = line.fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise line.error("genre flags must be 0 or 1", "genres")
        props = {"title": line.fields[1], "release_date": line.fields[2] or None,
                 "imdb_url": line.fields[4] or None,
                 "genres": [g for g, flag in zip(genres, flags, strict=True) if flag == "1"], "year": _year(line.fields[1])}
        return line.integer(0, "movie_id"), {k: v for k, v in props.items() if v is not None}

    return read_rows(LineReader(folder / "u.item", "|", LATIN1), parse, policy)


def _ml100k_users(folder: Path, policy: BadLinePolicy) -> list[NodeRow]:
    def parse(line: Line) -> NodeRow:
        line.expect_columns(5)
        return line.integer(0, "user_id"), {"age": line.integer(1, "age"), "gender": line.fields[2],
                                            "occupation": line.fields[3], "zip": line.fields[4]}

    return read_rows(LineReader(folder / "u.user", "|", LATIN1), parse, policy)


def _ml100k_ratings(folder: Path, users: set[int], items: set[int], policy: BadLinePolicy) -> list[InteractionRow]:
    def parse(line: Line) -> InteractionRow:
        line.expect_columns(4)
        user = _check_known(line, line.integer(0, "user_id"), users, "user_id", "u.user")
        item = _check_known(line, line.integer(1, "item_id"), items, "item_id", "u.item")
        return user, item, "train", _rating(line, 2), line.integer(3, "timestamp")

    return read_rows(LineReader(folder / "u.data", "\t"), parse, policy)


# -- MovieLens 1M --------------------------------------------------------------------------------
def _ml1m_items(folder: Path, policy: BadLinePolicy) -> list[NodeRow]:
    def parse(line: Line) -> NodeRow:
        line.expect_columns(3)
        title = line.fields[1]
        props = {"title": title, "genres": [g for g in line.fields[2].split("|") if g], "year": _year(title)}
        return line.integer(0, "movie_id"), {k: v for k, v in props.items() if v is not None}

    return read_rows(LineReader(folder / "movies.dat", "::", LATIN1), parse, policy)


def _ml1m_users(folder: Path, policy: BadLinePolicy) -> list[NodeRow]:
    def parse(line: Line) -> NodeRow:
        line.expect_columns(5)
        return line.integer(0, "user_id"), {"gender": line.fields[1], "age": line.integer(2, "age"),
                                            "occupation": line.integer(3, "occupation"), "zip": line.fields[4]}

    return read_rows(LineReader(folder / "users.dat", "::", LATIN1), parse, policy)


def _ml1m_ratings(folder: Path, users: set[int], items: set[int], policy: BadLinePolicy) -> list[InteractionRow]:
    path = next((folder / name for name in ML1M_RATING_FILES if (folder / name).exists()), None)
    if path is None:
        raise BadInputError(folder, None, "no ratings file (expected ratings.dat or ratings_without_timestamps.dat)")

    def parse(line: Line) -> InteractionRow:
        line.expect_columns((3, 4))
        user = _check_known(line, line.integer(0, "user_id"), users, "user_id", "users.dat")
        item = _check_known(line, line.integer(1, "movie_id"), items, "movie_id", "movies.dat")
        ts = line.integer(3, "timestamp") if len(line.fields) == 4 else None
        return user, item, "train", _rating(line, 2), ts

    return read_rows(LineReader(path, "::"), parse, policy)


def _drop_repeated_pairs(rows: list[InteractionRow]) -> list[InteractionRow]:
    unique = {(u, i): (u, i, s, r, t) for u, i, s, r, t in rows}  # the last rating of a pair wins
    return list(unique.values())


@dataclass(frozen=True)
class MovieLensConfig(SplitSourceConfig):
    """MovieLens has no split, so every load assigns one per user (see ``SplitSourceConfig``)."""


class MovieLensSource(Source):
    """GroupLens MovieLens 100K or 1M raw files (the variant is detected from the files)."""

    name = "movielens"
    config_class = MovieLensConfig
    description = "Load MovieLens 100K or 1M raw files (split per user: by time, else seeded)."
    cli_options = SPLIT_OPTIONS

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        return (folder / "u.data").is_file() or (folder / "movies.dat").is_file()

    def generate(self, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        folder = self.config.path
        if detect_variant(folder) == "100k":
            items, users = _ml100k_items(folder, policy), _ml100k_users(folder, policy)
            ratings = _ml100k_ratings(folder, {u for u, _ in users}, {i for i, _ in items}, policy)
        else:
            items, users = _ml1m_items(folder, policy), _ml1m_users(folder, policy)
            ratings = _ml1m_ratings(folder, {u for u, _ in users}, {i for i, _ in items}, policy)
        unique = _drop_repeated_pairs(ratings)
        policy.count_duplicates(folder / "ratings", len(ratings) - len(unique))
        yield RecordBatch(RecordKind.USERS, users)
        yield RecordBatch(RecordKind.ITEMS, items)
        yield RecordBatch(RecordKind.INTERACTIONS, assign_splits(unique, self.config.split))
        yield "MovieLens has no item knowledge graph or user interests (has_kg = false, has_interests = false)"

    def read(self) -> DatasetRecords:
        records = super().read()
        records.source = f"movielens-{detect_variant(self.config.path)}"
        return records


def read_movielens(folder: Path | str, dataset: str, skip_bad_lines: bool = False,
                   split: SplitConfig | None = None) -> DatasetRecords:
    """Parse and validate MovieLens 100K or 1M raw files; nothing is written here."""
    split = split or SplitConfig()
    return MovieLensSource.from_options(folder, dataset, skip_bad_lines=skip_bad_lines,
                                        test_ratio=split.test_ratio, split_seed=split.seed).read()
