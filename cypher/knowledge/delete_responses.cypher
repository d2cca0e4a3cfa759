// Drop every cached response of one task (tests clean up with this; so can a user redoing a task).
MATCH (r:LLMResponse {task: $task})
DETACH DELETE r
RETURN count(*) AS deleted
