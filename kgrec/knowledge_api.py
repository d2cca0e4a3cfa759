"""Item knowledge through the :mod:`kgrec` facade: Wikipedia pages, IMDb details, item links, text vectors.

What ``kgrec wiki``, ``kgrec link`` and ``kgrec text`` do, as calls: the text KELLMRec grounds its
LLM descriptions in, and the sentence vectors of item and user text that its CTR models and
nearest-neighbour search read. Every function takes an optional ``store``; without one it uses the
connection :func:`kgrec.connect` made last. sentence-transformers loads only when a text is encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.wikipedia import DEFAULT_MAX_CHARS
from kg_store.batching import DEFAULT_BATCH_SIZE
from kg_store.connection import GraphStore
from kg_store.progress import Progress
from kgrec.admin_results import ImdbDetails, ItemLinks, TextVectors, WikiIngest
from kgrec.pipeline import resolve_store
from knowledge.linking import LinkConfig


def ingest_wikipedia(path: Path | str, *, source: str | None = None, max_chars: int = DEFAULT_MAX_CHARS,
                     skip_bad_lines: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = None,
                     store: GraphStore | None = None) -> WikiIngest:
    """Stream a MediaWiki XML dump (``.xml``, ``.xml.bz2``) or JSON lines of ``{title, text}`` into
    ``(:WikiPage)`` nodes, skipping redirects and non-article pages.

    ``source`` names the dump in the graph (default: the file name); each page keeps its first
    ``max_chars`` characters (the lead is what grounding reads). Loading again updates in place.

    ```python
    import kgrec

    report = kgrec.ingest_wikipedia("enwiki-films.xml.bz2", source="films")
    print(report.pages, report.redirects, report.seconds)
    ```
    """
    from ingest.wikipedia import ingest_wikipedia as load

    return WikiIngest.of(load(resolve_store(store), path, source, max_chars=max_chars, skip_bad_lines=skip_bad_lines,
                              batch_size=batch_size, progress=progress))


def wikipedia_stats(*, store: GraphStore | None = None) -> list[dict[str, Any]]:
    """One row per loaded dump: ``source``, ``status`` (loading or complete), ``pages_in_graph``,
    ``links`` from items, ``max_chars``.

    ```python
    import kgrec

    for row in kgrec.wikipedia_stats():
        print(row["source"], row["status"], row["pages_in_graph"])
    ```
    """
    from ingest.wikipedia import wiki_stats

    return wiki_stats(resolve_store(store))


def import_imdb_details(path: Path | str, dataset: str, *, batch_size: int = DEFAULT_BATCH_SIZE,
                        progress: Progress = None, store: GraphStore | None = None) -> ImdbDetails:
    """Set ``plot``, ``directors``, ``writers`` and ``cast`` on the items of ``dataset`` (MovieLens
    100K ids) that ``movielens100k_details.json`` names.

    ```python
    import kgrec

    done = kgrec.import_imdb_details("movielens100k_details.json", "ml100k")
    print(done.matched, "of", done.records)
    ```
    """
    from ingest.imdb_details import import_details

    return ImdbDetails.of(import_details(resolve_store(store), path, dataset, batch_size=batch_size,
                                         progress=progress))


def link_items(dataset: str, *, config: LinkConfig | None = None, source: str | None = None,
               batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = None, store: GraphStore | None = None,
               **config_fields: Any) -> ItemLinks:
    """Link each titled item of ``dataset`` to its Wikipedia page:
    ``(:Item)-[:DESCRIBED_BY {similarity, method}]->(:WikiPage)``.

    Titles are matched by edit distance, adjusted for the year and the kind of work;
    ``config_fields`` override :class:`~knowledge.linking.LinkConfig` (``threshold``,
    ``kind_hint``). ``source`` links only to that dump's pages. Linking again replaces the links.

    ```python
    import kgrec

    found = kgrec.link_items("ml100k", threshold=0.9, kind_hint="film")
    print(found.linked, "of", found.items)
    ```
    """
    from knowledge.linking import link_dataset

    config = replace(config or LinkConfig(), **config_fields)
    return ItemLinks.of(link_dataset(resolve_store(store), dataset, config, source, batch_size=batch_size,
                                     progress=progress))


def encode_texts(dataset: str, label: str = "item", prop: str = "description", *, name: str | None = None,
                 encoder: str | None = None, batch_size: int = 64, allow: Iterable[str] = (),
                 progress: Progress = None, store: GraphStore | None = None) -> TextVectors:
    """Encode each ``label`` node's text ``prop`` whose vector is missing or stale (changed text or
    encoder), store it as ``text_vec_<name>`` and ensure its vector index.

    ``prop``: ``description``, ``description_ungrounded``, ``plot``, ``title``, or ``facts`` for
    items (title, genres, year, plot); ``allow`` admits another property. ``encoder``: a
    sentence-transformers name or folder (default: the packaged all-MiniLM-L6-v2).

    ```python
    import kgrec

    done = kgrec.encode_texts("ml100k", "item", "description")
    print(done.encoded, done.cached, done.index)
    ```
    """
    from knowledge.text_features import encode_dataset

    return TextVectors.of(encode_dataset(resolve_store(store), dataset, label, prop, name=name, encoder=encoder,
                                         batch_size=batch_size, allow=allow, progress=progress))


def nearest_texts(dataset: str, query: str | Sequence[float], *, label: str = "item", k: int = 10,
                  name: str = "description", encoder: str | None = None,
                  store: GraphStore | None = None) -> list[dict[str, Any]]:
    """The ``k`` nodes of ``dataset`` whose text vectors ``name`` are closest to ``query`` (a text,
    encoded like the stored vectors, or a vector): ``{id, title, score}`` best first, score
    (1 + cos) / 2.

    ```python
    import kgrec

    for hit in kgrec.nearest_texts("ml100k", "space opera with robots", k=5):
        print(round(hit["score"], 3), hit["title"])
    ```
    """
    from knowledge.text_features import nearest

    return nearest(resolve_store(store), dataset, label, query, k, name=name, encoder=encoder)
