// rows: [[item id, item key, description, source, ungrounded description, response key], ...]: LLM
// descriptions of a linked dataset's items, on kgrec's own node per item (the owner's item nodes get
// no property); a null ungrounded description keeps the stored one.
UNWIND $rows AS row
MERGE (t:KgrecItemText {dataset: $dataset, id: row[0]})
SET t.key = row[1], t.description = row[2], t.description_source = row[3],
    t.description_ungrounded = coalesce(row[4], t.description_ungrounded), t.description_key = row[5]
