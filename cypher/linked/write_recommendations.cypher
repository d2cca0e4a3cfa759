// Template. $rows: one batch of users, [{user: elementId, items: [elementId, ...] best first, scores}].
// In one transaction each user's earlier recommendations of this dataset (of any run) go and the
// run's list is created, so a user holds one complete list whenever a batch commits.
UNWIND $rows AS row
MATCH (u:`__user_label__`) WHERE elementId(u) = row.user
CALL (u) {
  MATCH (u)-[old:`__relationship__`]->(:`__item_label__`)
  WHERE old.dataset = $dataset
  DELETE old
}
WITH u, row
UNWIND range(0, size(row.items) - 1) AS k
MATCH (i:`__item_label__`) WHERE elementId(i) = row.items[k]
CREATE (u)-[:`__relationship__` {score: row.scores[k], rank: k + 1, run_id: $run_id, model: $model,
                                 dataset: $dataset}]->(i)
