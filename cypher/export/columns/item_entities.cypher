// Item-entity links of the items with ids in [$lo, $hi], as parallel lists.
MATCH (i:Item {dataset: $dataset})
WHERE i.id >= $lo AND i.id <= $hi
MATCH (i)-[:LINKED_TO]->(e:Entity)
RETURN collect(i.id) AS item, collect(e.id) AS entity
