MATCH (u:User {dataset: $dataset, id: $user})-[r:RECOMMENDED]->(i:Item)
WHERE $model IS NULL OR r.model = $model
RETURN r.model AS model, r.rank AS rank, i.id AS item, i.title AS title, r.score AS score, r.run_id AS run_id
ORDER BY model, rank
LIMIT $limit
