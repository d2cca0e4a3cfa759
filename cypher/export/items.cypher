MATCH (n:Item {dataset: $dataset})
RETURN n.id AS id
