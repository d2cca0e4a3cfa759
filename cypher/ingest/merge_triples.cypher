// rows: [[head, relationship type, tail], ...]; types were checked against the dataset's
// allow-list in Python before they reach this query.
UNWIND $rows AS row
MATCH (h:Entity {dataset: $dataset, id: row[0]})
USING INDEX h:Entity(dataset, id)
MATCH (t:Entity {dataset: $dataset, id: row[2]})
USING INDEX t:Entity(dataset, id)
MERGE (h)-[:$(row[1])]->(t)
