// The answers of one task for a dataset's users: [user id, answer text, titles of the items shown].
MATCH (u:User {dataset: $dataset})-[p:PROMPTED {task: $task}]->(r:LLMResponse)
OPTIONAL MATCH (i:Item {dataset: $dataset}) WHERE i.id IN p.items
WITH u, r, collect(i.title) AS titles
RETURN u.id AS user, r.text AS text, titles
ORDER BY user
