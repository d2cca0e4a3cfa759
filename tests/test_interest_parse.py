"""LLM answers in the shapes small models really produce, parsed into interest phrases."""

from __future__ import annotations

import pytest

from knowledge.interests.parse import ParseOptions, normalize_phrase, parse_interests

CASES = [
    ("numbered", "1. Science fiction\n2. Space exploration\n3. Time travel.",
     ["science fiction", "space exploration", "time travel"]),
    ("numbered with prose around",
     "Here are some interests of this user:\n\n1. Science Fiction\n2) Romance novels\n3. Cooking\n\n"
     "I hope this helps! Let me know if you need more.",
     ["science fiction", "romance novels", "cooking"]),
    ("bullets", "- Epic fantasy\n* Dragons\n• Medieval history\n+ Magic systems",
     ["epic fantasy", "dragons", "medieval history", "magic systems"]),
    ("bold heads with descriptions",
     "1. **Space opera**: The user enjoys sprawling galactic stories.\n"
     "2. **Military sci-fi** - battles among the stars\n3. **First contact** – meeting aliens",
     ["space opera", "military sci-fi", "first contact"]),
    ("comma line", "science fiction, fantasy, horror, thrillers",
     ["science fiction", "fantasy", "horror", "thrillers"]),
    ("semicolons and trailing period", "Cooking; baking; Italian cuisine.", ["cooking", "baking", "italian cuisine"]),
    ("prose lead-in on the same line", "Here are some interests: sci-fi, romance, cooking.",
     ["sci-fi", "romance", "cooking"]),
    ("json array", '["Football", "Premier League", "Sports history"]',
     ["football", "premier league", "sports history"]),
    ("json object in a fence", 'Sure!\n```json\n{"interests": ["World War II", "Biographies"]}\n```',
     ["world war ii", "biographies"]),
    ("quoted items", '"Cooking", \'Baking\', “Food science”', ["cooking", "baking", "food science"]),
    ("inline numbering", "The user likes: 1. Jazz 2. Blues 3. Soul music", ["jazz", "blues", "soul music"]),
    ("parenthetical notes", "- Cooking (especially Italian)\n- Wine [French]", ["cooking", "wine"]),
    ("duplicates", "1. Romance\n2. romance\n3. ROMANCE.\n4. Love stories", ["romance", "love stories"]),
]


@pytest.mark.parametrize(("answer", "expected"), [(a, e) for _, a, e in CASES], ids=[n for n, _, _ in CASES])
def test_answers_parse_into_phrases(answer: str, expected: list[str]) -> None:
    assert parse_interests(answer) == expected


def test_smollm2_rambling_keeps_only_the_list() -> None:
    answer = (
        "Based on the user's watching history, which includes movies like Star Wars and Alien, it seems that "
        "the user has a strong interest in science fiction films. The user also appears to enjoy action.\n\n"
        "Interests:\n1. Science fiction films\n2. Action movies\n3. Space adventures\n"
        "4. Science fiction films\n5. Action movies\n\nThe user also seems to enjoy movies with strong female "
        "leads and complex plots, and they might be interested in exploring more movies of this kind.")
    assert parse_interests(answer) == ["science fiction films", "action movies", "space adventures"]


def test_smollm2_prose_only_answer_gives_short_parts_only() -> None:
    answer = ("The user seems to really enjoy reading books about history and wars, and they would probably "
              "like more books like these in the future because they are interesting.")
    assert parse_interests(answer) == []


def test_titles_from_the_history_are_dropped() -> None:
    answer = "1. The Hobbit\n2. Fantasy adventures\n3. Dune.\n4. Desert planets"
    assert parse_interests(answer, titles=["The Hobbit", "Dune", None]) == ["fantasy adventures", "desert planets"]


def test_length_limits_are_options() -> None:
    answer = "- AI\n- Art\n- very long interest phrase with far too many words in it\n- Jazz"
    assert parse_interests(answer) == ["art", "jazz"]
    assert parse_interests(answer, options=ParseOptions(min_chars=2)) == ["ai", "art", "jazz"]
    assert parse_interests(answer, options=ParseOptions(max_words=12, max_phrases=2))[1].startswith("very long")


@pytest.mark.parametrize("answer", ["", "   ", None, "I'm sorry, I can't help with that.", "{}", "[]", "...", "1.\n2."])
def test_nothing_parseable_is_empty(answer: str | None) -> None:
    assert parse_interests(answer) == []


def test_broken_json_falls_back_to_text() -> None:
    assert parse_interests('["Cooking", "Baking",') == ["cooking", "baking"]


def test_normalize_phrase() -> None:
    assert normalize_phrase('  **"Sci-Fi   Novels."**  ') == "sci-fi novels"
    assert normalize_phrase("and board games") == "board games"


def test_smollm2_sentence_with_a_lead_in_gives_the_genres() -> None:
    answer = "This person enjoys a mix of action, drama, horror, and comedy. They enjoy a mix of genres and themes."
    assert parse_interests(answer) == ["action", "drama", "horror", "comedy"]


def test_repeated_history_titles_and_cut_off_fragments_are_dropped() -> None:
    titles = ["Star Wars (1977)", "Godfather, The (1972)"]
    assert parse_interests("1. Star Wars\n2. Godfather, The\n3. The (199\n4. space opera", titles) == ["space opera"]
    assert parse_interests("1. The Godfather\n2. the (1976)", titles) == []


def test_dangling_connectives_are_trimmed() -> None:
    assert parse_interests("including horror, science fiction and, family dramas)") == [
        "horror", "science fiction", "family dramas"]
