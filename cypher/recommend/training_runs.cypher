// Finished runs of a dataset, newest first (a run whose write-back is still going, or crashed, has its
// node but no metrics yet: see start_training_run).
MATCH (r:TrainingRun {dataset: $dataset})
WHERE r.finished IS NOT NULL
RETURN r.run_id AS run_id, r.model AS model, r.metrics AS metrics, toString(r.finished) AS finished
ORDER BY r.finished DESC
