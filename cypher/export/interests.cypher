MATCH (n:Interest {dataset: $dataset})
RETURN n.id AS id
