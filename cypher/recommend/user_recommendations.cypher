// One user's stored top-K per model (or of $model only), best first: per model, the TOP_K list of the
// newest run that has one for this user (so a user never gets two runs mixed). Items are looked up by
// (dataset, id); one missing from the graph is skipped.
MATCH (u:User {dataset: $dataset, id: $user})-[t:TOP_K]->(run:TrainingRun)
WHERE $model IS NULL OR run.model = $model
WITH run.model AS model, t, run ORDER BY run.created DESC, run.run_id DESC
WITH model, head(collect([t, run.run_id])) AS newest
WITH model, newest[0] AS t, newest[1] AS run_id
UNWIND range(0, size(t.items) - 1) AS k
MATCH (i:Item {dataset: $dataset, id: t.items[k]})
RETURN model, k + 1 AS rank, i.id AS item, i.title AS title, t.scores[k] AS score, run_id
ORDER BY model, rank
LIMIT $limit
