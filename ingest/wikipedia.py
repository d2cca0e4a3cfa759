"""Wikipedia pages into the graph, streamed from a dump so a full English dump fits in constant memory.

KELLMRec grounds its LLM item descriptions in Wikipedia text, so the pages must sit next to the
items they describe. A dump is a MediaWiki XML export (``.xml``, ``.xml.bz2``; any export schema
version, the namespace is ignored) or JSON lines of ``{"title", "text"}`` (optionally ``.bz2`` or
``.gz``). Pages are parsed one at a time (``iterparse`` with each ``<page>`` cleared after use) and
written with MERGE in batches through :func:`kg_store.batching.write_stream`; a
``(:WikiSource {status})`` node stays ``loading`` until the last batch is in, so an interrupted or
failed load is visible and a re-run completes it without duplicates.

Only the first ``max_chars`` characters of a page's text are stored (``chars`` keeps the full
length): the lead section is what grounding uses, and whole articles would bloat the store.
"""

from __future__ import annotations

import bz2
import gzip
import json
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ingest.reader import BadLinePolicy
from kg_store.batching import DEFAULT_BATCH_SIZE, write_stream
from kg_store.connection import GraphStore
from kg_store.errors import BadInputError
from kg_store.progress import Progress
from kg_store.schema import apply_schema

DEFAULT_MAX_CHARS = 20_000
_CORRUPT = (ET.ParseError, EOFError, OSError, zlib.error, UnicodeDecodeError)


@dataclass
class DumpStats:
    """What reading a dump skipped, for the report (the pages themselves are counted by the writer)."""

    redirects: int = 0
    other_namespaces: int = 0
    truncated: int = 0
    policy: BadLinePolicy = field(default_factory=lambda: BadLinePolicy(False))


@dataclass
class WikiReport:
    source: str
    file: str
    pages: int
    pages_created: int
    redirects: int
    other_namespaces: int
    truncated: int
    max_chars: int
    skipped: list[str]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextmanager
def _open_binary(path: Path) -> Iterator[IO[bytes]]:
    """The dump's bytes, decompressed by suffix; a missing file is a BadInputError, not a traceback."""
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(path.suffix, open)
    try:
        handle = opener(path, "rb")
    except FileNotFoundError:
        raise BadInputError(path, None, "file not found") from None
    with handle:
        yield handle


def _is_jsonl(path: Path) -> bool:
    suffixes = [s for s in path.suffixes if s not in (".bz2", ".gz")]
    return bool(suffixes) and suffixes[-1] in (".jsonl", ".json", ".ndjson")


def read_pages(path: Path | str, stats: DumpStats | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(title, text)`` of every article; redirects and other namespaces are counted in ``stats``.

    A truncated or corrupt file raises :class:`BadInputError` naming it, after the pages before
    the damage were yielded (the writer's WikiSource status tells the two situations apart).
    """
    path = Path(path)
    stats = stats if stats is not None else DumpStats()
    with _open_binary(path) as handle:
        try:
            yield from (_jsonl_pages if _is_jsonl(path) else _xml_pages)(handle, path, stats)
        except _CORRUPT as exc:
            raise BadInputError(path, None, f"truncated or corrupt dump ({exc})") from None


def _local(tag: str) -> str:
    """``{http://www.mediawiki.org/xml/export-0.10/}page`` -> ``page``: any export version reads."""
    return tag.rsplit("}", 1)[-1]


def _xml_pages(handle: IO[bytes], path: Path, stats: DumpStats) -> Iterator[tuple[str, str]]:
    root = None
    position = 0
    for event, element in ET.iterparse(handle, events=("start", "end")):
        if root is None:
            root = element
        if event != "end" or _local(element.tag) != "page":
            continue
        position += 1
        page = _page_fields(element)
        element.clear()
        root.clear()  # drop finished pages from the tree: memory stays flat over millions of pages
        article = _article(page, path, position, stats)
        if article is not None:
            yield article


def _page_fields(page: ET.Element) -> dict[str, str | None]:
    """title, ns, text and whether it redirects, from one ``<page>`` whatever its namespace prefix."""
    found: dict[str, str | None] = {"title": None, "ns": None, "text": None, "redirect": None}
    for child in page.iter():
        name = _local(child.tag)
        if name == "redirect":
            found["redirect"] = child.get("title") or "yes"
        elif name in found and found[name] is None:
            found[name] = child.text or ""
    return found


def _article(page: dict[str, Any], path: Path, position: int, stats: DumpStats) -> tuple[str, str] | None:
    """The page as ``(title, text)``, or None when it is a redirect, not an article, or skipped as bad."""
    title = (page.get("title") or "").strip()
    if not title:
        stats.policy.handle(BadInputError(path, None, f"page {position} has no title"))
        return None
    if (page.get("ns") or "0").strip() != "0":
        stats.other_namespaces += 1
        return None
    text = page.get("text") or ""
    if page.get("redirect") or text.lstrip()[:9].upper() == "#REDIRECT":
        stats.redirects += 1
        return None
    return title, text


def _jsonl_pages(handle: IO[bytes], path: Path, stats: DumpStats) -> Iterator[tuple[str, str]]:
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            stats.policy.handle(BadInputError(path, number, f"not a JSON page record ({exc})"))
            continue
        if not str(record.get("title") or "").strip():
            stats.policy.handle(BadInputError(path, number, f"page {number} has no title", "title"))
            continue
        article = _article({**record, "ns": str(record.get("ns", 0))}, path, number, stats)
        if article is not None:
            yield article


# -- writing ---------------------------------------------------------------------------------------
def apply_wiki_schema(store: GraphStore) -> None:
    """The WikiPage/WikiSource constraints, once per process and database."""
    apply_schema(store, schema="knowledge/wiki_schema")


def _rows(pages: Iterator[tuple[str, str]], max_chars: int, stats: DumpStats) -> Iterator[dict[str, Any]]:
    for title, text in pages:
        if len(text) > max_chars:
            stats.truncated += 1
        yield {"title": title, "text": text[:max_chars], "chars": len(text)}


def ingest_wikipedia(store: GraphStore, path: Path | str, source: str | None = None, *,
                     max_chars: int = DEFAULT_MAX_CHARS, skip_bad_lines: bool = False,
                     batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = None) -> WikiReport:
    """Stream one dump into ``(:WikiPage)`` nodes; the source is named after the file by default."""
    path = Path(path)
    source = source or path.name.split(".")[0]
    started = time.perf_counter()
    stats = DumpStats(policy=BadLinePolicy(skip_bad_lines))
    apply_wiki_schema(store)
    store.write("knowledge/begin_wiki_source", source=source, file=path.name, max_chars=max_chars)
    counters = write_stream(store, "knowledge/merge_wiki_pages", _rows(read_pages(path, stats), max_chars, stats),
                            batch_size=batch_size, description=f"wiki {source}", progress=progress, source=source)
    store.write("knowledge/finish_wiki_source", source=source, pages=counters.rows, redirects=stats.redirects,
                other_namespaces=stats.other_namespaces, truncated=stats.truncated)
    return WikiReport(source, path.name, counters.rows, counters.nodes_created, stats.redirects,
                      stats.other_namespaces, stats.truncated, max_chars,
                      [f"{s.path}: {s.reason}" for s in stats.policy.skipped], time.perf_counter() - started)


def wiki_stats(store: GraphStore) -> list[dict[str, Any]]:
    """One row per loaded dump: status, pages, links from items."""
    return store.read("knowledge/wiki_stats")
