// The batch jobs of one endpoint and model that have not ended, oldest first.
MATCH (j:LLMBatchJob {model: $model})
WHERE j.base_url = $base_url AND j.state <> 'done'
RETURN j {.*} AS job
ORDER BY j.created_at
