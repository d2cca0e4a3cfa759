// The cached responses among $keys (missing keys return no row).
UNWIND $keys AS key
MATCH (r:LLMResponse {key: key})
RETURN r {.*} AS response
