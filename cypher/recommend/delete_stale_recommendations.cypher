// RECOMMENDED edges (the optional Browser view) of this model from other runs: on users the new run did
// not cover, or on every user when the new run wrote no edges, so the view never shows an older run.
MATCH (u:User {dataset: $dataset})-[r:RECOMMENDED {model: $model}]->()
WHERE r.run_id <> $run_id
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
