// Whether the dataset exists, and its latest training run (none: an empty list): of $model, or of any
// model when $model is null (what serving uses when a request names no model).
// Ordered by `finished`, not `created`: save_training_run sets `finished` only once the run's TOP_K lists
// and vectors are all written, so a run still writing (or one that crashed) is never the latest, while
// `created` is set when the run starts and is also backfilled later (persisted cold-start users, lists
// upgraded from edges). run_id breaks ties, so the choice is the same on every read.
// A linked dataset's mapping comes along: its recommendations are read from its own graph.
OPTIONAL MATCH (d:Dataset {name: $dataset})
RETURN d IS NOT NULL AS dataset_found, coalesce(d.linked, false) AS linked, d.mapping AS mapping,
       COLLECT {
         MATCH (r:TrainingRun {dataset: $dataset})
         WHERE r.finished IS NOT NULL AND ($model IS NULL OR r.model = $model)
         WITH r ORDER BY r.finished DESC, r.run_id DESC LIMIT 1
         RETURN r {.run_id, .model, .embedding_property, .embedding_dim, .model_path, .model_sha256,
                   finished: toString(r.finished)}
       } AS runs
