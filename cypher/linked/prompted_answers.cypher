// The answers of one task for a linked dataset's users: [user id, answer text, titles of the items shown].
MATCH (p:KgrecPrompt {dataset: $dataset, task: $task})
MATCH (r:LLMResponse {key: p.key})
RETURN p.user AS user, r.text AS text, p.titles AS titles
ORDER BY user
