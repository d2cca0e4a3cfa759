// Every split chunk of a linked dataset with its start, read inside the write transaction that
// rewrites their codes (a stored validation split).
MATCH (s:KgrecSplits {dataset: $dataset})
RETURN s.start AS start, s.users AS users, s.items AS items, s.splits AS splits
ORDER BY s.start
