// Upgrade, once per dataset: TOP_K lists from the RECOMMENDED edges of runs saved before lists existed
// (a run of $dataset that has no list yet); the edges stay as the Browser view. Such a run gets
// `created` from `started`, so readers order it before later runs. Safe to run again: a run that has
// lists is skipped.
MATCH (run:TrainingRun {dataset: $dataset})
WHERE NOT EXISTS { (:User)-[:TOP_K]->(run) }
CALL (run) {
  MATCH (u:User {dataset: $dataset})-[r:RECOMMENDED]->(i:Item)
  WHERE r.model = run.model AND r.run_id = run.run_id
  WITH u, r, i ORDER BY u.id, r.rank
  WITH u, collect(i.id) AS items, collect(r.score) AS scores
  CREATE (u)-[:TOP_K {items: items, scores: scores}]->(run)
  RETURN count(*) AS lists
}
SET run.created = coalesce(run.created, run.started, run.finished, datetime())
RETURN run.run_id AS run_id, run.model AS model, lists
ORDER BY run_id
