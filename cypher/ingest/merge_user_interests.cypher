// rows: [[user, interest], ...] of the interest set $interest_set; each edge weighs 1.0.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (n:Interest {dataset: $dataset, set: $interest_set, id: row[1]})
USING INDEX n:Interest(dataset, set, id)
MERGE (u)-[r:HAS_INTEREST]->(n)
SET r.set = $interest_set, r.weight = 1.0
