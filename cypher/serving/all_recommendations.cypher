// Every user's stored top-$limit of one model, best first, with titles (to fill the serving cache at once).
MATCH (u:User {dataset: $dataset})-[r:RECOMMENDED {model: $model}]->(i:Item)
WHERE r.rank <= $limit
WITH u, r, i ORDER BY u.id, r.rank
RETURN u.id AS user, collect({item: i.id, title: i.title, score: r.score, rank: r.rank, run_id: r.run_id}) AS items
