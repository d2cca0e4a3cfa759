"""Cypher files: trained models' user and item embeddings kept on the nodes."""
