// rows: [[id, {properties}], ...]
UNWIND $rows AS row
MERGE (n:User {dataset: $dataset, id: row[0]})
SET n += row[1]
