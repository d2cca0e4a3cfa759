// The answers of one task for a dataset's users: [user id, answer text, titles of the items shown].
// An item without a title was shown as 'item <id>' (knowledge.interests.infer.shown_title).
MATCH (u:User {dataset: $dataset})-[p:PROMPTED {task: $task}]->(r:LLMResponse)
OPTIONAL MATCH (i:Item {dataset: $dataset}) WHERE i.id IN p.items
WITH u, r, collect(coalesce(i.title, 'item ' + toString(i.id))) AS titles
RETURN u.id AS user, r.text AS text, titles
ORDER BY user
