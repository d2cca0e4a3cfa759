// rows: [[user, item, split, rating, ts], ...], unique per (user, item); first load into a new dataset.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (i:Item {dataset: $dataset, id: row[1]})
USING INDEX i:Item(dataset, id)
CREATE (u)-[:INTERACTED {split: row[2], rating: row[3], ts: row[4]}]->(i)
