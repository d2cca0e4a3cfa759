// rows: [[user, item, split, rating, ts], ...]; one edge per (user, item) pair.
// A 'valid' split drawn in the graph (kgrec split valid) survives re-loading the same train files.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (i:Item {dataset: $dataset, id: row[1]})
USING INDEX i:Item(dataset, id)
MERGE (u)-[e:INTERACTED]->(i)
SET e.split = CASE WHEN e.split = 'valid' AND row[2] = 'train' THEN 'valid' ELSE row[2] END,
    e.rating = row[3], e.ts = row[4]
