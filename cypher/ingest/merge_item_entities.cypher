// rows: [[item, entity], ...] as elementIds (handles/items.cypher, handles/entities.cypher); ties an
// item to its KG entity.
// The label is tested through labels(), not in the pattern, so that the planner has no index to
// prefer over the elementId seek: on a fresh server, stale index statistics made it scan an index
// once per row (34,391 item-entity links took 229 s).
UNWIND $rows AS row
MATCH (i) WHERE elementId(i) = row[0] AND 'Item' IN labels(i) AND i.dataset = $dataset
MATCH (e) WHERE elementId(e) = row[1] AND 'Entity' IN labels(e) AND e.dataset = $dataset
MERGE (i)-[:LINKED_TO]->(e)
