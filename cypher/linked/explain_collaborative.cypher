// Template. Collaborative paths on a linked graph: the user ($user: its handle) -[interaction]-> a seen
// item <-[interaction]- a peer -[interaction]-> the target item ($item), positives only ($threshold on
// the $rating property; null: every interaction is one). score = 1 / log(2 + peer degree), degree =
// the peer's distinct positive items.
MATCH (u:`__user_label__`) WHERE elementId(u) = $user
MATCH (target:`__item_label__`) WHERE elementId(target) = $item
MATCH (u)-[r1:`__interaction_type__`]->(seen:`__item_label__`)<-[r2:`__interaction_type__`]-(peer:`__user_label__`)
      -[r3:`__interaction_type__`]->(target)
WHERE peer <> u AND seen <> target AND (NOT $shared_users OR peer.dataset IS NULL)
  AND (NOT $shared_items OR seen.dataset IS NULL)
  AND ($threshold IS NULL OR (r1[$rating] >= $threshold AND r2[$rating] >= $threshold AND r3[$rating] >= $threshold))
WITH DISTINCT seen, peer
WITH seen, peer, COUNT {
  MATCH (peer)-[r:`__interaction_type__`]->(x:`__item_label__`)
  WHERE $threshold IS NULL OR r[$rating] >= $threshold
  RETURN DISTINCT x
} AS degree
RETURN seen.`__item_key__` AS seen, seen[$title] AS seen_title, peer.`__user_key__` AS peer, degree,
       1.0 / log(2.0 + degree) AS score
ORDER BY score DESC, seen, peer
LIMIT $limit
