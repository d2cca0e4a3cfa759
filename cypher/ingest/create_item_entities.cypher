// rows: [[item, entity], ...]; first load into a new dataset: no existing link to look for.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row[0]})
USING INDEX i:Item(dataset, id)
MATCH (e:Entity {dataset: $dataset, id: row[1]})
USING INDEX e:Entity(dataset, id)
CREATE (i)-[:LINKED_TO]->(e)
