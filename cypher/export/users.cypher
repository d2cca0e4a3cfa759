MATCH (n:User {dataset: $dataset})
RETURN n.id AS id
