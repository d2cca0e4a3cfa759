"""Recommendation models trained on graphs exported from the store (CIKGRec, baselines).

``recommender`` never talks to Neo4j: it receives tensors from ``kg_store`` exporters.
"""
