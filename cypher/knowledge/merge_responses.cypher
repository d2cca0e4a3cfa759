// rows: [{key, prompt_hash, model, params, prompt, text, prompt_tokens, completion_tokens,
//         truncated_tokens, created, task, subject}, ...]. The first answer stored for a key wins,
// so a retried batch or a re-imported file changes nothing.
UNWIND $rows AS row
MERGE (r:LLMResponse {key: row.key})
ON CREATE SET r += row
