// Every split chunk of a linked dataset, in the order they were written.
MATCH (s:KgrecSplits {dataset: $dataset})
RETURN s.users AS users, s.items AS items, s.splits AS splits
ORDER BY s.start
