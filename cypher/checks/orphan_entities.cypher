// orphan_entities: entities with no KG triple and no item linked to them.
// severity: info
// description: entities in no KG triple and linked to no item (dead weight, harmless)
// A triple is any relationship to or from another node whose type is one of the dataset's
// KG relation types (Dataset.relation_types); a self-loop counts as a triple.
// Parameters: $dataset: string, $examples: int = 5
// Returns: count, examples (up to $examples maps {entity, uri}, lowest id first)
// :param dataset => 'dbbook2014'
// :param examples => 5
MATCH (d:Dataset {name: $dataset})
WITH coalesce(d.relation_types, []) AS types
MATCH (e:Entity {dataset: $dataset})
WHERE NOT EXISTS { (e)<-[:LINKED_TO]-(:Item) }
  AND NOT EXISTS { MATCH (e)-[r]-() WHERE type(r) IN types }
WITH e ORDER BY e.id
WITH collect({entity: e.id, uri: e.uri}) AS rows
RETURN size(rows) AS count, rows[..$examples] AS examples
