// dangling_triples: KG triples with one end on an entity of the dataset and the other end not.
// severity: error
// description: KG triples whose other end is not an entity of the dataset
// A triple is a relationship whose type is one of the dataset's KG relation types
// (Dataset.relation_types) touching an Entity of the dataset; it dangles when its other end is
// not an :Entity with the same dataset (another dataset's node, or a node of another label).
// Why an error: such an edge leaks between datasets or breaks export and training.
// Parameters: $dataset: string, $examples: int = 5
// Returns: count (relationships), examples (up to $examples maps
//          {head, relation, tail, other_labels, other_dataset}; head/tail are ids, the entity of
//          this dataset on its side)
// :param dataset => 'dbbook2014'
// :param examples => 5
MATCH (d:Dataset {name: $dataset})
WITH coalesce(d.relation_types, []) AS types
MATCH (e:Entity {dataset: $dataset})-[r]-(o)
WHERE type(r) IN types AND NOT (o:Entity AND o.dataset = $dataset)
WITH DISTINCT r, startNode(r) AS h, endNode(r) AS t, o
WITH r, h, t, o ORDER BY h.id, type(r), t.id
WITH collect({head: h.id, relation: type(r), tail: t.id, other_labels: labels(o),
              other_dataset: o.dataset}) AS rows
RETURN size(rows) AS count, rows[..$examples] AS examples
