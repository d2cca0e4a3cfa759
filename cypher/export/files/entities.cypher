// KG entities of one dataset; embeddings and other computed properties stay in the graph.
MATCH (n:Entity {dataset: $dataset})
RETURN n.id AS id, n {.org_id, .uri, .name} AS props
ORDER BY id
