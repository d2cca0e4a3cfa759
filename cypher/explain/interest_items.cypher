// interest_items: the best-known items of some interests (most members who interacted with them).
// Parameters: $dataset, $interests: [[set, id], ...], $per_interest (items per interest).
UNWIND $interests AS key
MATCH (n:Interest {dataset: $dataset, set: key[0], id: key[1]})
CALL (n) {
  MATCH (n)<-[:HAS_INTEREST]-(m:User)-[:INTERACTED]->(i:Item)
  WITH i, count(DISTINCT m) AS members
  ORDER BY members DESC, i.id
  LIMIT $per_interest
  RETURN collect({id: i.id, title: i.title, members: members}) AS items
}
RETURN key[0] AS set, key[1] AS interest, items
