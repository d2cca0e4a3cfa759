"""KG quality checks (``kgrec db check``): each check is one file under ``cypher/checks/``.

A check file's header names its severity (``// severity: error|warning|info``) and a one-line
description (``// description: ...``); both are read from the file, so the file is the single
place that documents a check. Every file returns ``count`` and up to ``$examples`` example maps;
``single_member_interests`` returns one row per interest set, each becoming its own result.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError

SEVERITIES = ("error", "warning", "info")
CHECKS = (
    "items_without_entity",
    "shared_entities",
    "item_entity_in_other_kg",
    "orphan_entities",
    "dangling_triples",
    "users_without_train",
    "single_member_interests",
)
_HEADER = re.compile(r"^//\s*(severity|description):\s*(.+?)\s*$", re.MULTILINE)


@dataclass
class CheckResult:
    name: str
    severity: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_header(name: str) -> tuple[str, str]:
    """(severity, description) from the header of ``cypher/checks/<name>.cypher``."""
    header = dict(_HEADER.findall(load_query(f"checks/{name}")))
    severity = header.get("severity", "")
    if severity not in SEVERITIES:
        raise ValueError(f"cypher/checks/{name}.cypher has no valid '// severity:' line.")
    return severity, header.get("description", name)


def run_checks(store: GraphStore, dataset: str, *, examples: int = 5, max_items: int = 1) -> list[CheckResult]:
    """Run every check on one dataset; raises ``UnknownDatasetError`` if it is not in the graph."""
    if dataset_info(store, dataset).get("linked"):
        raise ConfigError(f"Dataset '{dataset}' is linked to a graph of your own: the KG checks read kgrec's own "
                          "nodes, which it does not have; `kgrec ingest neo4j` checks the mapping against the graph "
                          "at every sync.")
    results: list[CheckResult] = []
    for name in CHECKS:
        severity, description = check_header(name)
        params: dict[str, Any] = {"dataset": dataset, "examples": examples}
        if name == "shared_entities":
            params["max_items"] = max_items
        rows = store.read(f"checks/{name}", **params)
        if name == "single_member_interests":
            if not rows:
                results.append(CheckResult(name, severity, 0, [], description))
            for row in rows:
                results.append(CheckResult(f"{name}[{row['set']}]", severity, row["count"],
                                           row["examples"], f"{description} (set '{row['set']}')"))
            continue
        row = rows[0] if rows else {"count": 0, "examples": []}
        results.append(CheckResult(name, severity, row["count"], row["examples"], description))
    return results


def has_errors(results: list[CheckResult]) -> bool:
    return any(r.severity == "error" and r.count > 0 for r in results)
