// collaborative_paths: user -INTERACTED-> seen <-INTERACTED- peer -INTERACTED-> item.
// Parameters: $dataset, $user, $item, $limit (most paths returned).
// score = 1 / log(2 + peer degree), degree = distinct items the peer interacted with.
MATCH (target:Item {dataset: $dataset, id: $item})<-[:INTERACTED]-(peer:User)-[:INTERACTED]->(seen:Item)
      <-[:INTERACTED]-(u:User {dataset: $dataset, id: $user})
WHERE peer <> u AND seen <> target
WITH DISTINCT seen, peer
WITH seen, peer, COUNT { MATCH (peer)-[:INTERACTED]->(x:Item) RETURN DISTINCT x } AS degree
RETURN seen.id AS seen, seen.title AS seen_title, peer.id AS peer, degree, 1.0 / log(2.0 + degree) AS score
ORDER BY score DESC, seen, peer
LIMIT $limit
