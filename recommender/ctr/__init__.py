"""CTR prediction (KELLMRec): the CTR backbones and their trainer, on ``recommender.features``."""
