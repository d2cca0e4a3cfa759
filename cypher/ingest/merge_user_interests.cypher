// rows: [[user, interest], ...]
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (n:Interest {dataset: $dataset, id: row[1]})
USING INDEX n:Interest(dataset, id)
MERGE (u)-[:HAS_INTEREST]->(n)
