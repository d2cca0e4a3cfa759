// $artifacts: where the full model state is saved and which node properties hold its vectors
// (model_path, model_sha256, embedding_property, embedding_dim, ...); an empty map for runs without.
// `created` (kept once set, see start_training_run) orders runs for the TOP_K readers; `finished`
// makes the run the latest for serving.
MATCH (d:Dataset {name: $dataset})
MERGE (r:TrainingRun {run_id: $run_id})
SET r.model = $model, r.dataset = $dataset, r.config = $config, r.metrics = $metrics,
    r.started = datetime($started), r.finished = datetime($finished), r.graph_version = d.version,
    r.created = coalesce(r.created, datetime())
SET r += $artifacts
MERGE (r)-[:TRAINED_ON]->(d)
