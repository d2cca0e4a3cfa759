// The answers of one task for a dataset's users: [user id, answer text, item ids shown].
MATCH (u:User {dataset: $dataset})-[p:PROMPTED {task: $task}]->(r:LLMResponse)
RETURN u.id AS user, r.text AS text, p.items AS items
ORDER BY user
