// item_entity_in_other_kg: items whose entity is also an ordinary KG entity of another item.
// severity: warning
// description: items whose entity is a direct KG neighbour of another item's entity
// Precisely: item i is counted when it is LINKED_TO entity e, and some other item j (j <> i),
// LINKED_TO an entity f <> e, has a KG triple (f)-[r]->(e) or (e)-[r]->(f), where the type of r
// is one of the dataset's KG relation types (Dataset.relation_types), i.e. e is the head or tail
// of a triple reached in one hop from another item's entity. Each item i counts once.
// Why a warning: this can be legitimate (a sequel, a series), but it also flags items linked to
// a generic entity (a genre, an author) that other items use as a plain attribute.
// Parameters: $dataset: string, $examples: int = 5
// Returns: count (items), examples (up to $examples maps {item, entity, other_item, relation})
// :param dataset => 'dbbook2014'
// :param examples => 5
MATCH (d:Dataset {name: $dataset})
MATCH (i:Item {dataset: $dataset})-[:LINKED_TO]->(e:Entity {dataset: $dataset})
MATCH (e)-[r]-(f:Entity {dataset: $dataset})<-[:LINKED_TO]-(j:Item {dataset: $dataset})
WHERE j <> i AND f <> e AND type(r) IN coalesce(d.relation_types, [])
WITH i, e, j, r ORDER BY i.id, j.id, type(r)
WITH i, head(collect({item: i.id, entity: e.id, other_item: j.id, relation: type(r)})) AS first
WITH collect(first) AS rows
RETURN size(rows) AS count, rows[..$examples] AS examples
