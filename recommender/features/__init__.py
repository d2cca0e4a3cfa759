"""What CTR models (``recommender.ctr``) and rerankers (``recommender.rerank``) share: the batch
contract, the feature embedding with its text adapter, layers, the knowledge contrast and SWING,
the samples built from graph arrays, the metrics and the training loop.

Both kinds sit above this package and never import each other.
"""
