// $job: {id, base_url, model, state, keys, prompts, created, created_at, ...}. Written before anything
// is uploaded, so a run killed at any later step finds the job and resumes it.
CREATE (j:LLMBatchJob)
SET j = $job
