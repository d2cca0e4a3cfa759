"""Named item texts for the CTR and rerank models: ``--text kellmrec`` rather than a vector name.

A recipe names the ``Item`` property a text comes from and the vector name (``text_vec_NAME``) it
is encoded under with the packaged MiniLM. Training with a recipe encodes the vectors on demand
(cached by text hash, so an unchanged text is never encoded twice); a name that is not a recipe is
read as an existing vector name, as ``kgrec text encode --name`` wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg_store.connection import GraphStore
from knowledge.text_features import (
    FACTS,
    PACKAGED_ENCODER,
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


TEXT_RECIPES: dict[str, TextRecipe] = {
    # KELLMRec's text: SmolLM2's item descriptions, grounded in the linked Wikipedia page
    "kellmrec": TextRecipe("description", "description_minilm",
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
    stale = [row for row in present if not is_cached(row, text_sha256(row.text), PACKAGED_ENCODER)]
    if not stale:
        return PreparedText(recipe.vectors, coverage)
    report = encode_dataset(store, dataset, "Item", recipe.prop, name=recipe.vectors, progress=False)
    return PreparedText(recipe.vectors, coverage, encoded=report.encoded)
