// Template. One item-graph relationship of a chunk of items ($handles), (item)-[:type]->(other):
// one [item key, other key] list each.
UNWIND $handles AS handle
MATCH (i:`__item_label__`) WHERE elementId(i) = handle
MATCH (i)-[:`__kg_type__`]->(o:`__other_label__`)
WHERE o.`__other_key__` IS NOT NULL AND (NOT $shared_other OR o.dataset IS NULL)
RETURN collect([i.`__item_key__`, o.`__other_key__`]) AS rows
