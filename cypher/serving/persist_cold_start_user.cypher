// A cold-start user kept in the graph: id = the dataset's largest user id + 1 (the Dataset node is written
// first, which locks it, so concurrent requests get distinct ids), train interactions with the given items
// (source 'cold-start') and its top-K as a TOP_K list to the run node (what readers read; a run saved
// before TOP_K lists existed gets its `created` time from `started`). The version bump makes exports see it.
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
  MATCH (run:TrainingRun {run_id: $run_id})
  CALL (run) {
    WITH run WHERE run.created IS NULL
    SET run.created = coalesce(run.started, run.finished, datetime())
  }
  CREATE (u)-[:TOP_K {items: [rec IN $recommendations | rec[0]], scores: [rec IN $recommendations | rec[1]]}]->(run)
}
RETURN u.id AS user
