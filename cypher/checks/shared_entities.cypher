// shared_entities: entities that more than $max_items items are linked to.
// severity: error
// description: entities linked to more than max_items items (those items collapse into one KG node)
// Why an error: two items sharing one entity get the same KG embedding and the same KG paths,
// which usually means a wrong item-to-entity link.
// Parameters: $dataset: string, $max_items: int = 1, $examples: int = 5
// Returns: count (entities), examples (up to $examples maps {entity, uri, items: up to 5 item ids})
// :param dataset => 'dbbook2014'
// :param max_items => 1
// :param examples => 5
MATCH (e:Entity {dataset: $dataset})<-[:LINKED_TO]-(i:Item {dataset: $dataset})
WITH e, i ORDER BY i.id
WITH e, collect(i.id) AS items
WHERE size(items) > $max_items
WITH e, items ORDER BY size(items) DESC, e.id
WITH collect({entity: e.id, uri: e.uri, items: items[..5], linked_items: size(items)}) AS rows
RETURN size(rows) AS count, rows[..$examples] AS examples
