"""The Batch-API backend and several endpoints on a real Neo4j: every prompt is paid for once, a run
killed at any step resumes the same batch, and a batch that expires or partly fails keeps what came
back. The provider is the local test server (files, batches, result files), counting every call.

Each test uses its own task and model id and deletes its responses and batch jobs afterwards.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from chat_server import FakeChatServer, http_backend, refused_url

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError, LLMError, LLMUnavailableError
from knowledge.llm.base import ChatRequest
from knowledge.llm.batch_jobs import delete_jobs, job_summaries, open_jobs
from knowledge.llm.cache import delete_task, iter_responses, request_key
from knowledge.llm.openai_batch import OpenAIBatchBackend
from knowledge.llm.runner import run_prompts


class Killed(BaseException):
    """Stands for a kill: nothing in kgrec catches it."""


@pytest.fixture()
def task(store: GraphStore) -> Iterator[str]:
    name = f"test_batch_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        delete_task(store, name)
        delete_jobs(store, f"model-{name}")


def items(task: str, count: int, start: int = 0) -> list[tuple[str, str, ChatRequest]]:
    return [(f"user:{i}", task, ChatRequest.user(f"{task} prompt {i}")) for i in range(start, start + count)]


def batch_backend(server: FakeChatServer, task: str, **overrides: object) -> OpenAIBatchBackend:
    options = {"base_url": server.base_url, "model": f"model-{task}", "api_key": "sk-secret", "poll_seconds": 0.01,
               "max_attempts": 3, "backoff_base": 0.01, **overrides}
    return OpenAIBatchBackend(**options)


def input_lines(server: FakeChatServer, file_id: str) -> list[dict]:
    return [json.loads(line) for line in server.files[file_id]["content"].decode().splitlines()]


def test_a_batch_answers_every_prompt_once_and_a_rerun_sends_nothing(store: GraphStore, task: str) -> None:
    prompts = items(task, 5) + items(task, 1)  # one duplicate
    with FakeChatServer(batch_polls=3) as server:
        backend = batch_backend(server, task)
        first = run_prompts(store, backend, prompts, progress=False)
        again = run_prompts(store, batch_backend(server, task), prompts, progress=False)
    assert (first.sent, first.cached, again.sent, again.cached) == (5, 0, 0, 5)
    assert sorted(server.answered()) == sorted(f"{task} prompt {i}" for i in range(5))
    assert server.count("POST /v1/files") == server.count("POST /v1/batches") == 1  # the rerun submitted nothing
    lines = input_lines(server, "file-1")
    assert {line["custom_id"] for line in lines} == {request_key(backend.model_id, r) for _, _, r in prompts}
    assert {(line["method"], line["url"], line["body"]["model"]) for line in lines} == {
        ("POST", "/v1/chat/completions", f"model-{task}")}
    batch = server.batches["batch_1"]
    assert (batch["endpoint"], batch["completion_window"], server.files["file-1"]["purpose"]) == (
        "/v1/chat/completions", "24h", "batch")
    assert {r.text for r in iter_responses(store, task)} == {f"echo: {task} prompt {i}" for i in range(5)}
    assert first.completion_tokens == 35 and first.prompt_tokens > 0
    [job] = job_summaries(store, f"model-{task}")
    assert (job["state"], job["status"], job["batch_id"], job["answered"], job["failed"], job["requests"]) == (
        "done", "completed", "batch_1", 5, 0, 5)


def _kill_after(backend: OpenAIBatchBackend, step: str) -> None:
    """Make ``step`` of the first run end in a kill, after the provider has done its part."""
    api = backend.api
    original = {"upload": api.upload_once, "create": api.create_once, "poll": api.poll, "download": api.content}[step]
    calls = []

    def killed(*args: object) -> object:
        calls.append(original(*args))
        if step != "poll" or len(calls) == 2:
            raise Killed(step)
        return calls[-1]

    setattr(api, {"upload": "upload_once", "create": "create_once", "poll": "poll", "download": "content"}[step], killed)


@pytest.mark.parametrize("step", ["upload", "create", "poll", "download"])
def test_a_run_killed_at_any_step_resumes_the_same_batch(store: GraphStore, task: str, step: str) -> None:
    prompts = items(task, 4)
    with FakeChatServer(batch_polls=3) as server:
        first = batch_backend(server, task)
        _kill_after(first, step)
        with pytest.raises(Killed):
            run_prompts(store, first, prompts, progress=False)
        [job] = open_jobs(store, server.base_url, f"model-{task}")
        report = run_prompts(store, batch_backend(server, task), prompts, progress=False)
    assert report.sent == 4 and not open_jobs(store, server.base_url, f"model-{task}")
    assert server.count("POST /v1/files") == server.count("POST /v1/batches") == 1  # found, not sent again
    assert sorted(server.answered()) == sorted(f"{task} prompt {i}" for i in range(4))  # each paid once
    assert [row["id"] for row in job_summaries(store, f"model-{task}")] == [job.id]


def test_a_partly_failed_batch_keeps_its_answers_and_a_rerun_sends_only_the_rest(store: GraphStore, task: str) -> None:
    prompts = items(task, 6)
    with FakeChatServer(batch_fail={f"{task} prompt 1", f"{task} prompt 4"}) as server:
        with pytest.raises(LLMError, match=r"2 of 6 prompts came back .*HTTP 500: fake failure"):
            run_prompts(store, batch_backend(server, task), prompts, progress=False)
        assert len(list(iter_responses(store, task))) == 4
        server.batch_fail.clear()
        report = run_prompts(store, batch_backend(server, task), prompts, progress=False)
    assert (report.cached, report.sent) == (4, 2)
    assert {line["body"]["messages"][-1]["content"] for line in input_lines(server, "file-4")} == {
        f"{task} prompt 1", f"{task} prompt 4"}  # file-2, file-3: the first batch's output and errors
    assert sorted(server.answered()) == sorted(f"{task} prompt {i}" for i in range(6))
    assert [(j["answered"], j["failed"]) for j in job_summaries(store, f"model-{task}")] == [(4, 2), (2, 0)]


def test_an_expired_batch_keeps_what_came_back(store: GraphStore, task: str) -> None:
    prompts = items(task, 5)
    with FakeChatServer(batch_end="expired", batch_answer_limit=2) as server:
        with pytest.raises(LLMError, match="3 of 5 prompts.*batch_expired"):
            run_prompts(store, batch_backend(server, task), prompts, progress=False)
        server.batch_end = "completed"
        report = run_prompts(store, batch_backend(server, task), prompts, progress=False)
    assert (report.cached, report.sent) == (2, 3)
    assert sorted(server.answered()) == sorted(f"{task} prompt {i}" for i in range(5))
    assert [j["status"] for j in job_summaries(store, f"model-{task}")] == ["expired", "completed"]


def test_a_batch_that_fails_validation_is_sent_again(store: GraphStore, task: str) -> None:
    with FakeChatServer(batch_end="failed") as server:
        with pytest.raises(LLMError, match="3 of 3 prompts.*batch_1 failed: fake validation failure"):
            run_prompts(store, batch_backend(server, task), items(task, 3), progress=False)
        server.batch_end = "completed"
        report = run_prompts(store, batch_backend(server, task), items(task, 3), progress=False)
    assert report.sent == 3 and server.count("POST /v1/batches") == 2


def test_polling_stops_at_max_wait_and_a_rerun_resumes_it(store: GraphStore, task: str) -> None:
    with FakeChatServer(batch_polls=6) as server:
        with pytest.raises(LLMUnavailableError, match="batch_1 in_progress .*run the same command again"):
            run_prompts(store, batch_backend(server, task, max_wait_seconds=0.03, poll_seconds=0.02), items(task, 3),
                        progress=False)
        assert open_jobs(store, server.base_url, f"model-{task}")[0].status == "in_progress"
        report = run_prompts(store, batch_backend(server, task), items(task, 3), progress=False)
    assert report.sent == 3 and server.count("POST /v1/batches") == 1


def test_a_batch_the_provider_no_longer_knows_is_closed_and_sent_again(store: GraphStore, task: str) -> None:
    with FakeChatServer() as server:
        first = batch_backend(server, task)
        _kill_after(first, "poll")
        with pytest.raises(Killed):
            run_prompts(store, first, items(task, 2), progress=False)
        server.batches.clear()  # the provider lost it (another account, a purge)
        with pytest.raises(LLMError, match="2 of 2 prompts.*batch_1 missing"):
            run_prompts(store, batch_backend(server, task), items(task, 2), progress=False)
        report = run_prompts(store, batch_backend(server, task), items(task, 2), progress=False)
    assert report.sent == 2 and [j["status"] for j in job_summaries(store, f"model-{task}")] == ["missing", "completed"]


def test_a_resumed_job_stores_every_answer_it_holds(store: GraphStore, task: str) -> None:
    with FakeChatServer() as server:
        first = batch_backend(server, task)
        _kill_after(first, "create")
        with pytest.raises(Killed):
            run_prompts(store, first, items(task, 4), progress=False)
        later = items(task, 2) + items(task, 1, start=9)  # two of the job's prompts, and a new one
        report = run_prompts(store, batch_backend(server, task), later, progress=False)
    assert report.sent == 3 and server.count("POST /v1/batches") == 2  # the resumed batch, and one for the new prompt
    assert len(list(iter_responses(store, task))) == 5  # prompts 2 and 3 were paid for: they are kept too
    assert sorted(server.answered()) == sorted(f"{task} prompt {i}" for i in (0, 1, 2, 3, 9))


def test_the_batch_backend_is_no_single_call_backend(task: str) -> None:
    with FakeChatServer() as server, pytest.raises(ConfigError, match="through the response cache"):
        batch_backend(server, task).complete([ChatRequest.user("one")])


def test_prompts_asked_by_two_runs_at_once_are_paid_once(store: GraphStore, task: str) -> None:
    prompts = items(task, 12)
    with FakeChatServer(delay=0.05) as a, FakeChatServer(delay=0.05) as b:
        backend = http_backend(a, endpoints=(a.base_url, b.base_url, refused_url()), model=f"model-{task}")
        runs = [threading.Thread(target=run_prompts, args=(store, backend, prompts),
                                 kwargs={"progress": False, "batch_size": 4}) for _ in range(2)]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
    assert sorted(a.answered() + b.answered()) == sorted(f"{task} prompt {i}" for i in range(12))
    assert len(list(iter_responses(store, task))) == 12


def test_cli_takes_several_endpoints(store: GraphStore, task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import click
    from click.testing import CliRunner

    from kgrec.cli import CliState
    from kgrec.cli.llm import llm

    main = click.Group(context_settings={"obj": CliState.with_store(store)})
    main.add_command(llm)
    monkeypatch.setenv("KGREC_LLM_MODEL", f"model-{task}")
    with FakeChatServer() as server:
        down = refused_url()
        args = ["llm", "try", "hello there", "--backend", "openai", "--task", task]
        done = CliRunner().invoke(main, [*args, "--endpoint", down, "--endpoint", server.base_url])
        refused = CliRunner().invoke(main, ["llm", "try", "hello", "--backend", "transformers", "--endpoint", down])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("echo: hello there") and server.answered() == ["hello there"]
    assert refused.exit_code != 0 and "not to transformers" in refused.output
