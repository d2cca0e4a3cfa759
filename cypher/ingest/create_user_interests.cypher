// rows: [[user, interest], ...] of the interest set $interest_set, unique, as elementIds
// (handles/users.cypher, handles/interests.cypher); first load into a new dataset.
UNWIND $rows AS row
MATCH (u:User) WHERE elementId(u) = row[0] AND u.dataset = $dataset
MATCH (n:Interest) WHERE elementId(n) = row[1] AND n.dataset = $dataset AND n.set = $interest_set
CREATE (u)-[:HAS_INTEREST {set: $interest_set, weight: 1.0}]->(n)
