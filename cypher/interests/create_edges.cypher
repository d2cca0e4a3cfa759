// rows: [[user, interest, weight], ...] of one set; users not in the dataset are skipped.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (n:Interest {dataset: $dataset, set: $interest_set, id: row[1]})
USING INDEX n:Interest(dataset, set, id)
CREATE (u)-[:HAS_INTEREST {set: $interest_set, weight: row[2]}]->(n)
