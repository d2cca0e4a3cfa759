// rows: [[head, relationship type, tail], ...]; head and tail are elementIds of the dataset's entities
// (handles/entities.cypher); types were checked against the dataset's allow-list in Python before
// they reach this query. The dataset test guards against an elementId reused after a delete.
UNWIND $rows AS row
MATCH (h:Entity) WHERE elementId(h) = row[0] AND h.dataset = $dataset
MATCH (t:Entity) WHERE elementId(t) = row[2] AND t.dataset = $dataset
MERGE (h)-[:$(row[1])]->(t)
