// rows: [[item, entity], ...] as elementIds (handles/items.cypher, handles/entities.cypher); first load
// into a new dataset: no existing link to look for.
UNWIND $rows AS row
MATCH (i:Item) WHERE elementId(i) = row[0] AND i.dataset = $dataset
MATCH (e:Entity) WHERE elementId(e) = row[1] AND e.dataset = $dataset
CREATE (i)-[:LINKED_TO]->(e)
