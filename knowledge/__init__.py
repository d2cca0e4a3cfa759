"""LLM knowledge for recommenders: Wikipedia grounding, item-page linking, LLM-inferred text."""
