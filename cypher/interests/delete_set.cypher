// Remove one interest set (its nodes and their HAS_INTEREST edges); other sets are untouched.
MATCH (n:Interest {dataset: $dataset, set: $interest_set})
DETACH DELETE n
