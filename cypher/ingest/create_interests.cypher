// rows: [[id, {properties}], ...] of the interest set $interest_set; first load into a new dataset.
UNWIND $rows AS row
CREATE (n:Interest {dataset: $dataset, set: $interest_set, id: row[0]})
SET n += row[1]
