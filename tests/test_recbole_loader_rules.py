"""The RecBole export against RecBole 1.2.1's loader rules, without RecBole (it is not a test dependency).

``read_like_recbole`` reads a file the way RecBole's ``Dataset._load_feat`` does (pandas,
tab separated, python engine, ``str`` for tokens, ``float64`` for floats, sequences split on one
space), with pandas 3's behaviour: RecBole's ``df[field].fillna(..., inplace=True)`` acts on a copy
there, so a missing sequence cell reaches the split as a float, and the remap's
``Series.agg(len)`` gives the column's length instead of each row's, so no sequence column loads. ``load_kg_like_recbole`` applies
the rules of its ``KnowledgeBasedDataset``: with benchmark files no filtering and a merge of item
and entity ids that lines ``.link`` up by count (``_merge_item_and_entity``); without them
``_filter_link``, which unlinks items whose entity no triple names and drops their interactions.
A layout that breaks a rule raises the ``KeyError`` RecBole raises, or reports the drop.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from list_rows import ListRows

from ingest import registry as sources
from kg_store.carve import DEFAULT_CARVE_RATIO, DEFAULT_CARVE_SEED
from kg_store.formats import DatasetRows, Interaction, Node, Pair, Triple, get_format
from kg_store.formats.recbole_kg import PLACEHOLDER_RELATIONS
from kg_store.formats.text import PANDAS_NA_STRINGS
from kg_store.graph_export import SPLIT_CODES, GraphExport
from recommender.config import TrainConfig
from recommender.data import from_export

SHIPPED = Path(__file__).parent.parent / "kgrec" / "shipped" / "datasets" / "dbbook2014"
SPLIT_FILES = ("train", "valid", "test")


# -- RecBole's rules, mirrored -------------------------------------------------------------------
def read_like_recbole(path: Path) -> pd.DataFrame:
    """One atomic file as RecBole 1.2.1 loads it under pandas 3 (see the module docstring)."""
    with path.open(encoding="utf-8") as handle:
        header = handle.readline()[:-1]
    fields = [column.split(":") for column in header.split("\t")]
    dtype = {f"{name}:{kind}": np.float64 if kind == "float" else str for name, kind in fields}
    frame = pd.read_csv(path, delimiter="\t", dtype=dtype, encoding="utf-8", engine="python")
    frame.columns = [name for name, _ in fields]
    for name, kind in fields:
        if kind == "token_seq":  # str.split on a missing cell: "'float' object has no attribute 'split'"
            frame[name] = [[token for token in value.split(" ") if token] for value in frame[name].values]
            if len(frame) > 1 and not isinstance(frame[name].agg(len), pd.Series):  # _remap's split points
                raise ValueError(f"{name}: RecBole cannot split a token_seq column back into rows here")
    return frame


@dataclass
class Loaded:
    interactions: int
    items: set[str]
    item_ids: dict[str, int]     # item token -> RecBole's merged id
    entity_ids: dict[str, int]   # entity token -> RecBole's merged id


def merge_ids(item_tokens: list[str], entity_tokens: list[str], item2entity: dict[str, str],
              entity2item: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Item and entity ids in one space as RecBole merges them: unlinked items first, linked items
    last; the first ``len(item2entity)`` linked entities (in token order) take their item's id,
    every other entity an id after the items. A KeyError wherever RecBole raises one."""
    items = ["[PAD]", *item_tokens]
    ordered = [t for t in items if t not in item2entity] + [t for t in items if t in item2entity]
    item_ids = {token: k for k, token in enumerate(ordered)}
    entities = [e for e in entity_tokens if e in entity2item] + [e for e in entity_tokens if e not in entity2item]
    link_num = len(item2entity)
    entity_ids = {entity: item_ids[entity2item[entity]] for entity in entities[:link_num]}
    entity_ids.update({entity: len(items) + k for k, entity in enumerate(entities[link_num:])})
    return item_ids, entity_ids


def load_kg_like_recbole(folder: Path, benchmark: bool) -> Loaded:
    """RecBole's KG dataset on ``folder`` with its default ``load_col`` (``.inter``: user and item)."""
    stem = folder.name
    if benchmark:
        inter = pd.concat([read_like_recbole(folder / f"{stem}.{split}.inter") for split in SPLIT_FILES])
    else:
        inter = read_like_recbole(folder / f"{stem}.inter")
    kg, link = read_like_recbole(folder / f"{stem}.kg"), read_like_recbole(folder / f"{stem}.link")
    item2entity = dict(zip(link["item_id"], link["entity_id"], strict=True))
    entity2item = dict(zip(link["entity_id"], link["item_id"], strict=True))
    entity_tokens = list(dict.fromkeys([*kg["head_id"], *kg["tail_id"]]))
    if not benchmark:  # _filter_link, then the drop of every interaction of an unlinked item
        known_items, known_entities = set(inter["item_id"]), set(entity_tokens)
        for item, entity in list(item2entity.items()):
            if item not in known_items or entity not in known_entities:
                del item2entity[item]
                entity2item.pop(entity, None)
        inter = inter[inter["item_id"].isin(item2entity.keys())]
    item_ids, entity_ids = merge_ids(list(dict.fromkeys(inter["item_id"])), entity_tokens, item2entity, entity2item)
    for item, entity in item2entity.items():  # a linked item and its entity share one id
        assert entity_ids[entity] == item_ids[item], (item, entity)
    return Loaded(len(inter), set(inter["item_id"]), item_ids, entity_ids)


# -- a small graph with every quirk --------------------------------------------------------------
class Rows(ListRows):
    def __init__(self, kinds: dict[str, list], dataset: str = "quirks",
                 relations: tuple[list[str], list[str]] = (["http://x/author", "http://x/genre"], ["AUTHOR", "GENRE"])):
        fields = {kind: frozenset(k for node in kinds.get(kind, []) for k in node.props) for kind in ("users", "items")}
        fields["interactions"] = frozenset({"rating", "ts"})
        super().__init__(kinds, dataset, relations, fields)


TITLES = {100: "Plain Title", 102: "None", 103: '"Quoted" Title', 104: "NA", 107: "  spaced  out "}


def quirk_rows(valid: bool = False) -> Rows:
    """Ids that are not 0..n-1; item 101 without a title and on an entity no triple names; item 105
    linked but never interacted with; item 106 without an entity; item 107 on item 100's entity."""
    items = [Node(i, {"title": TITLES[i]} if i in TITLES else {}) for i in range(100, 108)]
    rated = [100, 101, 102, 103, 104, 106, 107]
    interactions = [Interaction(user, item, "test" if k == 0 else "valid" if valid and k == 1 else "train",
                                4 if k % 2 else None, 1000 + k)
                    for user in (30, 10, 20) for k, item in enumerate(rated[user // 10 - 1:])]
    return Rows({
        "users": [Node(u, {}) for u in (10, 20, 30)], "items": items,
        "entities": [Node(e, {}) for e in range(500, 510)], "interactions": interactions,
        "triples": [Triple(500, "AUTHOR", 508), Triple(502, "AUTHOR", 508), Triple(503, "GENRE", 509),
                    Triple(504, "GENRE", 509), Triple(505, "AUTHOR", 508)],
        "item_entities": [Pair(100, 500), Pair(101, 501), Pair(102, 502), Pair(103, 503), Pair(104, 504),
                          Pair(105, 505), Pair(107, 500)],
    })


def export(rows: DatasetRows, parent: Path) -> Path:
    folder = parent / rows.dataset
    folder.mkdir()
    get_format("recbole").write(rows, folder)
    return folder


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[1:]


# -- the rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize("benchmark", [True, False], ids=["benchmark_files", "inter_file"])
def test_the_kg_dataset_keeps_every_item_and_interaction(tmp_path, benchmark: bool) -> None:
    folder = export(quirk_rows(), tmp_path)
    loaded = load_kg_like_recbole(folder, benchmark)
    assert loaded.interactions == len(lines(folder / "quirks.inter")) == 18
    assert loaded.items == {"100", "101", "102", "103", "104", "106", "107"}
    link = dict(line.split("\t") for line in lines(folder / "quirks.link"))
    assert link == {"100": "500", "101": "501", "102": "502", "103": "503", "104": "504",
                    "106": "kgrec:item:106", "107": "kgrec:item:107"}  # 105: no interaction, not linked
    placeholders = [line for line in lines(folder / "quirks.kg") if line.split("\t")[1] in PLACEHOLDER_RELATIONS]
    assert placeholders == ["501\tkgrec:self\t501", "kgrec:item:106\tkgrec:self\tkgrec:item:106",
                            "kgrec:item:107\tkgrec:same_entity\t500"]


def test_the_rules_catch_the_layout_without_placeholders(tmp_path) -> None:
    """The checks can fail: the graph's links and triples as they are lose items in RecBole."""
    folder = export(quirk_rows(), tmp_path)
    kg = folder / "quirks.kg"
    kg.write_text("".join(f"{line}\n" for line in kg.read_text().splitlines() if "kgrec:" not in line))
    link = folder / "quirks.link"
    link.write_text("item_id:token\tentity_id:token\n" + "".join(
        f"{item}\t{entity}\n" for item, entity in [(100, 500), (101, 501), (102, 502), (103, 503), (104, 504),
                                                    (105, 505), (107, 500)]))
    with pytest.raises(KeyError):
        load_kg_like_recbole(folder, benchmark=True)
    link.write_text("".join(f"{line}\n" for line in link.read_text().splitlines() if not line.startswith("107")))
    loaded = load_kg_like_recbole(folder, benchmark=False)
    assert loaded.items == {"100", "102", "103", "104"} and loaded.interactions < 18  # 101, 106, 107 dropped


def test_valid_inter_is_the_trainers_carve_and_the_splits_partition_inter(tmp_path) -> None:
    rows = quirk_rows()
    folder = export(rows, tmp_path)
    files = {split: lines(folder / f"quirks.{split}.inter") for split in SPLIT_FILES}
    assert files["valid"], "valid.inter must have rows, or RecBole neither validates nor stops early"
    assert Counter(files["train"] + files["valid"] + files["test"]) == Counter(lines(folder / "quirks.inter"))
    assert len(set(files["train"]) | set(files["valid"]) | set(files["test"])) == sum(map(len, files.values()))
    users, items = np.array([10, 20, 30]), np.arange(100, 108)
    edges = rows.kinds["interactions"]
    graph = GraphExport("quirks", "k", users, items, np.arange(500, 510), np.zeros(0, np.int64), ["AUTHOR", "GENRE"],
                        np.array([[np.searchsorted(users, e.user), np.searchsorted(items, e.item)] for e in edges]),
                        np.array([SPLIT_CODES[e.split] for e in edges], np.int8), np.zeros((0, 2), np.int64),
                        np.zeros((0, 3), np.int64), np.zeros((0, 2), np.int64))
    trainer = from_export(graph, valid_ratio=TrainConfig.valid_ratio, seed=TrainConfig.seed)
    carved = {(int(users[u]), int(items[i])) for u, i in trainer.valid}
    assert {tuple(map(int, line.split("\t")[:2])) for line in files["valid"]} == carved and len(carved) == 2
    assert (DEFAULT_CARVE_RATIO, DEFAULT_CARVE_SEED) == (TrainConfig.valid_ratio, TrainConfig.seed)


def test_a_stored_valid_split_is_written_as_it_is(tmp_path) -> None:
    rows = quirk_rows(valid=True)
    folder = export(rows, tmp_path)
    stored = {f"{e.user}\t{e.item}" for e in rows.kinds["interactions"] if e.split == "valid"}
    assert {"\t".join(line.split("\t")[:2]) for line in lines(folder / "quirks.valid.inter")} == stored
    assert len(lines(folder / "quirks.train.inter")) == sum(e.split == "train" for e in rows.kinds["interactions"])


def test_titles_load_as_pandas_reads_them_for_recbole(tmp_path) -> None:
    folder = export(quirk_rows(), tmp_path)
    assert (folder / "quirks.item").read_text().splitlines()[:2] == ["item_id:token\ttitle:token", "100\tPlain Title"]
    frame = read_like_recbole(folder / "quirks.item")
    loaded = dict(zip(frame["item_id"], frame["title"], strict=True))
    missing = {item for item, title in loaded.items() if not isinstance(title, str)}  # RecBole's [PAD]
    assert missing == {"101", "105", "106"}  # the items without a title, and only those
    assert {item: title.strip() for item, title in loaded.items() if item not in missing} == \
        {str(i): title.strip() for i, title in TITLES.items()}  # "None", "NA" and a leading quote included
    back = sources.create("recbole", folder, "again").read()  # kgrec's own reader: the same titles
    assert {int(p["org_id"]): p.get("title") for _, p in back.items} == {i: TITLES.get(i, "").strip() or None
                                                                        for i in range(100, 108)}


def test_a_sequence_column_loads_only_under_pandas_2(tmp_path) -> None:
    """Why the title is one token: under pandas 3 RecBole 1.2.1 loads no token_seq column at all."""
    rows = quirk_rows()
    rows.kinds["items"] = [Node(node.id, {**node.props, "genres": ["Sci Fi", "Drama"]}) for node in rows.kinds["items"]]
    rows.fields["items"] = frozenset({"title", "genres"})
    folder = export(rows, tmp_path)
    if int(pd.__version__.split(".")[0]) >= 3:
        with pytest.raises(ValueError, match="token_seq"):
            read_like_recbole(folder / "quirks.item")
    else:
        assert read_like_recbole(folder / "quirks.item")["genre"].map(len).tolist() == [2] * 8


def test_kgrecs_reader_drops_the_placeholders_and_restores_links(tmp_path) -> None:
    rows = quirk_rows()
    back = sources.create("recbole", export(rows, tmp_path), "again").read()
    item_org = {k: int(p["org_id"]) for k, p in back.items}
    entity_org = {k: int(p["org_id"]) for k, p in back.entities}
    assert {(item_org[i], entity_org[e]) for i, e in back.item_entities} == \
        {(i, e) for i, e in rows.kinds["item_entities"] if i != 105}  # 105 has no interaction: not in .link
    assert back.relations == ["http://x/author", "http://x/genre"] and len(back.triples) == 5


def test_the_na_strings_are_pandas_own() -> None:
    from pandas._libs.parsers import STR_NA_VALUES

    assert PANDAS_NA_STRINGS == set(STR_NA_VALUES) | {""}


@pytest.fixture(scope="module")
def shipped_export(tmp_path_factory) -> tuple[Path, int, int]:
    """The shipped dbbook2014 written by the RecBole writer: (folder, interactions, items)."""
    records = sources.create("cikg", SHIPPED, "dbbook2014").read()
    types = records.relation_types
    rows = Rows({"users": [Node(*row) for row in records.users], "items": [Node(*row) for row in records.items],
                 "interactions": [Interaction(*row) for row in records.interactions],
                 "triples": [Triple(h, types[r], t) for h, r, t in records.triples],
                 "item_entities": [Pair(*pair) for pair in records.item_entities]}, "dbbook2014", (records.relations, types))
    return export(rows, tmp_path_factory.mktemp("shipped")), len(records.interactions), len(records.items)


@pytest.mark.parametrize("benchmark", [True, False], ids=["benchmark_files", "inter_file"])
def test_shipped_dbbook2014_loads_without_loss(shipped_export, benchmark: bool) -> None:
    """The dataset RecBole lost 146 items and 3,636 interactions of (122 items have no title or KG facts)."""
    folder, interactions, items = shipped_export
    loaded = load_kg_like_recbole(folder, benchmark)
    assert loaded.interactions == interactions and len(loaded.items) == items == 2680
    self_loops = [line for line in lines(folder / "dbbook2014.kg") if "\tkgrec:self\t" in line]
    assert len(self_loops) == 146
    titles = read_like_recbole(folder / "dbbook2014.item")["title"]
    assert sum(not isinstance(title, str) for title in titles) == 122  # no title: RecBole's [PAD]
