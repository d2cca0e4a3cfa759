// rows: [[user, interest], ...] of the interest set $interest_set, as elementIds (handles/users.cypher,
// handles/interests.cypher); each edge weighs 1.0.
UNWIND $rows AS row
MATCH (u:User) WHERE elementId(u) = row[0] AND u.dataset = $dataset
MATCH (n:Interest) WHERE elementId(n) = row[1] AND n.dataset = $dataset AND n.set = $interest_set
MERGE (u)-[r:HAS_INTEREST]->(n)
SET r.set = $interest_set, r.weight = 1.0
