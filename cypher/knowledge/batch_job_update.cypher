// $changes: the fields a step of a batch job set (state, input_file_id, batch_id, status, ...).
MATCH (j:LLMBatchJob {id: $id})
SET j += $changes
RETURN count(j) AS updated
