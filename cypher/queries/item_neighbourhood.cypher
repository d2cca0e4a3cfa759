// item_neighbourhood: the KG triples around an item's entity.
// Parameters: $dataset: string, $item: int, $limit: int = 50
// Returns: direction, relation, entity, name, items
// direction: 'out' when the item's entity is the head; items: up to 5 items linked to that entity.
// :param dataset => 'dbbook2014'
// :param item => 0
// :param limit => 50
MATCH (:Item {dataset: $dataset, id: $item})-[:LINKED_TO]->(e:Entity)-[r]-(other:Entity)
RETURN CASE WHEN startNode(r) = e THEN 'out' ELSE 'in' END AS direction, type(r) AS relation,
       other.id AS entity, coalesce(other.name, other.uri, toString(other.org_id)) AS name,
       [(other)<-[:LINKED_TO]-(j:Item) | j.id][..5] AS items
ORDER BY relation, direction, entity
LIMIT $limit
