// rows: [[item id, description, source, ungrounded description, response key], ...]; a null ungrounded
// description keeps the stored one (a run, or a shard of one, that has not seen that answer).
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row[0]})
SET i.description = row[1], i.description_source = row[2], i.description_ungrounded = coalesce(row[3], i.description_ungrounded),
    i.description_key = row[4]
