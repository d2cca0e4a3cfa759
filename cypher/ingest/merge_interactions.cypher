// rows: [[user, item, split, rating, ts], ...]; one edge per (user, item) pair.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (i:Item {dataset: $dataset, id: row[1]})
USING INDEX i:Item(dataset, id)
MERGE (u)-[e:INTERACTED]->(i)
SET e.split = row[2], e.rating = row[3], e.ts = row[4]
