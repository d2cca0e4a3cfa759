"""The graph's contents through the :mod:`kgrec` facade: datasets, quality checks, named queries, interest sets.

What ``kgrec db``, ``kgrec query`` and ``kgrec interests list`` do, as calls. Every function takes
an optional ``store``; without one it uses the connection :func:`kgrec.connect` made last (or makes
one). The work is done by :mod:`kg_store`; these calls pick the store and type the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kg_store.connection import GraphStore
from kg_store.queries import QueryInfo
from kgrec.admin_results import DatasetCounts, KGChecks, QueryRows, StoredInterestSet
from kgrec.pipeline import resolve_store


def list_datasets(*, store: GraphStore | None = None) -> list[dict[str, Any]]:
    """Every dataset in the graph: ``{name, source, status, version}`` rows.

    ```python
    import kgrec

    for row in kgrec.list_datasets():
        print(row["name"], row["status"])
    ```
    """
    from kg_store.datasets import list_datasets as listed

    return listed(resolve_store(store))


def dataset_stats(dataset: str, *, store: GraphStore | None = None) -> DatasetCounts:
    """Counts per label and relationship type, interactions per split, KG and interest totals.

    An unknown dataset raises ``UnknownDatasetError``, naming the datasets the graph holds.

    ```python
    import kgrec

    counts = kgrec.dataset_stats("dbbook2014")
    print(counts.nodes["User"], counts.kg_triples, counts.interactions["train"])
    ```
    """
    from kg_store.datasets import dataset_stats as counted

    return DatasetCounts.of(counted(resolve_store(store), dataset))


def drop_dataset(dataset: str, *, store: GraphStore | None = None) -> None:
    """Delete one dataset's nodes and relationships; other datasets are untouched.

    ```python
    import kgrec

    kgrec.drop_dataset("scratch")
    ```
    """
    from kg_store.datasets import drop_dataset as drop

    drop(resolve_store(store), dataset)


def lists_from_edges(dataset: str, *, store: GraphStore | None = None) -> list[dict[str, Any]]:
    """Give each run written before TOP_K lists existed its lists, built from its RECOMMENDED edges.

    Readers use the lists; the edges stay. Returns ``{run_id, model, lists}`` per run upgraded
    (empty: every run already had them).

    ```python
    import kgrec

    for run in kgrec.lists_from_edges("dbbook2014"):
        print(run["run_id"], run["lists"])
    ```
    """
    from kg_store.writeback import lists_from_edges as upgrade

    return upgrade(resolve_store(store), dataset)


def check_dataset(dataset: str, *, examples: int = 5, max_items: int = 1,
                  store: GraphStore | None = None) -> KGChecks:
    """Run the KG quality checks of ``cypher/checks/`` on one dataset: a count and examples each.

    ``examples`` caps the examples per check; an entity linked to more than ``max_items`` items is
    reported by ``shared_entities``. ``has_errors`` says whether an error-severity check found something.

    ```python
    import kgrec

    found = kgrec.check_dataset("dbbook2014", examples=3)
    print(found.has_errors, [(c.name, c.count) for c in found.checks])
    ```
    """
    from kg_store.checks import run_checks

    return KGChecks(dataset, run_checks(resolve_store(store), dataset, examples=examples, max_items=max_items))


def named_queries() -> list[QueryInfo]:
    """Every named read-only query of ``cypher/queries/``, sorted, with its parameters and columns.

    ```python
    import kgrec

    for info in kgrec.named_queries():
        print(info.name, [p.name for p in info.params], info.columns)
    ```
    """
    from kg_store.queries import list_queries

    return list_queries()


def named_query(name: str) -> QueryInfo:
    """The header of one named query; an unknown name raises ``QueryError`` listing the known ones.

    ```python
    import kgrec

    print(kgrec.named_query("user_interests").columns)
    ```
    """
    from kg_store.queries import query_info

    return query_info(name)


def run_query(name: str, params: Mapping[str, Any] | None = None, *, dataset: str | None = None,
              store: GraphStore | None = None) -> QueryRows:
    """Run the named query ``name`` in a read transaction.

    ``params`` are typed by the query's header, so strings as a command line gives them work
    (``{"user": "42"}`` reaches Neo4j as 42); ``dataset`` sets its ``$dataset`` parameter.

    ```python
    import kgrec

    found = kgrec.run_query("user_interests", {"user": 0}, dataset="dbbook2014")
    print(found.columns, found.rows[:3])
    ```
    """
    from kg_store.queries import query_info, run_named_query

    info = query_info(name)
    bound = dict(params or {})
    if dataset is not None:
        bound["dataset"] = dataset
    return QueryRows(info.name, list(info.columns), run_named_query(resolve_store(store), name, bound))


def interest_sets(dataset: str, *, store: GraphStore | None = None) -> list[StoredInterestSet]:
    """Every interest set of ``dataset`` with its cluster count, users covered and edges.

    ```python
    import kgrec

    for found in kgrec.interest_sets("dbbook2014"):
        print(found.set, found.clusters, found.users)
    ```
    """
    from kg_store.interest_sets import list_interest_sets

    return [StoredInterestSet.of(info) for info in list_interest_sets(resolve_store(store), dataset)]
