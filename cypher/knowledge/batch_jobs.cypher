// Every batch job of one model (open or done), oldest first: what a provider was sent and what came back.
MATCH (j:LLMBatchJob {model: $model})
RETURN j {.id, .base_url, .state, .status, .batch_id, .input_file_id, .output_file_id, .error_file_id,
          .created, .answered, .failed, requests: size(j.keys)} AS job
ORDER BY j.created_at
