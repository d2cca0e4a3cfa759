"""Ask an LLM for each user's interests from their train history (CIKGRec Eq. 1).

Prompts show at most ``max_items`` *train* items per user (the reference shows 30 titles):
validation and test items would leak the answers into the features. Every answer goes through
the Neo4j prompt cache (:mod:`knowledge.llm.runner`), so a re-run or a run restarted after a
kill sends no prompt twice, and ``(:User)-[:PROMPTED {task, items}]->(:LLMResponse)`` records
which items each prompt showed (on a linked dataset, kgrec's ``(:KgrecPrompt)`` nodes do:
:mod:`kg_store.linked.prompts`). Parsing is a pure function of the stored text, so it can change
without asking the LLM again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.histories import History, train_histories
from kg_store.progress import Progress
from kg_store.schema import apply_schema
from kg_store.splits import ValidSplitReport, store_valid_split
from knowledge.interests.parse import parse_interests
from knowledge.llm.base import ChatBackend, ChatRequest, GenerationParams
from knowledge.llm.cache import request_key
from knowledge.llm.runner import PromptItem, RunReport, Shard, run_prompts

SYSTEM_PROMPT = "You describe a person's tastes in a few short phrases."
# Asking for genres and themes "not titles" matters for small models: asked for "interests",
# SmolLM2-135M mostly repeats the history's titles; asked this way it names genres more often.
INSTRUCTION = ("Which genres and themes does this person enjoy? Answer with a comma-separated list of "
               "genres and themes, not titles.")


@dataclass(frozen=True)
class InferConfig:
    """How interest prompts are built and sent; defaults follow the reference (30 titles)."""

    max_items: int = 30
    max_new_tokens: int = 40
    batch_size: int = 8
    domain: str = "items"  # "movies", "books": says what the history holds

    def task(self, dataset: str) -> str:
        return f"interests:{dataset}"


@dataclass
class InferReport:
    valid_split: ValidSplitReport | None = None
    users: int = 0
    empty_histories: int = 0
    run: RunReport = field(default_factory=RunReport)
    unparseable: int = 0  # answers with no phrase in them (stored, but give no interest)


def shown_title(item: int, title: str | None) -> str:
    """How an item appears in a prompt; an answer that repeats it names no interest."""
    return title or f"item {item}"


def interest_prompt(history: History, config: InferConfig) -> ChatRequest:
    """One user's prompt: the history's titles (most recent first), then the instruction."""
    titles = [shown_title(item, title) for item, title in history[:config.max_items]]
    listing = "\n".join(f"- {title}" for title in titles)
    text = f"A person enjoyed these {config.domain}:\n{listing}\n\n{INSTRUCTION}"
    params = GenerationParams(max_new_tokens=config.max_new_tokens, temperature=0.0)
    return ChatRequest.user(text, params, system=SYSTEM_PROMPT)


def _prompt_items(histories: dict[int, History], config: InferConfig, task: str) -> Iterator[PromptItem]:
    for user, history in histories.items():
        if history:
            yield f"user:{user}", task, interest_prompt(history, config)


def infer_interests(store: GraphStore, dataset: str, backend: ChatBackend, config: InferConfig | None = None, *,
                    limit: int | None = None, dry_run: bool = False, progress: Progress = None,
                    shard: Shard | None = None) -> InferReport:
    """Prompt the LLM for every user with a train history; answers are cached and linked to users."""
    config = config or InferConfig()
    task = config.task(dataset)
    # the validation split must be fixed before any prompt sees "train", or training would later
    # carve validation items out of interactions the interests already saw
    valid = store_valid_split(store, dataset)
    histories = train_histories(store, dataset, config.max_items)
    report = InferReport(valid_split=valid, users=len(histories),
                         empty_histories=sum(1 for h in histories.values() if not h))
    report.run = run_prompts(store, backend, _prompt_items(histories, config, task), limit=limit,
                             dry_run=dry_run, batch_size=config.batch_size, progress=progress, shard=shard)
    if dry_run:
        return report
    rows = []
    for user, history in histories.items():
        if not history:
            continue
        key = request_key(backend.model_id, interest_prompt(history, config))
        response = report.run.responses.get(key)
        if response is not None:
            shown = history[:config.max_items]
            rows.append([user, key, [item for item, _ in shown], [shown_title(i, t) for i, t in shown]])
            report.unparseable += not parse_interests(response.text, [shown_title(i, t) for i, t in history])
    if _linked(store, dataset):     # on kgrec's KgrecPrompt nodes: no edge to the owner's user nodes
        apply_schema(store)
    write_in_batches(store, _query(store, dataset, "record_prompted"), rows, batch_size=1_000, dataset=dataset,
                     task=task)
    return report


def _linked(store: GraphStore, dataset: str) -> bool:
    return bool(dataset_info(store, dataset).get("linked"))


def _query(store: GraphStore, dataset: str, name: str) -> str:
    """The query ``knowledge/<name>``, or a linked dataset's counterpart (:mod:`kg_store.linked.prompts`)."""
    linked = {"record_prompted": "linked/record_prompts", "prompted_answers": "linked/prompted_answers"}
    return linked[name] if _linked(store, dataset) else f"knowledge/{name}"


def inferred_phrases(store: GraphStore, dataset: str, task: str | None = None) -> dict[int, list[str]]:
    """``{user: phrases}`` parsed from the stored answers (users whose answer parses to nothing are left out)."""
    task = task or InferConfig().task(dataset)
    phrases: dict[int, list[str]] = {}
    for row in store.read(_query(store, dataset, "prompted_answers"), dataset=dataset, task=task):
        parsed = parse_interests(row["text"], row["titles"])  # a repeated history title is no interest
        if parsed:
            phrases[row["user"]] = parsed
    return phrases


def prompted_item_splits(store: GraphStore, dataset: str, task: str | None = None) -> list[dict]:
    """Every (user, item, split) a prompt of ``task`` showed: the audit that only train items did."""
    task = task or InferConfig().task(dataset)
    if _linked(store, dataset):
        from kg_store.linked.prompts import prompted_item_splits as linked_item_splits

        return linked_item_splits(store, dataset, task)
    return store.read("knowledge/prompted_item_splits", dataset=dataset, task=task)
