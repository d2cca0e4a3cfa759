// The item-entity links (LINKED_TO).
MATCH (i:Item {dataset: $dataset})-[:LINKED_TO]->(e:Entity)
RETURN i.id AS item, e.id AS entity
