// items_without_entity: items with no LINKED_TO edge to an entity of their dataset.
// severity: warning
// description: items with no KG entity (they get no knowledge from the KG)
// Why a warning: such items still train and recommend from interactions alone, but lose KG signal.
// Parameters: $dataset: string, $examples: int = 5
// Returns: count, examples (up to $examples maps {item, title}, lowest item id first)
// :param dataset => 'dbbook2014'
// :param examples => 5
MATCH (i:Item {dataset: $dataset})
WHERE NOT EXISTS { (i)-[:LINKED_TO]->(:Entity {dataset: $dataset}) }
WITH i ORDER BY i.id
WITH collect({item: i.id, title: i.title}) AS rows
RETURN size(rows) AS count, rows[..$examples] AS examples
