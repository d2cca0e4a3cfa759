// rows: [[head, relationship type, tail], ...], unique; head and tail are elementIds of the dataset's
// entities (handles/entities.cypher); types were checked against the dataset's allow-list in Python.
// The dataset test guards against an elementId reused after a concurrent delete.
// First load into a new dataset: no existing triple to look for.
UNWIND $rows AS row
MATCH (h:Entity) WHERE elementId(h) = row[0] AND h.dataset = $dataset
MATCH (t:Entity) WHERE elementId(t) = row[2] AND t.dataset = $dataset
CREATE (h)-[:$(row[1])]->(t)
