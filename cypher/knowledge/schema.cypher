// The LLM response cache: one node per (model, messages, params), found by its sha256 key.
CREATE CONSTRAINT llm_response_key IF NOT EXISTS FOR (r:LLMResponse) REQUIRE r.key IS UNIQUE;
// Export, stats and clean-up by task without scanning every response.
CREATE INDEX llm_response_task IF NOT EXISTS FOR (r:LLMResponse) ON (r.task);
// Batch-API jobs (knowledge/llm/batch_jobs.py): one node per submitted prompt set, found by its id,
// and per model when a run looks for its open jobs to resume.
CREATE CONSTRAINT llm_batch_job_id IF NOT EXISTS FOR (j:LLMBatchJob) REQUIRE j.id IS UNIQUE;
CREATE INDEX llm_batch_job_model IF NOT EXISTS FOR (j:LLMBatchJob) ON (j.model);
