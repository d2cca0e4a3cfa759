// user_recommendations: a user's stored recommendations: per model, the list of its newest run, best first.
// Parameters: $dataset: string, $user: int, $model: string? = null, $limit: int = 20
// Returns: model, rank, item, title, score, run_id
// $model = null lists every model's. On a linked dataset $user is the user's key and the rows are its
// write-back relationships (the latest run's only).
// :param dataset => 'dbbook2014'
// :param user => 0
// :param model => null
// :param limit => 20
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
