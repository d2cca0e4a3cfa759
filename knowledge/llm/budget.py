"""Fit a prompt into the model's context by cutting what matters least.

A prompt that is longer than the context either fails (HTTP 400) or is cut blindly by the model
(losing the instruction at the end). Prompts here are built from parts — an instruction, a history
list, page text — so the cut goes to the lowest-priority, longest part first, and the number of
tokens cut is reported with the answer (``Completion.truncated_tokens``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kg_store.errors import LLMError

CountTokens = Callable[[str], int]

TRUNCATION_MARK = " …"


@dataclass(frozen=True)
class PromptPart:
    """A piece of a prompt; higher ``priority`` is cut later, ``cuttable=False`` never."""

    text: str
    priority: int = 0
    cuttable: bool = True


def estimate_tokens(text: str) -> int:
    """About four characters per token: the usual rule for English when no tokenizer is at hand."""
    return (len(text) + 3) // 4


def fit_to_budget(parts: Sequence[PromptPart | str], count_tokens: CountTokens,
                  max_prompt_tokens: int) -> tuple[list[str], int]:
    """The parts' texts cut until their token sum is at most ``max_prompt_tokens``; and tokens cut.

    Cuts the cuttable part with the lowest priority (the longest among equals) down to what the
    budget allows, then the next, keeping the start of each text (lists are written most relevant
    first). Raises LLMError when the uncuttable parts alone exceed the budget.
    """
    items = [part if isinstance(part, PromptPart) else PromptPart(part) for part in parts]
    texts = [item.text for item in items]
    counts = [count_tokens(text) for text in texts]
    original = sum(counts)
    order = sorted((i for i, item in enumerate(items) if item.cuttable),
                   key=lambda i: (items[i].priority, -counts[i]))
    for i in order:
        excess = sum(counts) - max_prompt_tokens
        if excess <= 0:
            break
        texts[i] = _cut_to(texts[i], max(0, counts[i] - excess), count_tokens)
        counts[i] = count_tokens(texts[i])
    if sum(counts) > max_prompt_tokens:
        raise LLMError(f"The prompt needs {sum(counts)} tokens even after cutting; the budget is {max_prompt_tokens}.")
    return texts, original - sum(counts)


def _cut_to(text: str, tokens: int, count_tokens: CountTokens) -> str:
    """The longest prefix of ``text`` (cut at a space, marked) that counts at most ``tokens``."""
    if tokens <= 0:
        return ""
    low, high = 0, len(text)
    while low < high:  # binary search on characters: O(log n) tokenizer calls
        middle = (low + high + 1) // 2
        if count_tokens(_prefix(text, middle)) <= tokens:
            low = middle
        else:
            high = middle - 1
    return _prefix(text, low) if low else ""


def _prefix(text: str, length: int) -> str:
    if length >= len(text):
        return text
    head = text[:length]
    space = head.rfind(" ")
    return (head[:space] if space > length // 2 else head).rstrip() + TRUNCATION_MARK


def fit_messages(messages: Sequence[dict[str, str]], count_tokens: CountTokens, max_prompt_tokens: int,
                 overhead_tokens: int = 0) -> tuple[list[dict[str, str]], int]:
    """Messages cut to fit; the system message and the last message are kept longest.

    ``overhead_tokens`` is what the chat template adds around the contents (role markers).
    Earlier turns (history) are cut first, then the last message, then the system message.
    """
    last = len(messages) - 1
    parts = [PromptPart(m["content"], priority=2 if m["role"] == "system" else 1 if i == last else 0)
             for i, m in enumerate(messages)]
    texts, cut = fit_to_budget(parts, count_tokens, max_prompt_tokens - overhead_tokens)
    return [{"role": m["role"], "content": text} for m, text in zip(messages, texts, strict=True)], cut
