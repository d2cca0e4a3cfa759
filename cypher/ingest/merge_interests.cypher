// rows: [[id, {properties}], ...]
UNWIND $rows AS row
MERGE (n:Interest {dataset: $dataset, id: row[0]})
SET n += row[1]
