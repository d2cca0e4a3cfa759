// Responses and tokens per model and task.
MATCH (r:LLMResponse)
RETURN r.model AS model, r.task AS task, count(*) AS responses,
       sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens,
       sum(r.truncated_tokens) AS truncated_tokens, max(r.created) AS last_created
ORDER BY model, task
