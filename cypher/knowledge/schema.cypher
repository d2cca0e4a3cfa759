// The LLM response cache: one node per (model, messages, params), found by its sha256 key.
CREATE CONSTRAINT llm_response_key IF NOT EXISTS FOR (r:LLMResponse) REQUIRE r.key IS UNIQUE;
// Export, stats and clean-up by task without scanning every response.
CREATE INDEX llm_response_task IF NOT EXISTS FOR (r:LLMResponse) ON (r.task);
