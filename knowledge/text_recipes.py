"""Named item texts for the CTR and rerank models: ``--text kellmrec`` rather than a vector name.

A recipe names the ``Item`` property a text comes from and the vector name (``text_vec_NAME``) it
is encoded under with the packaged MiniLM; a recipe may also name a ``User`` property (a text that
sees only the CTR profile history) and its own vector name. Training with a recipe encodes the vectors on demand
(cached by text hash, so an unchanged text is never encoded twice); a name that is not a recipe is
read as an existing vector name, as ``kgrec text encode --name`` wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg_store.connection import GraphStore
from knowledge.encoders import PACKAGED_ENCODER
from knowledge.text_features import (
    FACTS,
    WRITERS,
    MissingTextError,
    encode_dataset,
    is_cached,
    read_texts,
    text_sha256,
)


@dataclass(frozen=True)
class TextRecipe:
    prop: str          # the Item property the text comes from
    vectors: str       # the vector name it is encoded under (text_vec_<vectors>)
    what: str
    user_prop: str | None = None       # the User property of the users' text, if the recipe has one
    user_vectors: str | None = None    # its vector name (apart from the items', so no recipe sees another's)


TEXT_RECIPES: dict[str, TextRecipe] = {
    # KELLMRec's text: SmolLM2's item descriptions, grounded in the linked Wikipedia page
    # and the users' LLM descriptions written from their CTR profile histories (paper Eq. 7)
    "kellmrec": TextRecipe("description", "description_minilm",
                           "LLM item descriptions, grounded in the linked Wikipedia page when there is one, and "
                           "LLM user descriptions written from the CTR profile history",
                           user_prop="description_profile", user_vectors="profile_description_minilm"),
    # the same item text, and users as the mean item vector of their profile history (no user LLM text)
    "kellmrec-items": TextRecipe("description", "description_minilm",
                                 "LLM item descriptions, grounded in the linked Wikipedia page when there is one"),
    # the ablation "w/o external knowledge": descriptions written from the title alone
    "ungrounded": TextRecipe("description_ungrounded", "ungrounded_minilm", "title-only LLM item descriptions"),
    # no LLM at all: the item's own title, genres, year and IMDb plot
    "facts": TextRecipe(FACTS, "facts_minilm", "item facts (title, genres, year, IMDb plot), no LLM"),
}


@dataclass
class PreparedText:
    vectors: str            # the vector name to train on
    coverage: float         # share of the dataset's items that have the recipe's text
    encoded: int = 0        # texts encoded now (0 when every vector was up to date)
    user_vectors: str | None = None    # the users' vector name (None: the same as the items')
    user_coverage: float | None = None


def text_coverage(store: GraphStore, dataset: str, recipe: TextRecipe) -> tuple[int, int]:
    """(items with the recipe's text, items)."""
    rows = read_texts(store, dataset, "Item", recipe.prop, name=recipe.vectors)
    return sum(row.text is not None for row in rows), len(rows)


def prepare_text(store: GraphStore, dataset: str, name: str, min_coverage: float = 0.0) -> PreparedText:
    """The vector name to train on for ``name``: a recipe's vectors, encoded now where missing or
    stale, or ``name`` itself when it is not a recipe (then nothing is encoded).

    Raises ``MissingTextError`` naming the command that writes the text when fewer than
    ``min_coverage`` of the items (or none) have it.
    """
    recipe = TEXT_RECIPES.get(name)
    if recipe is None:
        return PreparedText(name, coverage=float("nan"))
    rows = read_texts(store, dataset, "Item", recipe.prop, name=recipe.vectors)
    present = [row for row in rows if row.text is not None]
    coverage = len(present) / max(len(rows), 1)
    if not present or coverage < min_coverage:
        command = WRITERS[recipe.prop].format(kind="item", dataset=dataset)
        raise MissingTextError(
            f"--text {name} reads {recipe.what} ('{recipe.prop}'), but only {len(present):,} of {len(rows):,} "
            f"items of '{dataset}' have it (need {min_coverage:.0%}); write it with `{command}`.")
    prepared = PreparedText(recipe.vectors, coverage, encoded=_encode_stale(store, dataset, "Item", recipe.prop,
                                                                            recipe.vectors, present))
    if recipe.user_prop is None:
        return prepared
    users = read_texts(store, dataset, "User", recipe.user_prop, name=recipe.user_vectors)
    described = [row for row in users if row.text is not None]
    prepared.user_vectors = recipe.user_vectors
    prepared.user_coverage = len(described) / max(len(users), 1)
    prepared.encoded += _encode_stale(store, dataset, "User", recipe.user_prop, recipe.user_vectors, described)
    return prepared


def _encode_stale(store: GraphStore, dataset: str, label: str, prop: str, name: str, present: list) -> int:
    """Encode ``label.prop`` as vectors ``name`` when any present text has no up-to-date vector; how many."""
    if not any(not is_cached(row, text_sha256(row.text), PACKAGED_ENCODER) for row in present):
        return 0
    return encode_dataset(store, dataset, label, prop, name=name, progress=False).encoded
