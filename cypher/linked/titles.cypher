// Template. The key and the $title and $text properties (null: none) of every node of one mapped
// label, as parallel lists: what LLM prompts and named queries show of the owner's items.
MATCH (n:`__label__`)
WHERE n.`__key__` IS NOT NULL AND (NOT $shared OR n.dataset IS NULL)
RETURN collect(n.`__key__`) AS keys, collect(n[$title]) AS titles, collect(n[$text]) AS texts
