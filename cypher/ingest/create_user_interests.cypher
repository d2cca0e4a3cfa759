// rows: [[user, interest], ...] of the interest set $interest_set, unique; first load into a new dataset.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row[0]})
USING INDEX u:User(dataset, id)
MATCH (n:Interest {dataset: $dataset, set: $interest_set, id: row[1]})
USING INDEX n:Interest(dataset, set, id)
CREATE (u)-[:HAS_INTEREST {set: $interest_set, weight: 1.0}]->(n)
