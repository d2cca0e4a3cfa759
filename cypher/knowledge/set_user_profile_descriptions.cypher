// rows: [[user id, description, response key], ...]; written from the CTR profile history only
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
SET u.description_profile = row[1], u.description_profile_key = row[2]
