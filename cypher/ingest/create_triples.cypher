// rows: [[head, relationship type, tail], ...], unique; types were checked against the dataset's
// allow-list in Python. First load into a new dataset: no existing triple to look for.
UNWIND $rows AS row
MATCH (h:Entity {dataset: $dataset, id: row[0]})
USING INDEX h:Entity(dataset, id)
MATCH (t:Entity {dataset: $dataset, id: row[2]})
USING INDEX t:Entity(dataset, id)
CREATE (h)-[:$(row[1])]->(t)
