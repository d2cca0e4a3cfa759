// explain_paths: why an item may suit a user, as counts of three kinds of path.
// Parameters: $dataset: string, $user: int, $item: int, $set: string? = null
// Returns: kind, paths, examples
// kind 'interest':      user -HAS_INTEREST-> interest <-HAS_INTEREST- peer -INTERACTED-> item
// kind 'kg':            user -INTERACTED-> seen item -LINKED_TO-> entity -[KG]- entity -[KG]- entity <-LINKED_TO- item
// kind 'collaborative': user -INTERACTED-> seen item <-INTERACTED- peer -INTERACTED-> item
// examples: up to 5 of the paths, as text. Always three rows (OPTIONAL MATCH: a kind without paths counts 0).
// :param dataset => 'dbbook2014'
// :param user => 0
// :param item => 0
// :param set => null
MATCH (u:User {dataset: $dataset, id: $user}), (target:Item {dataset: $dataset, id: $item})
CALL (u, target) {
  OPTIONAL MATCH (u)-[:HAS_INTEREST]->(n:Interest)<-[:HAS_INTEREST]-(peer:User)-[:INTERACTED]->(target)
  WHERE peer <> u AND ($set IS NULL OR n.set = $set)
  RETURN 'interest' AS kind, count(peer) AS paths,
         collect('interest ' + n.set + '/' + toString(n.id) + ' -> user ' + toString(peer.id))[..5] AS examples
  UNION ALL
  OPTIONAL MATCH (u)-[:INTERACTED]->(seen:Item)-[:LINKED_TO]->(:Entity)-[r1]-(via:Entity)-[r2]-(:Entity)<-[:LINKED_TO]-(target)
  WHERE seen <> target
  RETURN 'kg' AS kind, count(via) AS paths,
         collect('item ' + toString(seen.id) + ' -' + type(r1) + '- entity ' + toString(via.id) + ' -' + type(r2) + '-')[..5]
           AS examples
  UNION ALL
  OPTIONAL MATCH (u)-[:INTERACTED]->(seen:Item)<-[:INTERACTED]-(peer:User)-[:INTERACTED]->(target)
  WHERE peer <> u AND seen <> target
  RETURN 'collaborative' AS kind, count(peer) AS paths,
         collect('item ' + toString(seen.id) + ' <- user ' + toString(peer.id))[..5] AS examples
}
RETURN kind, paths, examples
