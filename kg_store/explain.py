"""Why an item may suit a user: the best explanation paths through the graph, in words.

Three kinds of path lead from user ``U`` to item ``I`` (Cypher in ``cypher/explain/``):

* ``interest``: U -HAS_INTEREST-> interest <-HAS_INTEREST- peer -INTERACTED-> I;
  score = edge weight (1.0 when unset) x 1 / ln(2 + interest size), size = the interest's members.
* ``kg``: U -INTERACTED-> seen item -LINKED_TO-> entity -[r1]- shared entity -[r2]- entity
  <-LINKED_TO- I; score = 1 / ln(2 + degree of the shared entity), degree = its KG edges.
* ``collaborative``: U -INTERACTED-> seen item <-INTERACTED- peer -INTERACTED-> I;
  score = 1 / ln(2 + peer degree), degree = the distinct items the peer interacted with.

Rare interests, specific entities and selective peers count most. Each kind's aggregate is
the sum of its path scores (over at most ``max_paths`` best paths per kind). Paths read with
titles: ``Item.title``, ``Entity.name`` or the local name of ``Entity.uri``, an interest's
label, or for an unlabelled interest its best-known member items (the items most of its
members interacted with).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info, node_id
from kg_store.errors import UnknownItemError, UnknownUserError
from kg_store.interest_sets import require_interest_set

KINDS = ("interest", "kg", "collaborative")


@dataclass(frozen=True)
class ExplainedPath:
    kind: str
    score: float
    text: str
    steps: list[dict[str, Any]]


@dataclass(frozen=True)
class KindSummary:
    paths: int
    score: float
    truncated: bool = False


@dataclass
class Explanation:
    dataset: str
    user: int | str      # a linked dataset's: the owner's keys
    item: int | str
    item_title: str
    paths: list[ExplainedPath]
    summary: dict[str, KindSummary] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def headline(self) -> str:
        parts = [f"{s.paths}{'+' if s.truncated else ''} {kind} path{'s' if s.paths != 1 else ''} "
                 f"(score {s.score:.3f})" for kind, s in self.summary.items()]
        return f"Why {self.item_title} for user {self.user}: " + ", ".join(parts) + "."

    def render(self) -> str:
        lines = [self.headline()]
        if not self.paths:
            lines.append("No path links this user to this item.")
        for rank, path in enumerate(self.paths, 1):
            lines.append(f"{rank}. [{path.kind} {path.score:.3f}] {path.text}")
        return "\n".join(lines)


def item_name(item: int | str, title: str | None) -> str:
    """``"Title"`` when the item has one, else ``item <id>``."""
    return f'"{title}"' if title else f"item {item}"


def entity_name(entity: int | str, name: str | None, uri: str | None) -> str:
    """The entity's name, else the local name of its URI (underscores as spaces), else ``entity <id>``."""
    if name:
        return name
    if uri:
        local = uri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].replace("_", " ").strip()
        if local:
            return local
    return f"entity {entity}"


def interest_name(set_name: str, interest: int, label: str | None, items: list[dict[str, Any]]) -> str:
    """The interest's label, else its best-known member items."""
    if label:
        return f'interest "{label}"'
    if items:
        return f"interest {set_name}/{interest} (members read " + \
            ", ".join(item_name(i["id"], i["title"]) for i in items) + ")"
    return f"interest {set_name}/{interest}"


def explain(store: GraphStore, dataset: str, user: int | str, item: int | str, set: str | None = None,  # noqa: A002
            top: int = 5, max_paths: int = 5000, member_items: int = 3) -> Explanation:
    """The ``top`` best paths from ``user`` to ``item`` over all kinds, plus per-kind aggregates.

    Raises ``UnknownDatasetError``, ``UnknownUserError`` or ``UnknownItemError`` (exit 2 for the
    latter two) and an interest-set error when ``set`` names no set of the dataset. On a linked
    dataset ``user`` and ``item`` are the owner's keys, and the paths run through its graph
    (:mod:`kg_store.linked.explain`).
    """
    info = dataset_info(store, dataset)
    if set is not None:
        require_interest_set(store, dataset, set)
    if info.get("linked"):
        from kg_store.linked.explain import linked_paths

        found = linked_paths(store, info, user, item, set, max_paths)
        return assemble(dataset, found.ends, found.rows, {}, top, max_paths)
    user, item = node_id(user, dataset, "user"), node_id(item, dataset, "item")
    target = _target_name(store, dataset, user, item)
    params = {"dataset": dataset, "user": user, "item": item, "limit": max_paths}
    rows = {
        "interest": store.read("explain/interest_paths", set=set, **params),
        "kg": store.read("explain/kg_paths", **params),
        "collaborative": store.read("explain/collaborative_paths", **params),
    }
    members = _interest_members(store, dataset, rows["interest"], member_items)
    return assemble(dataset, (f"user {user}", user, item, target), rows, members, top, max_paths)


_Row = dict[str, Any]
Ends = tuple[str, int | str, int | str, str]  # the user's name, user id (or key), item id (or key), the item's name
_Members = dict[tuple[str, int], list[_Row]]


def assemble(dataset: str, ends: Ends, rows: dict[str, list[_Row]], members: _Members, top: int,
             max_paths: int) -> Explanation:
    """The explanation from each kind's path rows (best first, at most ``max_paths`` each): the ``top``
    paths in words over all kinds, and each kind's count and summed score."""
    paths = [*_interest_paths(rows["interest"], members, ends), *_kg_paths(rows["kg"], ends),
             *_collaborative_paths(rows["collaborative"], ends)]
    summary = {kind: KindSummary(paths=len(rows[kind]), score=sum(r["score"] for r in rows[kind]),
                                 truncated=len(rows[kind]) >= max_paths) for kind in KINDS}
    paths.sort(key=lambda p: (-p.score, KINDS.index(p.kind), p.text))
    return Explanation(dataset=dataset, user=ends[1], item=ends[2], item_title=ends[3], paths=paths[:top],
                       summary=summary)


def _target_name(store: GraphStore, dataset: str, user: int, item: int) -> str:
    """The item's name, once the user and the item are known to exist."""
    [ends] = store.read("explain/endpoints", dataset=dataset, user=user, item=item)
    if not ends["user_found"]:
        raise UnknownUserError(f"Dataset '{dataset}' has no user {user}.")
    if not ends["item_found"]:
        raise UnknownItemError(f"Dataset '{dataset}' has no item {item}.")
    return item_name(item, ends["title"])


def _interest_members(store: GraphStore, dataset: str, rows: list[_Row], member_items: int) -> _Members:
    """The best-known member items of every unlabelled interest on a path, read in one query."""
    unlabelled = sorted({(r["set"], r["interest"]) for r in rows if not r["label"]})
    if not unlabelled:
        return {}
    found = store.read("explain/interest_items", dataset=dataset, per_interest=member_items,
                       interests=[list(key) for key in unlabelled])
    return {(r["set"], r["interest"]): r["items"] for r in found}


def _interest_paths(rows: list[_Row], members: _Members, ends: Ends) -> list[ExplainedPath]:
    me, user, item, target = ends
    paths = []
    for r in rows:
        name = interest_name(r["set"], r["interest"], r["label"], members.get((r["set"], r["interest"]), []))
        paths.append(ExplainedPath("interest", r["score"], f"{me} → {name} → user {r['peer']} → {target}", [
            {"node": "User", "id": user, "name": me},
            {"node": "Interest", "set": r["set"], "id": r["interest"], "name": name, "size": r["size"],
             "weight": r["weight"]},
            {"node": "User", "id": r["peer"], "name": f"user {r['peer']}"},
            {"node": "Item", "id": item, "name": target}]))
    return paths


def _kg_paths(rows: list[_Row], ends: Ends) -> list[ExplainedPath]:
    me, user, item, target = ends
    paths = []
    for r in rows:
        seen = item_name(r["seen"], r["seen_title"])
        via = entity_name(r["via"], r["via_name"], r["via_uri"])
        left = f"-[{r['rel1']}]->" if r["rel1_out"] else f"<-[{r['rel1']}]-"
        right = f"-[{r['rel2']}]->" if r["rel2_out"] else f"<-[{r['rel2']}]-"
        paths.append(ExplainedPath("kg", r["score"], f"{me} → {seen} {left} {via} {right} {target}", [
            {"node": "User", "id": user, "name": me},
            {"node": "Item", "id": r["seen"], "name": seen},
            {"node": "Entity", "id": r["via"], "name": via, "degree": r["degree"],
             "relations": [r["rel1"], r["rel2"]]},
            {"node": "Item", "id": item, "name": target}]))
    return paths


def _collaborative_paths(rows: list[_Row], ends: Ends) -> list[ExplainedPath]:
    me, user, item, target = ends
    paths = []
    for r in rows:
        seen = item_name(r["seen"], r["seen_title"])
        paths.append(ExplainedPath("collaborative", r["score"],
                                   f"{me} → {seen} ← user {r['peer']} → {target}", [
            {"node": "User", "id": user, "name": me},
            {"node": "Item", "id": r["seen"], "name": seen},
            {"node": "User", "id": r["peer"], "name": f"user {r['peer']}", "degree": r["degree"]},
            {"node": "Item", "id": item, "name": target}]))
    return paths
