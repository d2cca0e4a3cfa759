// rows: [[head, relationship type, tail], ...], unique; head and tail are elementIds of the dataset's
// entities (handles/entities.cypher); types were checked against the dataset's allow-list in Python.
// The dataset test guards against an elementId reused after a concurrent delete.
// First load into a new dataset: no existing triple to look for.
// The label is tested through labels(), not in the pattern, so that the planner has no index to
// prefer over the elementId seek: on a fresh server, stale index statistics made it scan an index
// once per row (34,391 item-entity links took 229 s).
UNWIND $rows AS row
MATCH (h) WHERE elementId(h) = row[0] AND 'Entity' IN labels(h) AND h.dataset = $dataset
MATCH (t) WHERE elementId(t) = row[2] AND 'Entity' IN labels(t) AND t.dataset = $dataset
CREATE (h)-[:$(row[1])]->(t)
