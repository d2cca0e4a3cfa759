// Interest ids of one set of one dataset.
MATCH (n:Interest {dataset: $dataset, set: $interest_set})
RETURN n.id AS id
