"""User interests from LLM answers: parsing answers into phrases, clustering phrases into interest sets."""
