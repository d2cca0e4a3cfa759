// interest_sizes: how many interests of a set have each member count, and how many users the set covers.
// Parameters: $dataset: string, $set: string, $limit: int = 100
// Returns: size, interests, users_covered, users_total, coverage
// size: users holding the interest (counted from HAS_INTEREST edges, not the stored property);
// the coverage columns repeat on every row: users with an interest of the set / users of the dataset.
// :param dataset => 'dbbook2014'
// :param set => 'authors'
// :param limit => 100
MATCH (everyone:User {dataset: $dataset})
WITH count(everyone) AS total
OPTIONAL MATCH (u:User {dataset: $dataset})-[:HAS_INTEREST]->(:Interest {dataset: $dataset, set: $set})
WITH total, count(DISTINCT u) AS covered
MATCH (n:Interest {dataset: $dataset, set: $set})
WITH total, covered, n, COUNT { (n)<-[:HAS_INTEREST]-(:User) } AS size
RETURN size, count(n) AS interests, covered AS users_covered, total AS users_total,
       CASE total WHEN 0 THEN 0.0 ELSE toFloat(covered) / total END AS coverage
ORDER BY size
LIMIT $limit
