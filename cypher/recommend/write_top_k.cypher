// $rows: one batch of users as parallel lists: users (user ids), items[k] (user k's item ids, best
// first), scores[k] (their scores). One TOP_K relationship per (user, run) holds the whole list:
// one write per user instead of one relationship per recommended item. MERGE + SET: writing the same
// run again replaces each list, never duplicates it. In the same transaction each user's lists of
// older runs of the model go (older: created earlier, or at the same time with a smaller run id), so
// a user holds one list per model once its batch commits. The run node must exist (start_training_run).
MATCH (run:TrainingRun {run_id: $run_id})
UNWIND range(0, size($rows.users) - 1) AS k
MATCH (u:User {dataset: $dataset, id: $rows.users[k]})
MERGE (u)-[t:TOP_K]->(run)
SET t.items = $rows.items[k], t.scores = $rows.scores[k]
WITH u, run
CALL (u, run) {
  MATCH (u)-[old_list:TOP_K]->(old:TrainingRun {model: $model})
  WHERE old <> run AND (old.created IS NULL OR old.created < run.created
                        OR (old.created = run.created AND old.run_id < run.run_id))
  DELETE old_list
}
