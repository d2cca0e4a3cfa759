// bench/triple_lookup.py: entities of a fresh dataset, answering each one's id, internal id and elementId.
UNWIND $rows AS row
CREATE (n:Entity {dataset: $dataset, id: row[0]})
RETURN row[0] AS id, id(n) AS internal_id, elementId(n) AS handle
