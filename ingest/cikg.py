"""The CIKG file layout (as published with CIKGRec, e.g. ``dbbook2014/``).

Files (space separated, 0-based ids): ``train.txt``/``test.txt`` (``user item item ...``),
``kg_final.txt`` (``head relation tail``), ``relation_list.txt``/``entity_list.txt``/
``user_list.txt`` (header, ``org_id remap_id``), ``item_list.txt`` (header,
``org_id remap_id entity_name``) and ``user_interest_clustered.txt`` (``user interest``).
Only ``train.txt`` is required. Item *i* is KG entity *i* in this layout, so each item is tied
to the entity with its id. Interest ids are numbered after the entities and have no labels.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from kg_store.errors import BadInputError
from kg_store.graph_model import relation_types_for
from ingest.reader import BadLinePolicy, Line, LineReader, parse_int, read_rows
from ingest.records import DatasetRecords, InteractionRow, NodeRow, PairRow, TripleRow

SPLIT_FILES = (("train", "train.txt"), ("test", "test.txt"))


def display_name(uri: str) -> str:
    """Human label from a DBpedia-style URI: ``.../Dragonfly_in_Amber`` -> ``Dragonfly in Amber``."""
    return unquote(uri.rstrip("/").rsplit("/", 1)[-1]).replace("_", " ")


def _remap_row(line: Line) -> tuple[str, int]:
    line.expect_columns(2)
    return line.fields[0], line.integer(1, "remap_id")


def _read_id_list(path: Path, policy: BadLinePolicy) -> dict[int, str]:
    """``org_id remap_id`` list -> {remap_id: org_id}; a repeated remap_id is a bad line."""
    mapping: dict[int, str] = {}

    def parse(line: Line) -> None:
        org_id, remap_id = _remap_row(line)
        if remap_id in mapping:
            raise line.error(f"remap_id {remap_id} is listed twice", "remap_id")
        mapping[remap_id] = org_id

    read_rows(LineReader(path, header=True), parse, policy)
    return mapping


def _read_items(path: Path, policy: BadLinePolicy) -> dict[int, dict]:
    items: dict[int, dict] = {}

    def parse(line: Line) -> None:
        line.expect_columns(3)
        remap_id = line.integer(1, "remap_id")
        if remap_id in items:
            raise line.error(f"remap_id {remap_id} is listed twice", "remap_id")
        props: dict = {"org_id": line.fields[0]}
        if line.fields[2] != "None":
            props["uri"] = line.fields[2]
            props["title"] = display_name(line.fields[2])
        items[remap_id] = props

    read_rows(LineReader(path, header=True), parse, policy)
    return items


class _IdCheck:
    """Checks an id against a list file, when that list file exists."""

    def __init__(self, known: set[int] | None, what: str, list_file: str):
        self.known, self.what, self.list_file = known, what, list_file

    def __call__(self, line: Line, text: str, field_name: str) -> int:
        value = parse_int(line, text, field_name)
        if self.known is not None and value not in self.known:
            raise line.error(f"{self.what} {value} is not in {self.list_file}", field_name)
        return value


def _read_interactions(folder: Path, user_id: _IdCheck, item_id: _IdCheck,
                       policy: BadLinePolicy) -> list[InteractionRow]:
    rows: list[InteractionRow] = []
    seen: dict[tuple[int, int], str] = {}
    for split, file_name in SPLIT_FILES:
        path = folder / file_name
        if split != "train" and not path.exists():
            continue

        def parse(line: Line, split: str = split) -> None:
            line.expect_columns(1, minimum=True)
            user = user_id(line, line.fields[0], "user")
            items = [item_id(line, text, f"item #{k}") for k, text in enumerate(line.fields[1:], 1)]
            fresh = []
            for item in dict.fromkeys(items):  # a repeated item on one line counts once
                earlier = seen.get((user, item))
                if earlier is not None and earlier != split:
                    raise line.error(f"pair ({user}, {item}) is already in the {earlier} split", "item")
                if earlier is None:
                    fresh.append(item)
            for item in fresh:
                seen[(user, item)] = split
                rows.append((user, item, split, None, None))

        read_rows(LineReader(path), parse, policy)
    return rows


def _read_triples(path: Path, entity_id: _IdCheck, n_relations: int | None,
                  policy: BadLinePolicy) -> list[TripleRow]:
    def parse(line: Line) -> TripleRow:
        line.expect_columns(3)
        head = entity_id(line, line.fields[0], "head")
        relation = line.integer(1, "relation")
        if n_relations is not None and relation >= n_relations:
            raise line.error(f"relation {relation} is not in relation_list.txt", "relation")
        tail = entity_id(line, line.fields[2], "tail")
        return head, relation, tail

    return list(dict.fromkeys(read_rows(LineReader(path), parse, policy)))


def _read_user_interests(path: Path, user_id: _IdCheck, policy: BadLinePolicy) -> list[PairRow]:
    def parse(line: Line) -> PairRow:
        line.expect_columns(2)
        return user_id(line, line.fields[0], "user"), line.integer(1, "interest")

    return list(dict.fromkeys(read_rows(LineReader(path), parse, policy)))  # drop repeated pairs


def read_cikg(folder: Path | str, dataset: str, skip_bad_lines: bool = False) -> DatasetRecords:
    """Parse and validate a CIKG-layout folder; raises ``BadInputError`` before anything is written."""
    folder = Path(folder)
    policy = BadLinePolicy(skip_bad_lines)
    optional = {name: folder / name for name in (
        "user_list.txt", "item_list.txt", "entity_list.txt", "relation_list.txt",
        "kg_final.txt", "user_interest_clustered.txt")}
    present = {name: path for name, path in optional.items() if path.exists()}

    user_orgs = _read_id_list(present["user_list.txt"], policy) if "user_list.txt" in present else None
    item_props = _read_items(present["item_list.txt"], policy) if "item_list.txt" in present else None
    entity_orgs = _read_id_list(present["entity_list.txt"], policy) if "entity_list.txt" in present else None
    relation_orgs = _read_id_list(present["relation_list.txt"], policy) if "relation_list.txt" in present else None

    user_check = _IdCheck(set(user_orgs) if user_orgs is not None else None, "user", "user_list.txt")
    item_check = _IdCheck(set(item_props) if item_props is not None else None, "item", "item_list.txt")
    interactions = _read_interactions(folder, user_check, item_check, policy)

    records = DatasetRecords(name=dataset, source="cikg")
    records.interactions = interactions
    users = user_orgs if user_orgs is not None else {u: None for u, *_ in interactions}
    items = item_props if item_props is not None else {i: {} for _, i, *_ in interactions}
    records.users = [(u, {"org_id": org} if org is not None else {}) for u, org in sorted(users.items())]
    records.items = [(i, props) for i, props in sorted(items.items())]

    if "kg_final.txt" in present:
        _add_knowledge_graph(records, present["kg_final.txt"], entity_orgs, relation_orgs, policy)
    if "user_interest_clustered.txt" in present:
        pairs = _read_user_interests(present["user_interest_clustered.txt"], user_check, policy)
        records.user_interests = pairs
        records.interests = [(i, {}) for i in sorted({interest for _, interest in pairs})]
    records.skipped = policy.skipped
    return records


def _add_knowledge_graph(records: DatasetRecords, kg_path: Path, entity_orgs: dict[int, str] | None,
                         relation_orgs: dict[int, str] | None, policy: BadLinePolicy) -> None:
    if relation_orgs is not None:
        missing = [k for k in range(max(relation_orgs, default=-1) + 1) if k not in relation_orgs]
        if missing:
            raise BadInputError(kg_path.parent / "relation_list.txt", None,
                                f"relation ids must run 0..N-1 without gaps; {missing[0]} is missing")
    entity_check = _IdCheck(set(entity_orgs) if entity_orgs is not None else None, "entity", "entity_list.txt")
    n_relations = len(relation_orgs) if relation_orgs is not None else None
    triples = _read_triples(kg_path, entity_check, n_relations, policy)
    if relation_orgs is None:
        relation_orgs = {r: f"relation_{r}" for r in range(max((r for _, r, _ in triples), default=-1) + 1)}
    records.relations = [relation_orgs[r] for r in range(len(relation_orgs))]
    records.relation_types = relation_types_for(records.relations)
    records.triples = triples
    if entity_orgs is None:
        entity_orgs = {e: "" for h, _, t in triples for e in (h, t)}
    records.entities = [(e, _entity_props(org)) for e, org in sorted(entity_orgs.items())]
    item_ids = {i for i, _ in records.items}
    records.item_entities = [(e, e) for e in sorted(entity_orgs) if e in item_ids]


def _entity_props(org_id: str) -> dict:
    if not org_id:
        return {}
    if org_id.startswith(("http://", "https://")):
        return {"uri": org_id, "name": display_name(org_id)}
    return {"org_id": org_id}
