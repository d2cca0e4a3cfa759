// Recommendations of this model from other runs, left on users the new run did not cover.
MATCH (u:User {dataset: $dataset})-[r:RECOMMENDED {model: $model}]->()
WHERE r.run_id <> $run_id
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
