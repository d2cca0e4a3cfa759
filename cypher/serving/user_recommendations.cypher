// One user's stored recommendations of one model, best first, with titles: the TOP_K list of the newest
// run of the model that has one for the user. user_found tells an unknown user from one without.
OPTIONAL MATCH (u:User {dataset: $dataset, id: $user})
RETURN u IS NOT NULL AS user_found,
       COLLECT {
         MATCH (u)-[t:TOP_K]->(run:TrainingRun {model: $model})
         WITH t, run ORDER BY run.created DESC, run.run_id DESC LIMIT 1
         UNWIND range(0, size(t.items[0..$limit]) - 1) AS k
         MATCH (i:Item {dataset: $dataset, id: t.items[k]})
         WITH t, run, k, i ORDER BY k
         RETURN {item: i.id, title: i.title, score: t.scores[k], rank: k + 1, run_id: run.run_id}
       } AS items
