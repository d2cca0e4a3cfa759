// A cold-start user kept in the graph: id = the dataset's largest user id + 1 (the Dataset node is written
// first, which locks it, so concurrent requests get distinct ids), train interactions with the given items
// (source 'cold-start') and its top-K under this model and run. The version bump makes exports see it.
MATCH (d:Dataset {name: $dataset})
SET d.version = coalesce(d.version, 0) + 1
WITH d
CALL (d) {
  MATCH (u:User {dataset: $dataset})
  RETURN max(u.id) AS top
}
CREATE (u:User {dataset: $dataset, id: coalesce(top, -1) + 1, cold_start: true, created: datetime()})
WITH u
CALL (u) {
  UNWIND $items AS item
  MATCH (i:Item {dataset: $dataset, id: item})
  CREATE (u)-[:INTERACTED {split: 'train', source: 'cold-start'}]->(i)
}
CALL (u) {
  UNWIND $recommendations AS rec
  MATCH (i:Item {dataset: $dataset, id: rec[0]})
  CREATE (u)-[:RECOMMENDED {score: rec[1], rank: rec[2], model: $model, run_id: $run_id}]->(i)
}
RETURN u.id AS user
