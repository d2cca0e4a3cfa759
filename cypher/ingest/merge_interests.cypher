// rows: [[id, {properties}], ...]; every row belongs to the interest set $interest_set.
UNWIND $rows AS row
MERGE (n:Interest {dataset: $dataset, set: $interest_set, id: row[0]})
SET n += row[1]
