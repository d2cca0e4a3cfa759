// rows: [[user id, description, response key], ...]
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
SET u.description = row[1], u.description_key = row[2]
