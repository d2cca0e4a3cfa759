// Once every list of run $run_id is written: the lists that older runs of the same dataset and model
// left on users the new run did not cover (each batch already deleted its own users' older lists). Older: created
// earlier, or at the same time with a smaller run id, as the readers order runs.
MATCH (run:TrainingRun {run_id: $run_id})
MATCH (old:TrainingRun {dataset: $dataset, model: $model})
USING SCAN old:TrainingRun   // from the few run nodes, not a scan of every TOP_K of every dataset
WHERE old <> run AND (old.created IS NULL OR old.created < run.created
                      OR (old.created = run.created AND old.run_id < run.run_id))
MATCH (:User)-[t:TOP_K]->(old)
CALL (t) { DELETE t } IN TRANSACTIONS OF 10000 ROWS
