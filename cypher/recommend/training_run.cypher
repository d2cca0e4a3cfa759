// One training run by id (no row when the id is unknown): what `kgrec evaluate --run-id` checks a saved
// model file against before loading it. model_path and model_sha256 are null for runs without a saved model.
MATCH (r:TrainingRun {run_id: $run_id})
RETURN r.run_id AS run_id, r.model AS model, r.dataset AS dataset, r.model_path AS model_path,
       r.model_sha256 AS model_sha256, toString(r.finished) AS finished
