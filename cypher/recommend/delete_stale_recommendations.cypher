// RECOMMENDED edges (the optional Browser view) of this model from other runs: on users the new run did
// not cover, or on every user when the new run wrote no edges, so the view never shows an older run.
// Found through the index on the model (a scan of the dataset's users would expand every edge of every
// model, seconds for a run that writes no edges at all).
MATCH (u:User)-[r:RECOMMENDED {model: $model}]->()
USING INDEX r:RECOMMENDED(model)
WHERE u.dataset = $dataset AND r.run_id <> $run_id
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
