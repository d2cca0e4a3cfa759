// Every user of the dataset with its stored list of one model, for serving from memory: per user, the
// TOP_K list of the newest run of the model that has one (the rule of user_recommendations), cut to
// $limit items; a user without a list comes with null items (it is known, with nothing to recommend).
MATCH (u:User {dataset: $dataset})
CALL (u) {
  OPTIONAL MATCH (u)-[t:TOP_K]->(run:TrainingRun {model: $model})
  WITH t, run ORDER BY run.created DESC, run.run_id DESC LIMIT 1
  RETURN t.items[0..$limit] AS items, t.scores[0..$limit] AS scores, run.run_id AS run_id
}
RETURN u.id AS user, items, scores, run_id
