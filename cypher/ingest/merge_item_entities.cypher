// rows: [[item, entity], ...] as elementIds (handles/items.cypher, handles/entities.cypher); ties an
// item to its KG entity.
UNWIND $rows AS row
MATCH (i:Item) WHERE elementId(i) = row[0] AND i.dataset = $dataset
MATCH (e:Entity) WHERE elementId(e) = row[1] AND e.dataset = $dataset
MERGE (i)-[:LINKED_TO]->(e)
