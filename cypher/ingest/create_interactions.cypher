// rows: [[user, item, split, rating, ts], ...], unique per (user, item); user and item are elementIds
// (handles/users.cypher, handles/items.cypher). First load into a new dataset.
UNWIND $rows AS row
MATCH (u:User) WHERE elementId(u) = row[0] AND u.dataset = $dataset
MATCH (i:Item) WHERE elementId(i) = row[1] AND i.dataset = $dataset
CREATE (u)-[:INTERACTED {split: row[2], rating: row[3], ts: row[4]}]->(i)
