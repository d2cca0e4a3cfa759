// bench/triple_lookup.py: end nodes looked up by the (dataset, id) index per row, against the writer's elementId seeks.
UNWIND $rows AS row
MATCH (h:Entity {dataset: $dataset, id: row[0]})
USING INDEX h:Entity(dataset, id)
MATCH (t:Entity {dataset: $dataset, id: row[2]})
USING INDEX t:Entity(dataset, id)
CREATE (h)-[:$(row[1])]->(t)
