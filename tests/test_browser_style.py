"""The Neo4j Browser style covers every label and relationship type kgrec's Cypher writes or reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STYLE = ROOT / "browser" / "kgrec.grass"


def _names(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "cypher").rglob("*.cypher"):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
        found |= set(re.findall(pattern, text))
    return found


def _styled(kind: str) -> set[str]:
    return set(re.findall(rf"^{kind}\.([A-Za-z_]+) \{{", STYLE.read_text(), flags=re.MULTILINE))


def test_every_label_in_the_cypher_has_a_style_rule() -> None:
    labels = _names(r"\(\w*:([A-Z][A-Za-z]+)")
    assert {"User", "Item", "Entity", "Interest"} <= labels  # the scan itself works
    assert labels <= _styled("node"), f"no style for {sorted(labels - _styled('node'))}"


def test_every_fixed_relationship_type_in_the_cypher_has_a_style_rule() -> None:
    types = _names(r"\[\w*:([A-Z][A-Z_]+)")
    assert {"INTERACTED", "LINKED_TO", "HAS_INTEREST"} <= types
    assert types <= _styled("relationship"), f"no style for {sorted(types - _styled('relationship'))}"


def test_captions_name_properties_the_graph_model_has() -> None:
    captions = dict(re.findall(r"^node\.(\w+) \{[^}]*?caption: \"([^\"]*)\"", STYLE.read_text(), flags=re.MULTILINE | re.S))
    assert captions["Item"] == "{title}" and captions["Interest"] == "{label}" and captions["User"] == "user {id}"
