// rows: [[id, {properties}], ...]
UNWIND $rows AS row
MERGE (n:Entity {dataset: $dataset, id: row[0]})
SET n += row[1]
