// KG triples: every relationship between two entities of the dataset, by relationship type.
MATCH (h:Entity {dataset: $dataset})-[r]->(t:Entity)
RETURN h.id AS head, type(r) AS relation, t.id AS tail
