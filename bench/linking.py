"""Item->Wikipedia linking benchmark: precision and recall against hand-checked ML-1M links.

    .venv/bin/python bench/linking.py [--filler 1000000] [--seed 7]

Gold: ``MappingMovielens2DBpedia-1.2.tsv`` (3,300 ML-1M movies -> DBpedia resource = English
Wikipedia title). Items: all 3,883 ``ml-1m/movies.dat`` titles. Candidates: the gold titles, hard
distractors of each (another year's film, sequels "X 2"/"X II", novel, soundtrack, TV series, and
the bare title when the gold has a "(film)" disambiguation), then seeded synthetic filler titles
up to ``--filler`` in all. Linking is the pure :func:`knowledge.linking.link_titles`, no server.
Reads ``../shared/data`` (a bench only; the product never does). Writes
``bench/results/linking.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
_DISAMBIGUATION = re.compile(r"\s*\([^()]*\)$")
_YEAR = re.compile(r"\((\d{4})\)\s*$")
_FILLER_KINDS = ["", "", "", " (film)", " (album)", " (band)", " (novel)", " (song)", " ({year} film)", " (TV series)"]


def read_items() -> dict[int, str]:
    """ML-1M id -> title ("Heat (1995)"); the file is latin-1."""
    items = {}
    for line in (DATA / "ml-1m" / "movies.dat").read_text(encoding="latin-1").splitlines():
        if line.strip():
            movie_id, title, _ = line.split("::")
            items[int(movie_id)] = title
    return items


def read_gold() -> dict[int, str]:
    """ML-1M id -> Wikipedia title (DBpedia resource name, underscores as spaces)."""
    gold = {}
    path = DATA / "movielens1m-dbpedia-links" / "MappingMovielens2DBpedia-1.2.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            movie_id, _, uri = line.split("\t")
            gold[int(movie_id)] = unquote(uri.rsplit("/resource/", 1)[1]).replace("_", " ")
    return gold


def distractors(gold_title: str, item_title: str) -> list[str]:
    """Pages a careless linker would pick: same title, another year, sequel, another kind."""
    base = _DISAMBIGUATION.sub("", gold_title)
    year = _YEAR.search(item_title)
    other_year = int(year.group(1)) + 3 if year else 2001
    pages = [f"{base} ({other_year} film)", f"{base} 2", f"{base} II", f"{base} (novel)", f"{base} (soundtrack)",
             f"{base} (TV series)"]
    if base != gold_title and "film" in gold_title[len(base):]:
        pages.append(base)
    return pages


def filler(count: int, vocabulary: list[str], seed: int, taken: set[str]) -> list[str]:
    """Synthetic plausible titles: 1-4 words of the title vocabulary, some with a disambiguation."""
    rng = random.Random(seed)
    titles: list[str] = []
    while len(titles) < count:
        words = rng.choices(vocabulary, k=rng.choice((1, 2, 2, 3, 3, 4)))
        kind = rng.choice(_FILLER_KINDS).format(year=rng.randint(1920, 2020))
        title = " ".join(w.capitalize() for w in words) + kind
        if title not in taken:
            taken.add(title)
            titles.append(title)
    return titles


def vocabulary(items: dict[int, str]) -> list[str]:
    words = {w for title in items.values() for w in re.findall(r"[A-Za-z]{3,}", _YEAR.sub("", title).lower())}
    return sorted(words)


def score(links: dict[int, str], gold: dict[int, str]) -> dict[str, float]:
    """Precision over links made for gold items, recall over all gold items."""
    judged = {item: page for item, page in links.items() if item in gold}
    correct = sum(page == gold[item] for item, page in judged.items())
    precision = correct / len(judged) if judged else 0.0
    recall = correct / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "correct": correct,
            "linked_gold_items": len(judged), "linked_items_without_gold": len(links) - len(judged)}


def run(item_ids: list[int], titles: list[str], pages: list[str], gold: dict[int, str]) -> dict:
    from knowledge.linking import LinkConfig, PageIndex, link_titles

    started = time.perf_counter()
    index = PageIndex(pages)
    indexed = time.perf_counter()
    links = link_titles(titles, index, LinkConfig())
    linked = time.perf_counter()
    result = score({item_ids[link.item]: link.page for link in links}, gold)
    return {"pages": len(pages), "items": len(titles), **result, "index_seconds": round(indexed - started, 2),
            "link_seconds": round(linked - indexed, 2), "titles_per_second": round(len(titles) / (linked - indexed), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filler", type=int, default=1_000_000, help="Total candidate titles, filler included.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "linking.json")
    args = parser.parse_args()
    items, gold = read_items(), read_gold()
    hard = sorted(set(gold.values()) | {d for i, g in gold.items() for d in distractors(g, items[i])})
    item_ids = sorted(items)
    titles = [items[i] for i in item_ids]
    runs = [run(item_ids, titles, hard, gold)]
    runs.append(run(item_ids, titles, hard + filler(args.filler - len(hard), vocabulary(items), args.seed, set(hard)),
                    gold))
    result = {"gold_links": len(gold), "items": len(items), "seed": args.seed, "threshold": 0.85, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'pages':>10} {'P':>6} {'R':>6} {'F1':>6} {'index s':>8} {'link s':>7} {'titles/s':>9}")
    for r in runs:
        print(f"{r['pages']:>10,} {r['precision']:>6.3f} {r['recall']:>6.3f} {r['f1']:>6.3f} "
              f"{r['index_seconds']:>8.1f} {r['link_seconds']:>7.1f} {r['titles_per_second']:>9,.0f}")


if __name__ == "__main__":
    main()
