MATCH (r:TrainingRun {dataset: $dataset})
RETURN r.run_id AS run_id, r.model AS model, r.metrics AS metrics, toString(r.finished) AS finished
ORDER BY r.finished DESC
