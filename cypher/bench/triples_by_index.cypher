// bench/triple_lookup.py: the writer's earlier form, end nodes looked up by the (dataset, id) index per row.
UNWIND $rows AS row
MATCH (h:Entity {dataset: $dataset, id: row[0]})
USING INDEX h:Entity(dataset, id)
MATCH (t:Entity {dataset: $dataset, id: row[2]})
USING INDEX t:Entity(dataset, id)
CREATE (h)-[:$(row[1])]->(t)
