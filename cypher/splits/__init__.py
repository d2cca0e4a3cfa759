"""Cypher files: a stored validation split and the train-only histories."""
