"""The LLM response cache on a real Neo4j: no prompt is sent twice, not even after a failed run.

Each test uses its own task and model id and deletes its responses afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import FakeChatServer, http_backend

from kg_store.connection import GraphStore
from kg_store.errors import BadInputError, ConfigError, LLMUnavailableError
from knowledge.llm.base import ChatRequest
from knowledge.llm.cache import delete_task, export_jsonl, import_jsonl, iter_responses, request_key, stats
from knowledge.llm.runner import Shard, run_prompts


@pytest.fixture()
def task(store: GraphStore) -> Iterator[str]:
    name = f"test_llm_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        delete_task(store, name)


def items(task: str, count: int, tag: str) -> list[tuple[str, str, ChatRequest]]:
    return [(f"user:{i}", task, ChatRequest.user(f"{tag} prompt {i}")) for i in range(count)]


def split_items(task: str, count: int, model_id: str) -> list[tuple[str, str, ChatRequest]]:
    """``count`` prompts of which both halves of ``Shard(_, 2)`` own some (keys are hashes)."""
    for attempt in range(64):
        prompts = items(task, count, f"{task}-{attempt}")
        owners = {Shard(0, 2).owns(request_key(model_id, prompt[2])) for prompt in prompts}
        if owners == {True, False}:
            return prompts
    raise AssertionError("no prompt set splits across two shards")


def test_a_second_run_sends_nothing(store: GraphStore, task: str) -> None:
    prompts = items(task, 5, task) + items(task, 2, task)  # two duplicates
    with FakeChatServer() as server:
        backend = http_backend(server, model=f"model-{task}")
        first = run_prompts(store, backend, prompts, batch_size=2, progress=False)
        second = run_prompts(store, backend, prompts, batch_size=2, progress=False)
    assert (first.prompts, first.sent, first.cached) == (5, 5, 0)
    assert (second.sent, second.cached) == (0, 5) and len(server.log) == 5
    assert first.completion_tokens == 35 and first.tokens_per_second > 0
    assert {r.text for r in second.responses.values()} == {f"echo: {task} prompt {i}" for i in range(5)}


def test_dry_run_and_limit(store: GraphStore, task: str) -> None:
    with FakeChatServer() as server:
        backend = http_backend(server, model=f"model-{task}")
        dry = run_prompts(store, backend, items(task, 4, task), dry_run=True, progress=False)
        assert dry.would_send == 4 and len(dry.pending) == 4 and dry.sent == 0 and not server.log
        limited = run_prompts(store, backend, items(task, 4, task), limit=3, progress=False)
        rest = run_prompts(store, backend, items(task, 4, task), dry_run=True, progress=False)
    assert limited.sent == 3 and len(server.log) == 3
    assert (rest.cached, rest.would_send) == (3, 1)


def test_a_failed_run_restarted_sends_no_prompt_twice(store: GraphStore, task: str) -> None:
    prompts = items(task, 7, task)
    with FakeChatServer(fail_after=4) as server:  # 500 forever after 4 answers: batch 3 fails
        backend = http_backend(server, model=f"model-{task}", max_attempts=2, max_concurrency=2)
        with pytest.raises(LLMUnavailableError):
            run_prompts(store, backend, prompts, batch_size=2, progress=False)
        failed_requests = len(server.log)
        server.fail_after = None  # the endpoint recovers
        report = run_prompts(store, backend, prompts, batch_size=2, progress=False)
    assert (report.cached, report.sent) == (4, 3)
    assert failed_requests == 4 + 2 * 2  # 4 answers, then the 2 prompts of batch 3, each tried twice
    assert len(server.log) == 7 + 2 * 2  # distinct prompts + the failed attempts
    assert max(Counter(server.answered()).values()) == 1  # no answered prompt was sent again


def test_shards_split_one_job_without_overlap(store: GraphStore, task: str) -> None:
    with FakeChatServer() as server:
        backend = http_backend(server, model=f"model-{task}")
        prompts = split_items(task, 12, backend.model_id)
        first = run_prompts(store, backend, prompts, batch_size=3, progress=False, shard=Shard(0, 2))
        planned = run_prompts(store, backend, prompts, dry_run=True, progress=False, shard=Shard(1, 2))
        second = run_prompts(store, backend, prompts, batch_size=3, progress=False, shard=Shard(1, 2))
        again = run_prompts(store, backend, prompts, progress=False)
    assert 0 < first.sent < 12 and planned.would_send == 12 - first.sent  # the parts split the job
    assert second.sent == 12 - first.sent and second.cached == first.sent  # it sees part 0's answers
    assert again.sent == 0 and len(again.responses) == 12
    assert sorted(server.answered()) == sorted(prompt[2].messages[-1]["content"] for prompt in prompts)  # once each


def test_a_shard_reports_the_answers_other_shards_wrote_while_it_ran(store: GraphStore, task: str) -> None:
    with FakeChatServer() as server:
        backend = http_backend(server, model=f"model-{task}")
        prompts = split_items(task, 10, backend.model_id)
        complete = backend.complete
        other: list = []

        def complete_while_part_1_runs(requests):  # part 1 runs to the end during part 0's first batch
            if not other:
                other.append(run_prompts(store, http_backend(server, model=f"model-{task}"), prompts,
                                         progress=False, shard=Shard(1, 2)))
            return complete(requests)

        backend.complete = complete_while_part_1_runs
        part_0 = run_prompts(store, backend, prompts, batch_size=2, progress=False, shard=Shard(0, 2))
    assert other[0].sent > 0 and part_0.sent + other[0].sent == 10
    assert len(part_0.responses) == 10   # what a writer reads after a sharded run: every answer so far


@pytest.mark.parametrize("text", ["2/2", "1", "a/2", "0/0", "-1/2"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="K/N"):
        Shard.parse(text)


def test_jsonl_round_trip_into_a_cleaned_store(store: GraphStore, task: str, tmp_path: Path) -> None:
    with FakeChatServer() as server:
        run_prompts(store, http_backend(server, model=f"model-{task}"), items(task, 3, task), progress=False)
    before = {r.key: r for r in iter_responses(store, task)}
    path = tmp_path / "responses.jsonl"
    assert export_jsonl(store, path, task=task) == 3
    assert delete_task(store, task) == 3 and not list(iter_responses(store, task))
    assert import_jsonl(store, path) == (3, 3)
    assert import_jsonl(store, path) == (3, 0)  # idempotent
    assert {r.key: r for r in iter_responses(store, task)} == before
    row = next(r for r in stats(store) if r["task"] == task)
    assert row["responses"] == 3 and row["completion_tokens"] == 21


def test_a_malformed_line_writes_nothing(store: GraphStore, task: str, tmp_path: Path) -> None:
    with FakeChatServer() as server:
        run_prompts(store, http_backend(server, model=f"model-{task}"), items(task, 2, task), progress=False)
    path = tmp_path / "responses.jsonl"
    export_jsonl(store, path, task=task)
    delete_task(store, task)
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1]) | {"prompt_tokens": "many"}
    path.write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(BadInputError, match=r"responses\.jsonl, line 2.*prompt_tokens"):
        import_jsonl(store, path)
    path.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(BadInputError, match="line 2"):
        import_jsonl(store, path)
    assert not list(iter_responses(store, task))


def test_cli_try_stats_export_import(store: GraphStore, task: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import click
    from click.testing import CliRunner

    from kgrec.cli import CliState
    from kgrec.cli.llm import llm

    main = click.Group(context_settings={"obj": CliState.with_store(store)})
    main.add_command(llm)
    runner = CliRunner()
    with FakeChatServer() as server:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("KGREC_LLM_MODEL", f"model-{task}")
        args = ["llm", "try", "hello there", "--backend", "openai", "--max-new-tokens", "8", "--task", task]
        first = runner.invoke(main, args)
        again = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("echo: hello there") and "from the cache" in again.stderr
    assert len(server.log) == 1
    assert task in runner.invoke(main, ["llm", "cache", "stats"]).stdout
    path = tmp_path / "out.jsonl"
    assert "Exported 1 responses" in runner.invoke(main, ["llm", "cache", "export", str(path), "--task", task]).stdout
    delete_task(store, task)
    assert "1 responses, 1 new" in runner.invoke(main, ["llm", "cache", "import", str(path)]).stdout
