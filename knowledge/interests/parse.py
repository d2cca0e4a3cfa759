"""Turn an LLM's free-text answer into short interest phrases.

Small local models (SmolLM2 and friends) answer in every shape: numbered or bulleted lists,
comma-separated lines, JSON (sometimes fenced, sometimes wrapped in ``{"interests": [...]}``),
all of it wrapped in prose ("Here are some interests:") and often repeating itself. Clustering
needs clean, comparable phrases, so this module tries the structured readings first (JSON, then
list items) and falls back to splitting on commas and semicolons. It never raises on odd input:
an answer with nothing usable gives an empty list, which the caller records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParseOptions:
    """Which phrases count as interests: 1-6 words and 3-60 characters by default."""

    min_words: int = 1
    max_words: int = 6
    min_chars: int = 3
    max_chars: int = 60
    max_phrases: int | None = None   # keep only the first N (None: all)


_FENCE = re.compile(r"```[a-zA-Z]*")
_LIST_MARKER = re.compile(r"^\s*(?:\(?\d{1,2}[.):]|[-*•+·]|\(?[a-z][.)])\s+")
_INLINE_NUMBER = re.compile(r"\s+(?=\(?\d{1,2}[.)]\s+\S)")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_HEAD_SEPARATOR = re.compile(r"\s*(?::|\s[-–—]\s)\s*")
_QUOTES = "\"'`“”‘’«»*_#[]{}"
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]")
# "This person enjoys a mix of action" -> "action": small models wrap the first item in a sentence
_LEAD_IN = re.compile(
    r"^.*?(?:\b(?:enjoys|likes|loves|prefers)|\b(?:they|i|we)\s+(?:enjoy|like|love|prefer))\s+"
    r"(?:(?:a\s+)?(?:mix|variety|range|lot)\s+of\s+|(?:movies?|films?|books?|stories)\s+"
    r"(?:in|of|about|with|that\s+(?:involve|are|feature))\s+|(?:the\s+)?genres?\s+(?:of|like|such\s+as)\s+"
    r"|(?:including|such\s+as)\s+|the\s+)*")
_OPEN_PARENTHESIS = re.compile(r"\s*\(.*$")   # an unclosed "(199" left by a cut-off answer
_FILLER = frozenset({"the", "a", "an", "of", "and", "or", "in", "on", "to", "with", "for", "genres", "themes",
                     "genre", "theme", "movies", "movie", "films", "film", "books", "book", "both"})
_TRAILING_ARTICLE = re.compile(r"^(.*),\s*(the|a|an)$")
_PROSE_STARTS = ("here are", "here is", "based on", "the user", "this user", "these are", "i think", "i would",
                 "i'd", "sure", "certainly", "note", "overall", "in summary", "they ", "he ", "she ", "it seems",
                 "the following", "some of", "user's", "my answer",
                 "i'm", "i am", "sorry", "i can", "unfortunately", "as an ai")
_EMPTY_WORDS = frozenset({"interests", "interest", "none", "n/a", "unknown", "answer", "etc"})


def _json_candidates(text: str) -> list[str] | None:
    """Strings of the first JSON array or object in ``text``, or None when there is none."""
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if start == -1 or end <= start:
            continue
        try:
            value = json.loads(text[start:end + 1])
        except ValueError:
            continue
        found = _strings_of(value)
        if found is not None:
            return found
    return None


def _strings_of(value: Any) -> list[str] | None:
    if isinstance(value, dict):
        lists = [v for k, v in value.items() if isinstance(v, list) and "interest" in str(k).lower()]
        lists = lists or [v for v in value.values() if isinstance(v, list)]
        return _strings_of(lists[0]) if lists else None
    if isinstance(value, list):
        return [item if isinstance(item, str) else str(next(iter(item.values()), "")) if isinstance(item, dict)
                else str(item) for item in value]
    return None


def _list_items(lines: list[str]) -> list[str]:
    """The items of numbered/bulleted lines, each cut to its head ("Sci-fi: stories about..." -> "Sci-fi")."""
    items = []
    for line in lines:
        if _LIST_MARKER.match(line):
            item = _LIST_MARKER.sub("", line, count=1).strip()
            items.append(_HEAD_SEPARATOR.split(item, maxsplit=1)[0] if _HEAD_SEPARATOR.search(item) else item)
    return items


def _split_items(item: str) -> list[str]:
    return re.split(r"[,;]|\s+/\s+|\.\s+(?=[A-Z])", item)  # also between sentences


def _prose_free(line: str) -> str:
    """The part of a line after a prose lead-in ("Here are some interests: a, b" -> "a, b")."""
    if ":" in line:
        head, tail = line.rsplit(":", 1)
        if tail.strip():
            return tail
        return ""  # "Here are the interests:" introduces what follows
    return line


def _candidates(answer: str) -> list[str]:
    text = _FENCE.sub("\n", answer)
    found = _json_candidates(text)
    if found is not None:
        return found
    lines = [line.strip() for line in _INLINE_NUMBER.sub("\n", text).splitlines() if line.strip()]
    items = _list_items(lines)
    if items:
        return [part for item in items for part in _split_items(item)]
    return [part for line in lines for part in _split_items(_prose_free(line))]


def normalize_phrase(text: str) -> str:
    """Lower case, no parenthetical notes, quotes, markdown or trailing punctuation, single spaces."""
    text = _OPEN_PARENTHESIS.sub("", _PARENTHESES.sub(" ", text))
    text = _SPACES.sub(" ", text.strip().strip(_QUOTES).strip()).lower()
    text = _LEAD_IN.sub("", text)
    text = text.rstrip(".!?:,;…").strip().strip(_QUOTES).strip()
    text = re.sub(r"^(?:(?:and|or|also|like|e\.g\.|including|such as|as well as|especially)\s+)+", "", text)
    return re.sub(r"(?:\s+(?:and|or|with|of|the|a|an|on|in))+$|[)\]]+$", "", text).strip()


def _title_key(text: str) -> str:
    """A title without year, article or punctuation: "Godfather, The (1972)" and "the godfather" -> "godfather"."""
    text = _OPEN_PARENTHESIS.sub("", _PARENTHESES.sub(" ", text)).strip().lower()
    text = _TRAILING_ARTICLE.sub(r"\1", text)
    text = re.sub(r"^(?:the|a|an)\s+", "", text)
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", text)).strip()


def _keep(phrase: str, titles: frozenset[str], options: ParseOptions) -> bool:
    words = phrase.split()
    return (options.min_words <= len(words) <= options.max_words
            and options.min_chars <= len(phrase) <= options.max_chars
            and not phrase.startswith(_PROSE_STARTS) and phrase not in _EMPTY_WORDS
            and any(ch.isalpha() for ch in phrase)
            and not set(phrase.split()) <= _FILLER
            and _title_key(phrase) not in titles)


def parse_interests(answer: str | None, titles: Iterable[str | None] = (),
                    options: ParseOptions | None = None) -> list[str]:
    """Interest phrases in ``answer``, in order, de-duplicated; ``[]`` when nothing parses.

    ``titles`` are the items the prompt showed: a phrase that only repeats one of them says
    nothing about the user's taste beyond that item, so it is dropped.
    """
    options = options or ParseOptions()
    if not answer or not answer.strip():
        return []
    title_keys = frozenset(_title_key(title) for title in titles if title)
    phrases: list[str] = []
    for candidate in _candidates(answer):
        phrase = normalize_phrase(candidate)
        if phrase not in phrases and _keep(phrase, title_keys, options):
            phrases.append(phrase)
    return phrases[:options.max_phrases] if options.max_phrases is not None else phrases
