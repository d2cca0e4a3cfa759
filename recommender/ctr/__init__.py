"""CTR prediction and reranking (KELLMRec): data from Neo4j, text features, models, knowledge contrast."""
