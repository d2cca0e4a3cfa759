// Template. One user's recommendations on a linked graph: the write-back relationships of $dataset
// from the user's node (the first whose key is one of $keys; no row when none is), best first, of
// $run_id (null: whichever run wrote them) and $model (null: any), at most $limit.
MATCH (u:`__user_label__`)
WHERE u.`__user_key__` IN $keys AND (NOT $shared_users OR u.dataset IS NULL)
WITH u ORDER BY u.`__user_key__` LIMIT 1
RETURN u.`__user_key__` AS user, COLLECT {
  MATCH (u)-[r:`__relationship__`]->(i:`__item_label__`)
  WHERE r.dataset = $dataset AND ($run_id IS NULL OR r.run_id = $run_id) AND ($model IS NULL OR r.model = $model)
  WITH r, i ORDER BY r.rank LIMIT $limit
  RETURN {item: i.`__item_key__`, title: i[$title], score: r.score, rank: r.rank, model: r.model, run_id: r.run_id}
} AS items
