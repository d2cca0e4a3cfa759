// Drop the batch-job records of one model (tests clean up with this); cached answers stay.
MATCH (j:LLMBatchJob {model: $model})
DELETE j
RETURN count(*) AS deleted
