"""LLM knowledge end to end on ml-100k, part 1: IMDb item text, Wikipedia-style pages, linking, descriptions.

Steps, each appending one JSON line to ``bench/results/descriptions_e2e.jsonl`` when it finishes:

1. ``imdb``: the scraped IMDb details (``movielens100k_details.json``: plot outline, directors,
   writers, cast) onto the items through :func:`ingest.imdb_details.import_details`.
2. ``pages`` + ``link``: a **Wikipedia-style page set built from the IMDb facts** -- NOT a
   Wikipedia dump (none is available offline). For every IMDb movie one page titled the way
   Wikipedia titles films ("The Usual Suspects", "Lawrence of Arabia (film)" when a novel or
   soundtrack page shares the name, "Sabrina (1995 film)" when a film of another year does), with
   a plain-text lead written from the real facts (year, MovieLens genres, director, writers, cast,
   IMDb plot outline) and a cast section; plus hard distractors drawn per movie with a fixed seed:
   the same name as ``(novel)``, ``(soundtrack)``, ``(TV series)``, a film of another year, a
   sequel ("Title II"). Items without IMDb details get distractors only (the right answer is "no
   link"). The set is written as JSONL of ``{title, text}`` (to ``/tmp`` by default: it is
   regenerated identically from the IMDb file, so only its sha256 is recorded), loaded with
   :func:`ingest.wikipedia.ingest_wikipedia` under its own source name, and items are linked with
   :func:`knowledge.linking.link_dataset` restricted to that source. Precision and recall are
   measured against the known truth (each movie's own page).
3. ``describe-items`` (grounded in the linked page's text, else the item's facts), then
   ``describe-users`` (demographics + train history with the items' descriptions; only once every
   item is described, since user prompts contain the item descriptions), then
   ``describe-items-ungrounded`` (title-only answers for the "w/o external knowledge" ablation;
   last, the least needed) with the packaged SmolLM2 through :func:`describe_items` /
   :func:`describe_users`; then ``describe-users-profile`` (KELLMRec's user descriptions, written
   from each user's CTR profile history only, into ``User.description_profile``; the CTR split is
   drawn first when the graph lacks it). ``--stop-after N`` caps the prompts sent per run over all three steps,
   so the 1,682 + 943 (+ 1,682 ablation) prompts can be split across runs. The answers are
   exported to ``bench/results/llm_cache/ml-100k-descriptions.jsonl`` after each step and imported
   first on the next run: a later run on a fresh machine resumes instead of paying again.

Steps 1-2 are skipped when the graph already holds their result (``--redo-prepare`` forces them).
Uses the server that ``kgrec`` connects to (``NEO4J_URI`` or the local one). Reads ``../shared``
(a bench only; the product never does).

    .venv/bin/python bench/descriptions_e2e.py [--stop-after 40] [--batch-size 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.jsonl_results import append_result  # noqa: E402

RESULTS = REPO / "bench" / "results" / "descriptions_e2e.jsonl"
CACHE_DIR = REPO / "bench" / "results" / "llm_cache"  # answers carried between runs and machines (JSONL)
IMDB = REPO.parent / "shared" / "data" / "ml-100k-imdb-details" / "movielens100k_details.json"
PAGES_DIR = Path("/tmp/kgrec-bench")
SOURCE = "ml-100k-wikistyle"  # WikiSource name of the generated page set
FIXTURE_NOTE = ("Wikipedia-style page set generated from the IMDb details and MovieLens genres "
                "(not a Wikipedia dump: none is available offline)")

_ARTICLE = re.compile(r"^(.*),\s*(The|A|An|La|Le|Les|L'|Il|El|Das|Der|Die|Los|Las)$")
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})\)\s*$")
_ALT_TITLE = re.compile(r"^(.+?)\s*\(([^()]*)\)\s*$")
_NUMBER_WORD = re.compile(r"\b(\d+|II|III|IV|V|VI|VII|VIII|IX|X|Part)\b")
_GENRE_WORDS = {"Sci-Fi": "science fiction", "Film-Noir": "film noir", "Children's": "children's"}


def _append(row: dict) -> None:
    append_result(RESULTS, row)


# -- step 1: IMDb details ------------------------------------------------------------------------
def _imdb(store, args) -> None:
    from ingest.imdb_details import import_details

    have = store.read_with(lambda tx: tx.run("MATCH (i:Item {dataset: $d}) WHERE i.plot IS NOT NULL "
                                             "RETURN count(i) AS n", d=args.dataset).single()["n"])
    if have and not args.redo_prepare:
        print(f"imdb: {have:,} items of {args.dataset} already carry IMDb text; skipped.", flush=True)
        return
    started = time.perf_counter()
    report = import_details(store, args.imdb, args.dataset, progress=False)
    _append({"step": "imdb", "dataset": args.dataset, "file": args.imdb.name, **report.as_dict(),
             "unmatched": report.records - report.matched, "seconds": round(time.perf_counter() - started, 2)})


# -- step 2: the Wikipedia-style page set, its ingest and linking --------------------------------
def wiki_base(ml_title: str) -> str:
    """"Usual Suspects, The (1995)" -> "The Usual Suspects"; an alternative title in parentheses is dropped."""
    rest = _YEAR_SUFFIX.sub("", ml_title.strip())
    alt = _ALT_TITLE.match(rest)
    if alt:
        rest = alt.group(1)
    moved = _ARTICLE.match(rest)
    if moved:
        article, name = moved.group(2), moved.group(1)
        rest = f"{article}{name}" if article.endswith("'") else f"{article} {name}"
    return rest.strip()


def _year(ml_title: str, graph_year: Any) -> int | None:
    if isinstance(graph_year, int):
        return graph_year
    match = _YEAR_SUFFIX.search(ml_title)
    return int(match.group(1)) if match else None


def _names(names: list[str], most: int) -> str:
    names = [n for n in dict.fromkeys(names) if n][:most]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def _genre_phrase(genres: list[str] | None) -> str:
    words = [_GENRE_WORDS.get(g, g.lower()) for g in genres or [] if g and g != "unknown"]
    return _names(words, 4)


def film_text(name: str, year: int | None, genres: list[str] | None, record: dict[str, Any]) -> str:
    """A plain-text Wikipedia-style lead and cast section from the real facts only."""
    kind = " ".join(w for w in (str(year) if year else "", _genre_phrase(genres), "film") if w)
    clauses = [f"directed by {_names(record['director'], 3)}" if record.get("director") else "",
               f"written by {_names(record['writer'], 3)}" if record.get("writer") else "",
               f"starring {_names(record['cast'], 5)}" if record.get("cast") else ""]
    clauses = [c for c in clauses if c]
    credits = ", ".join(clauses[:-1]) + ("," if len(clauses) > 2 else "") + " and " + clauses[-1] if clauses else ""
    credits = credits.removeprefix(" and ")
    text = f"{name} is a {kind}" + (f" {credits}" if credits else "") + "."
    if record.get("description"):
        text += f" {record['description'].strip()}"
    if record.get("cast"):
        text += "\n\nCast\n" + "\n".join(f"* {actor}" for actor in dict.fromkeys(record["cast"]))
    return text


def build_pages(items: list[dict[str, Any]], records: dict[int, dict[str, Any]], seed: int
                ) -> tuple[list[dict[str, str]], dict[Any, str | None], dict[str, str]]:
    """(pages [{title, text}], truth item id -> page title or None, kind of every page title)."""
    films: dict[tuple[str, int | None], dict[str, Any]] = {}  # one true page per (name, year)
    truth_key: dict[Any, tuple[str, int | None] | None] = {}
    for item in items:
        record = records.get(item["id"])
        if record is None:
            truth_key[item["id"]] = None
            continue
        key = (wiki_base(item["title"]), _year(item["title"], item.get("year")))
        films.setdefault(key, {"record": record, "genres": item.get("genres"), "items": []})["items"].append(item["id"])
        truth_key[item["id"]] = key
    donors = [films[k]["record"] for k in sorted(films, key=str)]
    distractors: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # name -> [(title, kind, text)]
    film_years: dict[str, set[int | None]] = defaultdict(set)
    for name, year in films:
        film_years[name.casefold()].add(year)
    bases = {wiki_base(i["title"]): i for i in items if i["title"] and i["title"] != "unknown"}
    for name, item in sorted(bases.items()):
        rng = random.Random(f"{seed}:{name}")
        year = _year(item["title"], item.get("year"))
        key = (name, year)
        writer = (films[key]["record"].get("writer") or ["an unknown author"])[0] if key in films else "an author"
        when = f"the {year} film" if year else "a film"
        if rng.random() < 0.35 or key not in films:  # every item without a page gets one distractor at least
            novel_year = (year or 1990) - rng.randint(2, 40)
            distractors[name].append((f"{name} (novel)", "novel",
                                      f"{name} is a {novel_year} novel by {writer}. It was adapted as {when}."))
        if rng.random() < 0.3:
            distractors[name].append((f"{name} (soundtrack)", "soundtrack",
                                      f"{name} is the soundtrack album of {when} {name}, released in {year or 'the same year'}."))
        if rng.random() < 0.1:
            distractors[name].append((f"{name} (TV series)", "tv",
                                      f"{name} is a television series that aired from {(year or 1990) + 2} to "
                                      f"{(year or 1990) + 4}, loosely based on {when}."))
        if year and rng.random() < 0.25:
            other = year + rng.choice([-1, 1]) * rng.randint(3, 30)
            if other not in film_years[name.casefold()] and other <= 2020:
                donor = rng.choice(donors)
                fake = {"director": donor.get("director"), "cast": donor.get("cast", [])[:4],
                        "description": f"It shares its title with {when} but is otherwise unrelated."}
                distractors[name].append((f"{name} ({other} film)", "other-year",
                                          film_text(name, other, None, fake)))
                film_years[name.casefold()].add(other)
        if year and rng.random() < 0.2 and not _NUMBER_WORD.search(name):
            distractors[name].append((f"{name} II", "sequel",
                                      f"{name} II is a {year + rng.randint(1, 4)} film, the sequel to {when} {name}."))
    pages: list[dict[str, str]] = []
    kinds: dict[str, str] = {}
    title_of: dict[tuple[str, int | None], str] = {}
    for (name, year), film in sorted(films.items(), key=str):
        if len(film_years[name.casefold()]) > 1:
            title = f"{name} ({year} film)" if year else f"{name} (film)"
        elif any(kind != "sequel" for _, kind, _ in distractors.get(name, [])):
            title = f"{name} (film)"
        else:
            title = name
        title_of[(name, year)] = title
        pages.append({"title": title, "text": film_text(name, year, film["genres"], film["record"])})
        kinds[title] = "film"
    for name in sorted(distractors):
        for title, kind, text in distractors[name]:
            if title not in kinds:
                pages.append({"title": title, "text": text})
                kinds[title] = kind
    truth = {item_id: (title_of[key] if key else None) for item_id, key in truth_key.items()}
    return pages, truth, kinds


def _write_pages(pages: list[dict[str, str]]) -> tuple[Path, str]:
    lines = "".join(json.dumps(page, ensure_ascii=False, sort_keys=True) + "\n" for page in pages)
    digest = hashlib.sha256(lines.encode("utf-8")).hexdigest()
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    path = PAGES_DIR / f"{SOURCE}-{digest[:12]}.jsonl"
    path.write_text(lines, encoding="utf-8")
    return path, digest


def score_links(links: dict[Any, str], truth: dict[Any, str | None], kinds: dict[str, str]) -> dict[str, Any]:
    """Precision/recall of item -> page links against each movie's own page; wrong links by page kind."""
    with_page = {item for item, page in truth.items() if page}
    correct = sum(1 for item, page in links.items() if truth.get(item) == page)
    wrong = {item: page for item, page in links.items() if truth.get(item) != page}
    precision = correct / len(links) if links else 0.0
    recall = correct / len(with_page) if with_page else 0.0
    wrong_kinds = Counter("another movie's page" if kinds.get(page) == "film" else kinds.get(page, "?")
                          for page in wrong.values())
    return {"items": len(truth), "items_with_true_page": len(with_page), "linked": len(links), "correct": correct,
            "wrong": len(wrong), "missed": sum(1 for item in with_page if item not in links),
            "false_links_without_true_page": sum(1 for item in wrong if not truth.get(item)),
            "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
            "wrong_by_page_kind": dict(wrong_kinds)}


def _pages_and_link(store, args) -> None:
    from ingest.imdb_details import read_details
    from ingest.wikipedia import ingest_wikipedia
    from knowledge.linking import LinkConfig, link_dataset

    started = time.perf_counter()
    raw = json.loads(args.imdb.read_bytes())
    known = {row["id"] for row in read_details(args.imdb)}  # validated through the product's reader
    records = {r["movie_id"]: r for r in raw if r["movie_id"] in known}
    items = store.read("knowledge/item_facts", dataset=args.dataset, max_neighbours=0)
    pages, truth, kinds = build_pages(items, records, args.seed)
    path, digest = _write_pages(pages)
    build_s = time.perf_counter() - started

    source = store.read_with(lambda tx: tx.run("MATCH (s:WikiSource {name: $s}) RETURN s.status AS status, "
                                               "s.file AS file", s=SOURCE).data())
    links_now = store.read("knowledge/dataset_links", dataset=args.dataset)
    done = (source and source[0]["status"] == "complete" and source[0]["file"] == path.name and links_now)
    if done and not args.redo_prepare:
        print(f"pages/link: source {SOURCE} ({path.name}) is loaded and {len(links_now):,} items are linked; "
              "skipped.", flush=True)
        return
    counts = Counter(kinds.values())
    ingest = ingest_wikipedia(store, path, SOURCE, progress=False)
    stale = store.write_with(lambda tx: tx.run(
        "MATCH (p:WikiPage {source: $s}) WHERE NOT p.title IN $titles DETACH DELETE p RETURN count(*) AS n",
        s=SOURCE, titles=[p["title"] for p in pages]).single()["n"])
    _append({"step": "pages", "dataset": args.dataset, "source": SOURCE, "note": FIXTURE_NOTE,
             "file": str(path), "sha256": digest, "bytes": path.stat().st_size, "pages": len(pages),
             "film_pages": counts["film"], "distractors": {k: v for k, v in counts.items() if k != "film"},
             "titles": {"plain": sum(1 for p in pages if kinds[p["title"]] == "film" and "(" not in p["title"]),
                        "(film)": sum(1 for t in kinds if t.endswith(" (film)")),
                        "(YEAR film)": sum(1 for t, k in kinds.items() if k == "film" and re.search(r"\(\d{4} film\)$", t))},
             "build_s": round(build_s, 2), "ingest": ingest.as_dict(), "stale_pages_removed": stale})

    config = LinkConfig()
    started = time.perf_counter()
    report = link_dataset(store, args.dataset, config, SOURCE, progress=False)
    link_s = time.perf_counter() - started
    rows = store.read("knowledge/dataset_links", dataset=args.dataset)
    links = {row["id"]: row["page"] for row in rows}
    scores = score_links(links, truth, kinds)
    examples = [{"item": r["title"], "linked": r["page"], "truth": truth.get(r["id"])}
                for r in rows if truth.get(r["id"]) != r["page"]][:10]
    missed = [{"item": i["title"], "truth": truth[i["id"]]} for i in items
              if truth.get(i["id"]) and i["id"] not in links][:10]
    _append({"step": "link", "dataset": args.dataset, "source": SOURCE, "candidate_pages": report.pages,
             "threshold": config.threshold, "kind_hint": config.kind_hint, **scores,
             "methods": dict(Counter(row["method"] for row in rows)), "seconds": round(link_s, 2),
             "wrong_examples": examples, "missed_examples": missed,
             "truth": "each IMDb movie's own generated page; items without IMDb details: no page"})


# -- step 3: descriptions ------------------------------------------------------------------------
TASKS = ("describe-items:{d}", "describe-items-ungrounded:{d}", "describe-users:{d}", "describe-users-profile:{d}")


def _export(store, path: Path, dataset: str) -> int:
    """All description answers of ``dataset`` in one JSONL (the format of ``kgrec llm cache export``)."""
    from knowledge.llm.cache import iter_responses

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".jsonl.{os.getpid()}.partial")  # shards may export at the same time
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for task in TASKS:
            for response in iter_responses(store, task.format(d=dataset)):
                out.write(json.dumps(response.as_row(), ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    partial.replace(path)
    return count


def _sources(store, dataset: str) -> dict[str, int]:
    rows = store.read_with(lambda tx: tx.run(
        "MATCH (i:Item {dataset: $d}) RETURN coalesce(i.description_source, 'not described') AS source, "
        "count(*) AS n, count(i.description_ungrounded) AS ungrounded ORDER BY source", d=dataset).data())
    return {r["source"]: r["n"] for r in rows} | {"with_ungrounded": sum(r["ungrounded"] for r in rows)}


def _users_described(store, dataset: str, prop: str = "description") -> int:
    return store.read_with(lambda tx: tx.run("MATCH (u:User {dataset: $d}) WHERE u[$p] IS NOT NULL "
                                             "RETURN count(u) AS n", d=dataset, p=prop).single()["n"])


def _row(step: str, args, backend, run, prompts: int, cached: int, pending_after: int, started: float,
         **extra: Any) -> dict[str, Any]:
    return {"step": step, "dataset": args.dataset, "model": backend.model_id, "prompts": prompts, "cached": cached,
            "sent": run.sent, "pending_after": pending_after, "prompt_tokens": run.prompt_tokens,
            "completion_tokens": run.completion_tokens, "backend_seconds": round(run.seconds, 1),
            "tokens_per_s": round(run.tokens_per_second, 2), "wall_s": round(time.perf_counter() - started, 1),
            "threads": args.threads, "batch_size": args.batch_size, "stop_after": args.stop_after, "shard": args.shard,
            **extra}


def _describe(store, args) -> None:
    import torch

    from knowledge.descriptions import DescribeConfig, describe_items, describe_users
    from knowledge.llm.base import create_backend
    from knowledge.llm.cache import import_jsonl
    from knowledge.llm.runner import Shard

    torch.set_num_threads(args.threads)
    backend = create_backend(args.backend, batch_size=args.batch_size, num_threads=args.threads)
    carried = CACHE_DIR / f"{args.dataset}-descriptions.jsonl"
    if carried.exists():
        read, created = import_jsonl(store, carried)
        print(f"imported {carried.name}: {read:,} answers, {created:,} new in this cache", flush=True)
    config = DescribeConfig(domain="movie", batch_size=args.batch_size)
    grounded = DescribeConfig(domain="movie", batch_size=args.batch_size, grounded_only=True)
    budget = args.stop_after if args.stop_after is not None else 10**9
    shard = Shard.parse(args.shard) if args.shard else None

    # items, grounded: the grounded prompts come first in describe_items' order, so a limit of at most
    # the grounded prompts still missing sends only those (and writes every cached ablation answer too)
    plan = describe_items(store, args.dataset, backend, grounded, dry_run=True, progress=False, shard=shard).runs[0]
    started = time.perf_counter()
    try:
        report = describe_items(store, args.dataset, backend, config, limit=min(budget, plan.would_send),
                                progress=False, shard=shard)
    finally:
        _export(store, carried, args.dataset)
    run = report.runs[0]
    budget -= run.sent
    items_left = plan.would_send - run.sent
    _append(_row("describe-items", args, backend, run, plan.prompts, plan.cached, items_left, started,
                 prompt_tokens_cut_to_budget=report.cut_tokens, description_source=_sources(store, args.dataset)))
    if shard is not None and not items_left:  # this part is done; users wait for every part
        items_left = describe_items(store, args.dataset, backend, grounded, dry_run=True, progress=False).runs[0].would_send
    if items_left:
        print(f"{items_left:,} item prompts left; users wait until every item is described.", flush=True)
        return

    started = time.perf_counter()
    try:
        report = describe_users(store, args.dataset, backend, config, limit=budget, progress=False, shard=shard)
    finally:
        _export(store, carried, args.dataset)
    run = report.runs[0]
    budget -= run.sent
    users_left = run.would_send - run.sent
    _append(_row("describe-users", args, backend, run, run.prompts, run.cached, users_left, started,
                 prompt_tokens_cut_to_budget=report.cut_tokens,
                 users_described=_users_described(store, args.dataset)))
    if users_left or args.no_ungrounded:
        return

    started = time.perf_counter()
    try:
        report = describe_items(store, args.dataset, backend, config, limit=budget, progress=False, shard=shard)
    finally:
        count = _export(store, carried, args.dataset)
    run = report.runs[0]
    budget -= run.sent
    _append(_row("describe-items-ungrounded", args, backend, run, run.prompts - plan.prompts,
                 run.cached - plan.prompts, run.would_send - run.sent, started, exported=count,
                 description_source=_sources(store, args.dataset)))
    if run.would_send - run.sent:
        return
    _describe_profiles(store, args, backend, config, budget, shard, carried)


def _describe_profiles(store, args, backend, config, budget: int, shard, carried: Path) -> None:
    """KELLMRec's user descriptions from the CTR profile histories (the split drawn first if absent)."""
    from kgrec.ctr_training import load_ctr_data
    from knowledge.descriptions import describe_users

    load_ctr_data(store, args.dataset)   # draws and stores the CTR split and profile cuts once
    started = time.perf_counter()
    try:
        report = describe_users(store, args.dataset, backend, config, history="ctr-profile", limit=budget,
                                progress=False, shard=shard)
    finally:
        count = _export(store, carried, args.dataset)
    run = report.runs[0]
    _append(_row("describe-users-profile", args, backend, run, run.prompts, run.cached, run.would_send - run.sent,
                 started, exported=count, prompt_tokens_cut_to_budget=report.cut_tokens,
                 users_described=_users_described(store, args.dataset, "description_profile")))


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--imdb", type=Path, default=IMDB, help="movielens100k_details.json")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the distractor draw.")
    parser.add_argument("--backend", choices=["transformers", "llama-cpp"], default="transformers",
                        help="Local runtime of the packaged SmolLM2 GGUF; answers are cached per runtime.")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for the LLM.")
    parser.add_argument("--stop-after", type=int, default=None, help="Send at most N new prompts this run.")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="Send only part K of N of the prompts (run N of these side by side, one per core); "
                             "each records its own rows, and the parts never overlap.")
    parser.add_argument("--skip-describe", action="store_true", help="Only the IMDb, pages and link steps.")
    parser.add_argument("--no-ungrounded", action="store_true", help="Skip the title-only ablation prompts.")
    parser.add_argument("--redo-prepare", action="store_true", help="Run the IMDb, pages and link steps again.")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)  # a background run (SIGINT ignored) still exports on kill -TERM
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(args.threads))

    from kgrec import api

    store = api.connect()
    _imdb(store, args)
    _pages_and_link(store, args)
    if not args.skip_describe:
        _describe(store, args)


if __name__ == "__main__":
    main()
