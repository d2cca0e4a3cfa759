// The write-back query before column batches (kept only for bench/writeback_compare.py):
// one [user, [[item, score, rank], ...]] row per user, one item look-up per edge.
// rows: [[user id, [[item id, score, rank], ...]], ...]
// Replaces this model's previous recommendations of each user in the batch, in one transaction.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
CALL (u) {
  MATCH (u)-[old:RECOMMENDED {model: $model}]->()
  DELETE old
}
WITH u, row
UNWIND row[1] AS rec
MATCH (i:Item {dataset: $dataset, id: rec[0]})
CREATE (u)-[:RECOMMENDED {score: rec[1], rank: rec[2], model: $model, run_id: $run_id}]->(i)
