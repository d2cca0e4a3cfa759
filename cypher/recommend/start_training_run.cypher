// The TrainingRun node a run's top-K lists point at, made before they are written (lists need it).
// `created` is set once and orders runs for readers (newest first); metrics and `finished` come later
// from save_training_run. Returns the node's model and dataset, so the caller can refuse a run id
// that belongs to another model or dataset. $started and $config may be null.
MATCH (d:Dataset {name: $dataset})
MERGE (r:TrainingRun {run_id: $run_id})
ON CREATE SET r.model = $model, r.dataset = $dataset, r.created = datetime(), r.started = datetime($started),
              r.config = $config
WITH r, d
CALL (r, d) {
  WITH r, d WHERE r.model = $model AND r.dataset = $dataset
  SET r.created = coalesce(r.created, datetime())
  MERGE (r)-[:TRAINED_ON]->(d)
}
RETURN r.model AS model, r.dataset AS dataset
