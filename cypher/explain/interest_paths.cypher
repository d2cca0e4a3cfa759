// interest_paths: user -HAS_INTEREST-> interest <-HAS_INTEREST- peer -INTERACTED-> item.
// Parameters: $dataset, $user, $item, $set (null: every set), $limit (most paths returned).
// score = edge weight (default 1.0) / log(2 + interest size), size = distinct members.
MATCH (u:User {dataset: $dataset, id: $user})-[h:HAS_INTEREST]->(n:Interest)
WHERE $set IS NULL OR n.set = $set
WITH u, n, max(coalesce(h.weight, 1.0)) AS weight
WITH u, n, weight, COUNT { MATCH (m:User)-[:HAS_INTEREST]->(n) RETURN DISTINCT m } AS size
MATCH (n)<-[:HAS_INTEREST]-(peer:User)-[:INTERACTED]->(target:Item {dataset: $dataset, id: $item})
WHERE peer <> u
WITH DISTINCT n, weight, size, peer
RETURN n.set AS set, n.id AS interest, n.label AS label, size, weight, peer.id AS peer,
       weight / log(2.0 + size) AS score
ORDER BY score DESC, set, interest, peer
LIMIT $limit
