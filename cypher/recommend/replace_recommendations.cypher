// RECOMMENDED edges: an optional view of the TOP_K lists for Neo4j Browser and explanation paths
// (readers use the lists). $rows: one batch as parallel lists: users (user ids), item_ids (the
// distinct items the batch ranks), positions[k] (positions in item_ids of user k's ranked items,
// best first), scores[k]. Replaces this model's previous edges of each user in the batch. Each item
// is looked up once per batch, not once per edge; an item missing from the graph is skipped.
CALL () {
  UNWIND $rows.item_ids AS id
  OPTIONAL MATCH (i:Item {dataset: $dataset, id: id})
  RETURN collect([i]) AS found   // [i], not i: collect() would drop a null and shift the positions
}
WITH [x IN found | x[0]] AS nodes
UNWIND range(0, size($rows.users) - 1) AS k
MATCH (u:User {dataset: $dataset, id: $rows.users[k]})
CALL (u) {
  MATCH (u)-[old:RECOMMENDED {model: $model}]->()
  DELETE old
}
WITH u, k, nodes
UNWIND range(0, size($rows.positions[k]) - 1) AS r
WITH u, nodes[$rows.positions[k][r]] AS i, $rows.scores[k][r] AS score, r + 1 AS rank
WHERE i IS NOT NULL
CREATE (u)-[:RECOMMENDED {score: score, rank: rank, model: $model, run_id: $run_id}]->(i)
