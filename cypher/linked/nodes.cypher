// Template. Every node of one mapped label that has the key property, as two parallel lists: its key
// and its elementId (the handle later reads and write-back seek by). On a label kgrec's own nodes
// share ($shared: User, Item, Entity, Interest), nodes with kgrec's `dataset` property are kgrec's.
MATCH (n:`__label__`)
WHERE n.`__key__` IS NOT NULL AND (NOT $shared OR n.dataset IS NULL)
RETURN collect(n.`__key__`) AS keys, collect(elementId(n)) AS handles
