// Whether the dataset exists, and its latest training run of this model (none: an empty list).
RETURN EXISTS { MATCH (:Dataset {name: $dataset}) } AS dataset_found,
       COLLECT {
         MATCH (r:TrainingRun {dataset: $dataset, model: $model})
         WHERE r.finished IS NOT NULL   // a run still writing its lists is not the latest yet
         WITH r ORDER BY r.finished DESC LIMIT 1
         RETURN r {.run_id, .embedding_property, .embedding_dim, .model_path, .model_sha256,
                   finished: toString(r.finished)}
       } AS runs
