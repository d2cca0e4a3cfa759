// The item ids each prompt of one task showed a linked dataset's user (to audit that only train items did).
MATCH (p:KgrecPrompt {dataset: $dataset, task: $task})
RETURN p.user AS user, p.items AS items
ORDER BY user
