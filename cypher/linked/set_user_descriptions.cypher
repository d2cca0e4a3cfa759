// rows: [[user id, user key, description, response key], ...]: LLM descriptions of a linked dataset's
// users, on kgrec's own node per user (the owner's user nodes get no property).
UNWIND $rows AS row
MERGE (t:KgrecUserText {dataset: $dataset, id: row[0]})
SET t.key = row[1], t.description = row[2], t.description_key = row[3]
