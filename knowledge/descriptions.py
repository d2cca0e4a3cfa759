"""Knowledge-grounded item and user descriptions (KELLMRec, Table 2 and Eq. 6–7).

Item prompts hold the title and the text of the linked Wikipedia page (``DESCRIBED_BY``), cut to
a token budget; an item without a page falls back to its own facts (genres, year, IMDb plot and
people, KG neighbours). ``Item.description_source`` says which (``wiki`` | ``facts`` | ``none``).
The title-only answer is kept apart as ``Item.description_ungrounded`` for the "w/o external
knowledge" ablation. User prompts hold demographics and the *train* history with the history
items' descriptions. Every prompt goes through the Neo4j cache, so a rerun sends nothing twice.
A linked dataset's prompts read the owner's graph through its mapping, and its descriptions go on
kgrec's own ``KgrecItemText``/``KgrecUserText`` nodes (:mod:`kg_store.linked.texts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.ctr_arrays import POSITIVE_ABOVE  # the CTR labels' rule: liked means rating > 3
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError
from kg_store.progress import Progress
from knowledge.llm.base import ChatBackend, ChatRequest, GenerationParams
from knowledge.llm.budget import PromptPart, estimate_tokens, fit_to_budget
from knowledge.llm.cache import request_key
from knowledge.llm.runner import PromptItem, RunReport, Shard, run_prompts
from knowledge.user_histories import USER_HISTORIES

SYSTEM_PROMPT = "You write short, factual descriptions for a recommender system."


@dataclass(frozen=True)
class DescribeConfig:
    """Prompt sizes; the budget keeps prompts well inside small models' contexts (and fast)."""

    domain: str = "item"            # "movie", "book": what the items are
    max_prompt_tokens: int = 768
    max_new_tokens: int = 96
    max_neighbours: int = 12
    max_history: int = 20
    batch_size: int = 8
    grounded_only: bool = False     # skip the title-only (ablation) prompts
    # > 1 breaks the loops small models fall into when decoding greedily, but it also penalises
    # copying the page's facts (names, years) from the prompt, so grounded descriptions keep 1.0
    repetition_penalty: float = 1.0

    @property
    def params(self) -> GenerationParams:
        return GenerationParams(max_new_tokens=self.max_new_tokens, temperature=0.0,
                                repetition_penalty=self.repetition_penalty)


@dataclass
class DescribeReport:
    subjects: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    cut_tokens: int = 0                 # prompt tokens removed to fit the budget
    runs: list[RunReport] = field(default_factory=list)


def _facts(row: dict[str, Any]) -> list[str]:
    facts = []
    if row.get("year"):
        facts.append(f"Year: {row['year']}")
    if row.get("genres"):
        facts.append("Genres: " + ", ".join(row["genres"]))
    if row.get("directors"):
        facts.append("Directed by: " + ", ".join(row["directors"]))
    if row.get("cast"):
        facts.append("Cast: " + ", ".join(row["cast"][:8]))
    if row.get("plot"):
        facts.append(f"Plot: {row['plot']}")
    facts.extend(row.get("neighbours") or [])
    return facts


def item_source(row: dict[str, Any]) -> str:
    """``wiki`` when a linked page has text, ``facts`` when the item has any, else ``none``."""
    if row.get("page"):
        return "wiki"
    return "facts" if _facts(row) else "none"


def item_prompt(row: dict[str, Any], config: DescribeConfig, grounded: bool = True) -> tuple[ChatRequest, int]:
    """The grounded (or title-only) prompt of one item, cut to the budget; and the tokens cut."""
    title = row.get("title") or f"{config.domain} {row['id']}"
    ask = (f'Describe the {config.domain} "{title}" in two or three sentences: what it is about, '
           "its style and who would enjoy it.")
    if not grounded:
        return ChatRequest.user(ask, config.params, system=SYSTEM_PROMPT), 0
    source = item_source(row)
    knowledge = row["page"] if source == "wiki" else "\n".join(_facts(row))
    header = "Wikipedia article" if source == "wiki" else "Known facts"
    if source == "none":
        return ChatRequest.user(ask, config.params, system=SYSTEM_PROMPT), 0
    texts, cut = fit_to_budget([PromptPart(ask, priority=2, cuttable=False), PromptPart(f"{header}:\n"),
                                PromptPart(knowledge, priority=0)], estimate_tokens, config.max_prompt_tokens)
    return ChatRequest.user(f"{texts[1]}{texts[2]}\n\n{texts[0]}", config.params, system=SYSTEM_PROMPT), cut


def user_prompt(row: dict[str, Any], config: DescribeConfig) -> tuple[ChatRequest, int]:
    """Demographics and a history (titles with their descriptions), cut to the budget; a row with
    ``disliked`` items (the CTR profile's) also lists their titles, the first text cut."""
    who = ", ".join(f"{name}: {row[name]}" for name in ("age", "gender", "occupation") if row.get(name) is not None)
    history = [entry for entry in (row.get("history") or []) if entry]
    lines = [f"- {title or f'item {item}'}" + (f": {description}" if description else "")
             for item, title, description in history[:config.max_history]]
    ask = (f"Describe this person's taste in {config.domain}s in two or three sentences, for a recommender "
           "system. Do not list the titles again.")
    parts = [PromptPart(f"About the person: {who or 'unknown'}\n", priority=1),
             PromptPart(f"{config.domain.capitalize()}s they liked:\n" + "\n".join(lines) + "\n\n", priority=0),
             PromptPart(ask, priority=2, cuttable=False)]
    disliked = [entry for entry in (row.get("disliked") or []) if entry][:config.max_history]
    if disliked:
        titles = "; ".join(title or f"item {item}" for item, title, _ in disliked)
        parts.insert(2, PromptPart(f"{config.domain.capitalize()}s they did not like: {titles}\n\n", priority=-1))
    texts, cut = fit_to_budget(parts, estimate_tokens, config.max_prompt_tokens)
    return ChatRequest.user("".join(texts), config.params, system=SYSTEM_PROMPT), cut


def _answer(report: RunReport, backend: ChatBackend, request: ChatRequest) -> tuple[str | None, str]:
    key = request_key(backend.model_id, request)
    response = report.responses.get(key)
    return (response.text.strip() if response else None), key


def describe_items(store: GraphStore, dataset: str, backend: ChatBackend, config: DescribeConfig | None = None, *,
                   limit: int | None = None, dry_run: bool = False, progress: Progress = None,
                   shard: Shard | None = None) -> DescribeReport:
    """Grounded and title-only descriptions for every item; written as the answers arrive in the cache."""
    config = config or DescribeConfig()
    linked = _linked_texts(store, dataset)
    rows = (linked.linked_item_facts(store, dataset_info(store, dataset), config.max_neighbours) if linked
            else store.read("knowledge/item_facts", dataset=dataset, max_neighbours=config.max_neighbours))
    report = DescribeReport(subjects=len(rows))
    prompts = {row["id"]: item_prompt(row, config) for row in rows}
    report.cut_tokens = sum(cut for _, cut in prompts.values())
    plain = {} if config.grounded_only else {row["id"]: item_prompt(row, config, False)[0] for row in rows}
    items: list[PromptItem] = [(f"item:{i}", f"describe-items:{dataset}", request) for i, (request, _) in prompts.items()]
    items += [(f"item:{i}", f"describe-items-ungrounded:{dataset}", request) for i, request in plain.items()]
    run = run_prompts(store, backend, items, limit=limit, dry_run=dry_run, batch_size=config.batch_size,
                      progress=progress, shard=shard)
    report.runs.append(run)
    if dry_run:
        return report
    written = []
    for row in rows:
        text, key = _answer(run, backend, prompts[row["id"]][0])
        if text is None:
            continue
        ungrounded = _answer(run, backend, plain[row["id"]])[0] if plain else None
        source = item_source(row)
        report.sources[source] = report.sources.get(source, 0) + 1
        written.append([row["id"], text, source, ungrounded, key])
    if linked:
        linked.write_item_descriptions(store, dataset, written)
    else:
        write_in_batches(store, "knowledge/set_item_descriptions", written, batch_size=1_000, dataset=dataset)
    return report


def describe_users(store: GraphStore, dataset: str, backend: ChatBackend, config: DescribeConfig | None = None, *,
                   history: str = "train", limit: int | None = None, dry_run: bool = False,
                   progress: Progress = None, shard: Shard | None = None) -> DescribeReport:
    """A description per user from demographics and a history (run ``describe_items`` first):
    ``train`` writes ``User.description``, ``ctr-profile`` writes ``User.description_profile``."""
    config = config or DescribeConfig()
    if history not in USER_HISTORIES:
        raise ConfigError(f"Unknown user history {history!r}; known: {', '.join(USER_HISTORIES)}.")
    source = USER_HISTORIES[history]
    linked = _linked_texts(store, dataset)
    if linked and history != "train":
        raise ConfigError(f"Dataset '{dataset}' is linked to a graph of your own: its users have the train history "
                          f"only (no CTR split is drawn on a linked dataset); use --history train.")
    rows = (linked.linked_user_facts(store, dataset_info(store, dataset), config.max_history) if linked
            else store.read(source.facts_query, dataset=dataset, max_items=config.max_history,
                            threshold=POSITIVE_ABOVE))
    if not rows and source.when_empty:
        raise ConfigError(source.when_empty.format(dataset=dataset))
    report = DescribeReport(subjects=len(rows))
    prompts = {row["id"]: user_prompt(row, config) for row in rows}
    report.cut_tokens = sum(cut for _, cut in prompts.values())
    run = run_prompts(store, backend, [(f"user:{u}", f"{source.task}:{dataset}", request)
                                       for u, (request, _) in prompts.items()],
                      limit=limit, dry_run=dry_run, batch_size=config.batch_size, progress=progress, shard=shard)
    report.runs.append(run)
    if not dry_run:
        written = [[user, *_answer(run, backend, request)] for user, (request, _) in prompts.items()]
        answered = [w for w in written if w[1] is not None]
        if linked:
            linked.write_user_descriptions(store, dataset, answered)
        else:
            write_in_batches(store, source.write_query, answered, batch_size=1_000, dataset=dataset)
    return report


def _linked_texts(store: GraphStore, dataset: str) -> ModuleType | None:
    """:mod:`kg_store.linked.texts` when ``dataset`` is linked (its texts live on kgrec's own nodes), else None."""
    if not dataset_info(store, dataset).get("linked"):
        return None
    from kg_store.linked import texts

    return texts
