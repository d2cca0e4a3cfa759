// rows: [[item id, description, source, ungrounded description, response key], ...]
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row[0]})
SET i.description = row[1], i.description_source = row[2], i.description_ungrounded = row[3],
    i.description_key = row[4]
