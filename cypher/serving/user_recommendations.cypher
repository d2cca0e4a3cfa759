// One user's stored recommendations of one model, best first, with titles; user_found tells an unknown
// user from one without recommendations.
OPTIONAL MATCH (u:User {dataset: $dataset, id: $user})
RETURN u IS NOT NULL AS user_found,
       COLLECT {
         MATCH (u)-[r:RECOMMENDED {model: $model}]->(i:Item)
         WITH r, i ORDER BY r.rank LIMIT $limit
         RETURN {item: i.id, title: i.title, score: r.score, rank: r.rank, run_id: r.run_id}
       } AS items
