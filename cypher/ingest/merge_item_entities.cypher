// rows: [[item, entity], ...]; ties an item to its KG entity.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row[0]})
USING INDEX i:Item(dataset, id)
MATCH (e:Entity {dataset: $dataset, id: row[1]})
USING INDEX e:Entity(dataset, id)
MERGE (i)-[:LINKED_TO]->(e)
