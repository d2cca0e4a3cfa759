MATCH (d:Dataset {name: $dataset})
MERGE (r:TrainingRun {run_id: $run_id})
SET r.model = $model, r.dataset = $dataset, r.config = $config, r.metrics = $metrics,
    r.started = datetime($started), r.finished = datetime($finished), r.graph_version = d.version
MERGE (r)-[:TRAINED_ON]->(d)
