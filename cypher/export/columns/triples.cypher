// KG triples whose head entity id is in [$lo, $hi], as parallel lists (one record per chunk).
MATCH (h:Entity {dataset: $dataset})
WHERE h.id >= $lo AND h.id <= $hi
MATCH (h)-[r]->(t:Entity)
RETURN collect(h.id) AS head, collect(type(r)) AS relation, collect(t.id) AS tail
