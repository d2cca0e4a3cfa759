// Every user's stored top-$limit of one model, best first, with titles (to fill the serving cache at
// once): per user, the TOP_K list of the newest run of the model that has one for that user.
MATCH (run:TrainingRun {dataset: $dataset, model: $model})<-[t:TOP_K]-(u:User)
USING SCAN run:TrainingRun   // from the few run nodes, not a scan of every TOP_K of every dataset
WITH u, t, run ORDER BY run.created DESC, run.run_id DESC
WITH u, head(collect([t, run.run_id])) AS newest
WITH u, newest[0] AS t, newest[1] AS run_id
RETURN u.id AS user, COLLECT {
         UNWIND range(0, size(t.items[0..$limit]) - 1) AS k
         MATCH (i:Item {dataset: $dataset, id: t.items[k]})
         WITH t, run_id, k, i ORDER BY k
         RETURN {item: i.id, title: i.title, score: t.scores[k], rank: k + 1, run_id: run_id}
       } AS items
