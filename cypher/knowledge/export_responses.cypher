// One page of responses in key order, after key $after; $task null means every task.
MATCH (r:LLMResponse)
WHERE r.key > $after AND ($task IS NULL OR r.task = $task)
RETURN r {.*} AS response
ORDER BY r.key
LIMIT $limit
