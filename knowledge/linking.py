"""Item titles -> Wikipedia page titles, so LLM descriptions can be grounded in the right article.

KELLMRec (Eq. 5) matches an item to a page by normalised edit distance; here the similarity is
``1 - d`` (rapidfuzz's ``Levenshtein.normalized_similarity``) on normalised titles: lower case,
accents and punctuation dropped, a trailing article moved to the front ("Matrix, The" -> "the
matrix"). Titles alone are ambiguous ("Heat" is a 1995 film, a 1986 film, a novel, an album), so
the score also uses what the item title says: a MovieLens year ("Heat (1995)") rewards a page whose
disambiguation ("(1995 film)") or opening text carries that year and penalises one naming another
year; a kind hint ("film") rewards "(film)" pages and penalises "(novel)", "(soundtrack)", ...

To scale to millions of pages, pages are grouped by normalised base title and blocked by its first
word that is not an article; an item is compared only with the bases of its block
(``process.extract``), and then with every disambiguation variant of the few best bases.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from kg_store.batching import DEFAULT_BATCH_SIZE, write_in_batches
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError, UnknownDatasetError
from kg_store.progress import Progress

_ARTICLES = ("the", "a", "an", "les", "le", "la", "l", "il", "el", "das", "der", "die", "los", "las")
_TRAILING_ARTICLE = re.compile(r"^(.*),\s*(" + "|".join(_ARTICLES) + r")$", re.IGNORECASE)
_ITEM_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_PARENTHESIS = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NON_WORD = re.compile(r"[\W_]+")
_NUMERALS = frozenset({"ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"})


@dataclass(frozen=True)
class LinkConfig:
    """How strict linking is; the defaults suit MovieLens-style film titles."""

    threshold: float = 0.85         # minimum score after the year/kind adjustments
    kind_hint: str | None = "film"  # preferred disambiguation word; None: no kind preference
    year_bonus: float = 0.05        # page carries the item's year (title or opening text)
    kind_bonus: float = 0.03        # page's disambiguation names the kind
    mismatch_penalty: float = 0.3   # page names another year, or another kind (novel, soundtrack)
    candidates: int = 5             # best base titles per item whose variants are scored
    opening_chars: int = 400        # opening text searched for the year

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}.")


@dataclass(frozen=True)
class Link:
    """One item linked to one page; ``similarity`` is 1 - normalised edit distance of the base titles."""

    item: int          # position in the item titles given
    item_title: str
    page: str
    similarity: float
    score: float       # similarity with the year/kind adjustments, compared with the threshold
    method: str        # evidence used: "title", "title+year", "title+kind", "title+year+kind"


def normalise(title: str) -> str:
    """Lower case, accents and punctuation dropped, trailing article in front ("Matrix, The" -> "the matrix")."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).strip()
    moved = _TRAILING_ARTICLE.match(text)
    if moved:
        text = f"{moved.group(2)} {moved.group(1)}"
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def block_key(normalised: str) -> str:
    """First word that is not an article: "the matrix" and "matrix" meet in block "matrix"."""
    words = normalised.split()
    content = [w for w in words if w not in _ARTICLES]
    return (content or words or [""])[0]


@dataclass(frozen=True)
class ItemTitle:
    """A MovieLens-style title split into searchable names and its year."""

    names: tuple[str, ...]  # normalised main title, then the alternative title in parentheses if any
    year: int | None


def parse_item_title(title: str) -> ItemTitle:
    """"Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)" -> names (main, alternative), year 1995."""
    year_match = _ITEM_YEAR.search(title)
    rest = title[:year_match.start()] if year_match else title
    names = [rest]
    alt = _PARENTHESIS.match(rest)
    if alt and alt.group(1):
        names = [alt.group(1), alt.group(2)]
    normalised = tuple(dict.fromkeys(n for n in (normalise(name) for name in names) if n))
    return ItemTitle(normalised, int(year_match.group(1)) if year_match else None)


@dataclass(frozen=True)
class PageTitle:
    """A page title split into its base and its disambiguation ("Heat (1995 film)" -> heat, 1995, film)."""

    title: str
    base: str
    year: int | None
    kind: str  # the disambiguation without its year ("film", "novel", "american film"); "" when none


def parse_page_title(title: str) -> PageTitle:
    match = _PARENTHESIS.match(title)
    if not match or not match.group(1):
        return PageTitle(title, normalise(title), None, "")
    words = match.group(2)
    year = _YEAR.search(words)
    kind = normalise(_YEAR.sub(" ", words))
    return PageTitle(title, normalise(match.group(1)), int(year.group(1)) if year else None, kind)


class PageIndex:
    """Page titles grouped by normalised base and blocked by the base's first content word."""

    def __init__(self, page_titles: Iterable[str], openings: Mapping[str, str] | None = None):
        self.variants: dict[str, list[PageTitle]] = defaultdict(list)
        for title in page_titles:
            page = parse_page_title(title)
            if page.base:
                self.variants[page.base].append(page)
        self.blocks: dict[str, list[str]] = defaultdict(list)
        for base in self.variants:
            self.blocks[block_key(base)].append(base)
        self.openings = openings or {}

    def nearest_bases(self, name: str, limit: int, cutoff: float) -> list[tuple[str, float]]:
        """The ``limit`` most similar bases in ``name``'s block, at least ``cutoff`` similar."""
        block = self.blocks.get(block_key(name), [])
        found = process.extract(name, block, scorer=Levenshtein.normalized_similarity, limit=limit,
                                score_cutoff=cutoff)
        return [(base, score) for base, score, _ in found]


def numbers(normalised: str) -> frozenset[str]:
    """Number words of a title: "toy story 2" and "toy story 3" are different films, not a typo apart."""
    return frozenset(w for w in normalised.split() if w.isdigit() or w in _NUMERALS)


def _adjust(page: PageTitle, item: ItemTitle, index: PageIndex, config: LinkConfig) -> tuple[float, list[str]]:
    """The year and kind adjustment of one page for one item, with the evidence used."""
    delta, evidence = 0.0, []
    if item.year is not None:
        if page.year == item.year:
            delta, evidence = delta + config.year_bonus, ["year"]
        elif page.year is not None:
            delta -= config.mismatch_penalty
        elif str(item.year) in index.openings.get(page.title, "")[:config.opening_chars]:
            delta, evidence = delta + config.year_bonus, ["year"]
    hint = config.kind_hint
    if hint and page.kind:
        if hint in page.kind.split():
            delta, evidence = delta + config.kind_bonus, evidence + ["kind"]
        else:
            delta -= config.mismatch_penalty
    return delta, evidence


def best_link(position: int, title: str, index: PageIndex, config: LinkConfig) -> Link | None:
    """The highest-scoring page for one item title, or None when nothing reaches the threshold."""
    item = parse_item_title(title)
    cutoff = config.threshold - config.year_bonus - config.kind_bonus
    best: Link | None = None
    for name in item.names:
        for base, similarity in index.nearest_bases(name, config.candidates, cutoff):
            sequel = config.mismatch_penalty if numbers(base) != numbers(name) else 0.0  # "X 2" is another film
            for page in index.variants[base]:
                delta, evidence = _adjust(page, item, index, config)
                score = similarity + delta - sequel
                if score >= config.threshold and (best is None or score > best.score):
                    method = "+".join(["title", *evidence])
                    best = Link(position, title, page.title, round(similarity, 4), round(score, 4), method)
    return best


def link_titles(item_titles: Sequence[str], page_titles: Iterable[str] | PageIndex,
                config: LinkConfig | None = None, openings: Mapping[str, str] | None = None) -> list[Link]:
    """Link each item title to at most one page title; pure, so benches and tests need no server.

    ``openings`` maps a page title to its opening text, searched for the item's year when the
    page title carries none. Pass a prebuilt :class:`PageIndex` to reuse it across calls.
    """
    config = config or LinkConfig()
    index = page_titles if isinstance(page_titles, PageIndex) else PageIndex(page_titles, openings)
    links = (best_link(position, title, index, config) for position, title in enumerate(item_titles))
    return [link for link in links if link is not None]


# -- the graph side: read items and pages, write (:Item)-[:DESCRIBED_BY]->(:WikiPage) ----------------
@dataclass(frozen=True)
class LinkReport:
    dataset: str
    items: int
    linked: int
    pages: int
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def link_dataset(store: GraphStore, dataset: str, config: LinkConfig | None = None, source: str | None = None, *,
                 batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = None) -> LinkReport:
    """Link every titled item of ``dataset`` to a page (of ``source``, or of all dumps).

    Each item's earlier DESCRIBED_BY link is replaced, and dropped when it no longer reaches the
    threshold, so re-running with other settings leaves only the new links. A linked dataset's items
    are titled by the owner's nodes, and their links go from kgrec's ``KgrecItemText`` nodes.
    """
    config = config or LinkConfig()
    info = dataset_info(store, dataset)
    linked = bool(info.get("linked"))     # links drawn from kgrec's KgrecItemText nodes (kg_store.linked.texts)
    if linked:
        from kg_store.linked.texts import linked_items_to_link

        items = linked_items_to_link(store, info)
    else:
        items = store.read("knowledge/items_to_link", dataset=dataset)
    if not items:
        raise UnknownDatasetError(f"Dataset '{dataset}' has no titled items to link.")
    pages = store.read("knowledge/link_candidates", source=source, opening_chars=config.opening_chars)
    index = PageIndex((p["title"] for p in pages), {p["title"]: p["opening"] or "" for p in pages})
    links = {link.item: link for link in link_titles([i["title"] for i in items], index, config)}
    rows = [{**_link_row(item["id"], links.get(position)), "key": item.get("key")}
            for position, item in enumerate(items)]
    write_in_batches(store, "linked/replace_described_by" if linked else "knowledge/replace_described_by", rows,
                     batch_size=batch_size,
                     description=f"link {dataset}", progress=progress, dataset=dataset)
    return LinkReport(dataset, len(items), len(links), len(pages), config.threshold)


def _link_row(item_id: Any, link: Link | None) -> dict[str, Any]:
    if link is None:
        return {"id": item_id, "page": None, "similarity": None, "method": None}
    return {"id": item_id, "page": link.page, "similarity": link.similarity, "method": link.method}
