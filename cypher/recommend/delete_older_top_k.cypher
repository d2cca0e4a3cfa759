// Once every list of run $run_id is written: the lists of older runs of the same dataset and model
// go (older: created earlier, or at the same time with a smaller run id). Readers already pick each
// user's newest list, so they never see a gap or a mix while this runs.
MATCH (run:TrainingRun {run_id: $run_id})
MATCH (old:TrainingRun {dataset: $dataset, model: $model})
WHERE old <> run AND (old.created IS NULL OR old.created < run.created
                      OR (old.created = run.created AND old.run_id < run.run_id))
MATCH (:User)-[t:TOP_K]->(old)
CALL (t) { DELETE t } IN TRANSACTIONS OF 10000 ROWS
