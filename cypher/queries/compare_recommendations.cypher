// compare_recommendations: two models' stored top-K for one user, rank by rank, with their overlap.
// Parameters: $dataset: string, $user: int, $model_a: string, $model_b: string, $k: int = 10
// Returns: rank, item_a, score_a, item_b, score_b, a_in_b, b_in_a, overlap
// a_in_b: item_a is also in model B's top-K; overlap: items in both top-K lists (same on every row).
// Each model's list is the user's TOP_K list of that model's newest run that has one.
// :param dataset => 'dbbook2014'
// :param user => 0
// :param model_a => 'cikgrec'
// :param model_b => 'bprmf'
// :param k => 10
MATCH (u:User {dataset: $dataset, id: $user})
CALL (u) {
  OPTIONAL MATCH (u)-[t:TOP_K]->(run:TrainingRun {model: $model_a})
  WITH t, run ORDER BY run.created DESC, run.run_id DESC LIMIT 1
  RETURN [r IN range(0, size(coalesce(t.items, [])[0..$k]) - 1) | {rank: r + 1, item: t.items[r], score: t.scores[r]}] AS a
}
CALL (u) {
  OPTIONAL MATCH (u)-[t:TOP_K]->(run:TrainingRun {model: $model_b})
  WITH t, run ORDER BY run.created DESC, run.run_id DESC LIMIT 1
  RETURN [r IN range(0, size(coalesce(t.items, [])[0..$k]) - 1) | {rank: r + 1, item: t.items[r], score: t.scores[r]}] AS b
}
WITH a, b, [x IN a | x.item] AS items_a, [y IN b | y.item] AS items_b
WITH a, b, items_a, items_b, size([x IN items_a WHERE x IN items_b]) AS overlap
UNWIND range(1, $k) AS rank
WITH rank, items_a, items_b, overlap, [x IN a WHERE x.rank = rank][0] AS ra, [y IN b WHERE y.rank = rank][0] AS rb
WHERE ra IS NOT NULL OR rb IS NOT NULL
RETURN rank, ra.item AS item_a, ra.score AS score_a, rb.item AS item_b, rb.score AS score_b,
       ra.item IN items_b AS a_in_b, rb.item IN items_a AS b_in_a, overlap
ORDER BY rank
