// $rows: one batch of users as parallel lists: users (user ids), items[k] (user k's item ids, best
// first), scores[k] (their scores). One TOP_K relationship per (user, run) holds the whole list:
// one write per user instead of one relationship per item. MERGE + SET: writing the same run again
// replaces each list, never duplicates it. The run node must exist (start_training_run).
MATCH (run:TrainingRun {run_id: $run_id})
UNWIND range(0, size($rows.users) - 1) AS k
MATCH (u:User {dataset: $dataset, id: $rows.users[k]})
MERGE (u)-[t:TOP_K]->(run)
SET t.items = $rows.items[k], t.scores = $rows.scores[k]
