// rows: [[user, item, split, rating, ts], ...], unique per (user, item); user and item are elementIds
// (handles/users.cypher, handles/items.cypher). First load into a new dataset.
// The label is tested through labels(), not in the pattern, so that the planner has no index to
// prefer over the elementId seek: on a fresh server, stale index statistics made it scan an index
// once per row (34,391 item-entity links took 229 s).
UNWIND $rows AS row
MATCH (u) WHERE elementId(u) = row[0] AND 'User' IN labels(u) AND u.dataset = $dataset
MATCH (i) WHERE elementId(i) = row[1] AND 'Item' IN labels(i) AND i.dataset = $dataset
CREATE (u)-[:INTERACTED {split: row[2], rating: row[3], ts: row[4]}]->(i)
