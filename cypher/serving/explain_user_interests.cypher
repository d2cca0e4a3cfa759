// Every (user, interest) pair of the dataset with the weight and score of explain/interest_paths, computed
// by its expressions: weight = the largest edge weight (1.0 when unset), score = weight / log(2 + size).
MATCH (u:User {dataset: $dataset})-[h:HAS_INTEREST]->(n:Interest)
WITH u, n, max(coalesce(h.weight, 1.0)) AS weight
WITH u, n, weight, COUNT { MATCH (m:User)-[:HAS_INTEREST]->(n) RETURN DISTINCT m } AS size
RETURN u.id AS user, n.set AS set, n.id AS interest, weight, weight / log(2.0 + size) AS score
