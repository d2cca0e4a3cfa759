// The user-interest edges (HAS_INTEREST).
MATCH (u:User {dataset: $dataset})-[:HAS_INTEREST]->(j:Interest)
RETURN u.id AS user, j.id AS interest
