"""Cypher templates of linked datasets: ``cypher/linked/*.cypher`` with names from the mapping filled in.

Cypher takes no label, relationship type or (pattern) property name as a parameter, so the queries
that read a mapped graph are templates. A placeholder is a backtick-quoted name between double
underscores (`` (u:`__user_label__`) ``), so every template still parses and plans as it stands;
:func:`render` replaces each with a name that passed
:func:`~kg_store.linked.mapping.check_identifier`, quoted in backticks (which an identifier cannot
contain). Values never go into the text: they are parameters.
"""

from __future__ import annotations

import re

from kg_store.cypher_files import load_query
from kg_store.errors import KgrecError
from kg_store.linked.mapping import check_identifier

_PLACEHOLDER = re.compile(r"`__([a-z][a-z0-9_]*?)__`")


def render(template: str, **names: str) -> str:
    """The text of ``cypher/linked/<template>.cypher`` with each placeholder replaced by its quoted name."""
    text = load_query(f"linked/{template}")

    def fill(match: re.Match[str]) -> str:
        placeholder = match.group(1)
        if placeholder not in names:
            raise KgrecError(f"Template linked/{template} needs a name for {placeholder!r}.")
        return f"`{check_identifier(names[placeholder], f'linked/{template}: {placeholder}')}`"

    return _PLACEHOLDER.sub(fill, text)
