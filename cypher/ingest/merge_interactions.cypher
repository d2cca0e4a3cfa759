// rows: [[user, item, split, rating, ts], ...]; one edge per (user, item) pair; user and item are
// elementIds (handles/users.cypher, handles/items.cypher).
// A 'valid' split drawn in the graph (kgrec split valid) survives re-loading the same train files.
// The label is tested through labels(), not in the pattern, so that the planner has no index to
// prefer over the elementId seek: on a fresh server, stale index statistics made it scan an index
// once per row (34,391 item-entity links took 229 s).
UNWIND $rows AS row
MATCH (u) WHERE elementId(u) = row[0] AND 'User' IN labels(u) AND u.dataset = $dataset
MATCH (i) WHERE elementId(i) = row[1] AND 'Item' IN labels(i) AND i.dataset = $dataset
MERGE (u)-[e:INTERACTED]->(i)
SET e.split = CASE WHEN e.split = 'valid' AND row[2] = 'train' THEN 'valid' ELSE row[2] END,
    e.rating = row[3], e.ts = row[4]
