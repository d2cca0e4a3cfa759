"""The histories a user description may be written from, by name (``kgrec enrich users --history``).

Kept apart from :mod:`knowledge.descriptions` so that the CLI can offer the names without importing
the LLM machinery at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserHistory:
    """Which history a user description is written from, and where it is stored."""

    facts_query: str
    task: str                       # the prompt cache's task prefix
    write_query: str
    prop: str                       # the User property written
    when_empty: str | None = None   # why no user has this history, and the fix ({dataset} is filled in)


USER_HISTORIES = {
    # the ranking split's train history (CIKGRec's view of a user); may hold KELLMRec's CTR targets
    "train": UserHistory("knowledge/user_facts", "describe-users", "knowledge/set_user_descriptions", "description"),
    # KELLMRec's CTR profile history only: nothing of a user's CTR targets can reach its description,
    # so CTR models may read it (the leakage rule)
    "ctr-profile": UserHistory(
        "knowledge/user_profile_facts", "describe-users-profile", "knowledge/set_user_profile_descriptions",
        "description_profile",
        when_empty="No user of '{dataset}' has a CTR profile history; draw the CTR split first (any `kgrec train "
                   "ctr --dataset {dataset} ...` does, or kgrec.ctr_training.prepare_ctr_split)."),
}
