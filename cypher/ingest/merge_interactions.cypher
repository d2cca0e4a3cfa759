// rows: [[user, item, split, rating, ts], ...]; one edge per (user, item) pair; user and item are
// elementIds (handles/users.cypher, handles/items.cypher).
// A 'valid' split drawn in the graph (kgrec split valid) survives re-loading the same train files.
UNWIND $rows AS row
MATCH (u:User) WHERE elementId(u) = row[0] AND u.dataset = $dataset
MATCH (i:Item) WHERE elementId(i) = row[1] AND i.dataset = $dataset
MERGE (u)-[e:INTERACTED]->(i)
SET e.split = CASE WHEN e.split = 'valid' AND row[2] = 'train' THEN 'valid' ELSE row[2] END,
    e.rating = row[3], e.ts = row[4]
