// training_runs: the stored training runs of a dataset, newest first, as a graph for Neo4j Browser.
// Parameters: $dataset: string, $limit: int = 25
// Returns: p (TrainingRun -TRAINED_ON-> Dataset); a run's config and metrics are JSON properties.
// :param dataset => 'dbbook2014'
// :param limit => 25
MATCH p = (t:TrainingRun)-[:TRAINED_ON]->(:Dataset {name: $dataset})
RETURN p
ORDER BY t.finished DESC
LIMIT $limit
