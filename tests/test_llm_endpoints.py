"""Several OpenAI-compatible servers behind one backend, without a database: balancing within each
server's limit, fail-over, unhealthy marking and probing, the no-healthy-server error, and one
request per prompt however many callers ask at once. The servers are local test servers, some
failing on purpose (HTTP 500, or a port nothing listens on)."""

from __future__ import annotations

import threading
import time

import pytest
from chat_server import FakeChatServer, http_backend, refused_url

from kg_store.errors import ConfigError, LLMUnavailableError
from kgrec.llm_api import llm_backend
from knowledge.llm.base import ChatRequest, create_backend
from knowledge.llm.openai_http import OpenAIChatBackend, OpenAIConfig
from knowledge.llm.pool import EndpointPool, NoHealthyEndpointError, Outcome


def pooled(urls: list[str], **overrides: object) -> OpenAIChatBackend:
    options = {"model": "fake-model", "max_attempts": 4, "backoff_base": 0.01, "connect_timeout": 2.0,
               "read_timeout": 5.0, **overrides}
    return OpenAIChatBackend(endpoints=tuple(urls), **options)


def requests_for(prompts: list[str]) -> list[ChatRequest]:
    return [ChatRequest.user(prompt) for prompt in prompts]


def test_requests_are_spread_over_the_servers_within_each_limit() -> None:
    prompts = [f"spread {i}" for i in range(24)]
    with FakeChatServer(delay=0.05) as a, FakeChatServer(delay=0.05) as b, FakeChatServer(delay=0.05) as c:
        backend = pooled([a.base_url, b.base_url, c.base_url], max_concurrency=2)
        completions = backend.complete(requests_for(prompts))
    assert [done.text for done in completions] == [f"echo: {p}" for p in prompts]
    assert sorted(a.answered() + b.answered() + c.answered()) == sorted(prompts)  # each prompt sent once
    assert all(len(server.answered()) >= 4 for server in (a, b, c)), [len(s.answered()) for s in (a, b, c)]
    assert max(server.max_in_flight for server in (a, b, c)) == 2  # the per-server limit holds, and is used


def test_the_server_with_fewest_requests_in_flight_gets_the_next() -> None:
    with FakeChatServer(delay=0.2) as a, FakeChatServer(delay=0.2) as b:
        backend = pooled([a.base_url, b.base_url], max_concurrency=4)
        backend.complete(requests_for([f"least {i}" for i in range(4)]))  # room for all four on either server
        assert (len(a.answered()), len(b.answered()), a.max_in_flight, b.max_in_flight) == (2, 2, 2, 2)
        for i in range(4):  # one at a time: nothing in flight, so the one sent least
            backend.complete(requests_for([f"one by one {i}"]))
    assert (len(a.answered()), len(b.answered())) == (4, 4)


def test_a_slow_server_gets_fewer_requests() -> None:
    prompts = [f"slow {i}" for i in range(20)]
    with FakeChatServer(delay=0.4) as slow, FakeChatServer(delay=0.01) as fast:
        pooled([slow.base_url, fast.base_url], max_concurrency=2).complete(requests_for(prompts))
    assert len(fast.answered()) > len(slow.answered()) > 0


def test_a_failing_server_is_skipped_and_marked_unhealthy() -> None:
    prompts = [f"fail-over {i}" for i in range(30)]
    with FakeChatServer() as good, FakeChatServer(delay=0.01) as other, FakeChatServer(fail_after=0) as broken:
        down = refused_url()
        backend = pooled([broken.base_url, good.base_url, down, other.base_url], max_concurrency=2,
                         unhealthy_after=2, unhealthy_seconds=60)
        completions = backend.complete(requests_for(prompts))
    assert [done.text for done in completions] == [f"echo: {p}" for p in prompts]
    assert sorted(good.answered() + other.answered()) == sorted(prompts)
    assert 2 <= len(broken.log) <= 3  # two failures in a row mark it (one more may already be in flight)
    state = {row["url"]: row for row in backend.pool.snapshot()}
    assert not state[broken.base_url]["healthy"] and not state[down]["healthy"]
    assert state[broken.base_url]["last_error"] == "HTTP 500" and state[down]["last_error"] == "ConnectionError"
    assert state[good.base_url]["healthy"] and state[good.base_url]["answered"] == len(good.answered())


def test_an_unhealthy_server_is_probed_after_its_back_off_and_returns() -> None:
    with FakeChatServer() as good, FakeChatServer(fail_after=0) as flaky:
        backend = pooled([flaky.base_url, good.base_url], max_concurrency=1, unhealthy_after=1,
                         unhealthy_seconds=0.3)
        backend.complete(requests_for([f"before {i}" for i in range(4)]))
        assert [row["healthy"] for row in backend.pool.snapshot()] == [False, True] and len(flaky.log) == 1
        flaky.fail_after = None  # it recovers; nothing is sent to it until its back-off ends
        backend.complete(requests_for(["during"]))
        assert len(flaky.log) == 1
        time.sleep(0.35)
        backend.complete(requests_for([f"after {i}" for i in range(6)]))
    assert backend.pool.snapshot()[0]["healthy"] and flaky.answered()  # the probe answered: it is back


def test_the_pool_doubles_the_back_off_of_a_failed_probe() -> None:
    now = [0.0]
    pool = EndpointPool(["http://a/v1", "http://b/v1"], 2, unhealthy_after=2, backoff_seconds=10,
                        backoff_max_seconds=25, clock=lambda: now[0])
    a, b = pool.endpoints
    for _ in range(2):
        pool.release(pool.acquire(avoid={"http://b/v1"}), Outcome.FAILED, "HTTP 503")
    assert pool.acquire() is b and not pool.has_alternative({"http://b/v1"})  # a rests for 10 s
    pool.release(b, Outcome.OK)
    now[0] = 10.0
    probe = pool.acquire(avoid={"http://b/v1"})
    assert probe is a and a.probing and pool.acquire(avoid={"http://b/v1"}) is b  # one probe at a time
    pool.release(probe, Outcome.FAILED, "HTTP 503")
    assert a.unhealthy_until == 30.0  # marked again: 20 s
    for _ in range(2):
        now[0] = a.unhealthy_until
        pool.release(pool.acquire(avoid={"http://b/v1"}), Outcome.FAILED, "HTTP 503")
    assert a.unhealthy_until - now[0] == 25  # capped
    now[0] = a.unhealthy_until
    pool.release(pool.acquire(avoid={"http://b/v1"}), Outcome.OK)
    assert (a.marks, a.failures) == (0, 0)
    pool.release(b, Outcome.FAILED, "x")
    pool.release(pool.acquire(avoid={"http://a/v1"}), Outcome.NEUTRAL)  # a 429 is no failure...
    assert b.failures == 1  # ...and does not reset the count either


def test_no_healthy_server_is_one_clear_error_without_waiting() -> None:
    with FakeChatServer(fail_after=0) as broken:
        down = refused_url()
        backend = pooled([broken.base_url, down], unhealthy_after=1, unhealthy_seconds=60, max_attempts=5,
                         backoff_base=1.0)
        started = time.perf_counter()
        with pytest.raises(NoHealthyEndpointError, match="No LLM endpoint is healthy") as caught:
            backend.complete(requests_for(["nobody answers"]))
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert broken.base_url in message and down in message and "HTTP 500" in message and "next probe in" in message
    assert isinstance(caught.value, LLMUnavailableError) and len(broken.log) == 1


def test_one_server_keeps_the_retries_with_back_off() -> None:
    with FakeChatServer(script=["500", "500", "500", "500"]) as only:
        completion = http_backend(only, max_attempts=5).complete(requests_for(["patience"]))[0]
    assert completion.text == "echo: patience" and [status for _, status in only.log] == [500] * 4 + [200]


def test_identical_prompts_asked_at_once_are_sent_once() -> None:
    with FakeChatServer(delay=0.3) as a, FakeChatServer(delay=0.3) as b:
        backend = pooled([a.base_url, b.base_url])
        answers: list[str] = []
        callers = [threading.Thread(target=lambda: answers.extend(
            done.text for done in backend.complete(requests_for(["same", "same", "other"])))) for _ in range(3)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
    assert sorted(answers) == sorted(["echo: same", "echo: same", "echo: other"] * 3)
    assert sorted(a.answered() + b.answered()) == ["other", "same"]


def test_endpoints_come_from_the_settings_the_environment_or_the_facade(monkeypatch: pytest.MonkeyPatch) -> None:
    config = OpenAIConfig(model="m", endpoints=("http://a:8000/v1/", "http://b:8000/v1", "http://a:8000/v1")).resolved()
    assert config.endpoints == ("http://a:8000/v1", "http://b:8000/v1") and config.base_url == "http://a:8000/v1"
    monkeypatch.setenv("KGREC_LLM_BASE_URL", "http://x/v1, http://y/v1")
    monkeypatch.setenv("KGREC_LLM_MODEL", "env-model")
    assert create_backend("openai").config.endpoints == ("http://x/v1", "http://y/v1")
    chat = llm_backend("openai", endpoints=["http://p/v1", "http://q/v1"])
    assert chat.config.endpoints == ("http://p/v1", "http://q/v1") and len(chat.pool.endpoints) == 2
    with pytest.raises(ConfigError, match="not 'ftp://z'"):
        llm_backend("openai", endpoints=["ftp://z"])
    with pytest.raises(ConfigError, match="not to transformers"):
        llm_backend("transformers", endpoints=["http://p/v1"])
    with pytest.raises(ConfigError, match="one endpoint, got 2"):
        llm_backend("openai-batch", endpoints=["http://p/v1", "http://q/v1"])


def test_every_llm_command_takes_repeated_endpoints() -> None:
    from click.testing import CliRunner

    from kgrec.cli import main
    from kgrec.cli.llm_options import make_backend

    for command in (["enrich", "items"], ["enrich", "users"], ["interests", "infer"], ["llm", "try"]):
        assert "--endpoint URL" in CliRunner().invoke(main, [*command, "--help"]).output, command
    chat = make_backend("openai", "m", ("http://a/v1", "http://b/v1"))
    assert chat.config.endpoints == ("http://a/v1", "http://b/v1") and chat.model_id == "m"
