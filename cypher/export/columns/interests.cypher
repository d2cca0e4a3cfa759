// Interest ids of one set of one dataset, as one list.
MATCH (n:Interest {dataset: $dataset, set: $interest_set})
RETURN collect(n.id) AS id
