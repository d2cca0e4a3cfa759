// interest_peers: users sharing at least one interest with a user, most shared first.
// Parameters: $dataset: string, $user: int, $set: string? = null, $limit: int = 20
// Returns: peer, shared, interests
// interests: up to 10 shared interests as 'set/id'.
// :param dataset => 'dbbook2014'
// :param user => 0
// :param set => null
// :param limit => 20
MATCH (u:User {dataset: $dataset, id: $user})-[:HAS_INTEREST]->(n:Interest)<-[:HAS_INTEREST]-(peer:User)
WHERE peer <> u AND ($set IS NULL OR n.set = $set)
WITH peer, collect(DISTINCT n.set + '/' + toString(n.id)) AS shared_interests
RETURN peer.id AS peer, size(shared_interests) AS shared, shared_interests[..10] AS interests
ORDER BY shared DESC, peer
LIMIT $limit
