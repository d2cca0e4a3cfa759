// user_interests: the interests a user holds, strongest first.
// Parameters: $dataset: string, $user: int, $set: string? = null, $limit: int = 50
// Returns: set, id, label, size, weight, phrases
// $set = null lists every interest set side by side.
// :param dataset => 'dbbook2014'
// :param user => 0
// :param set => null
// :param limit => 50
MATCH (u:User {dataset: $dataset, id: $user})-[r:HAS_INTEREST]->(n:Interest)
WHERE $set IS NULL OR n.set = $set
RETURN n.set AS set, n.id AS id, n.label AS label, n.size AS size, r.weight AS weight, n.phrases AS phrases
ORDER BY set, weight DESC, id
LIMIT $limit
